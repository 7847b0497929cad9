/** Bundles a page script of loadtest/browser/ into one IIFE (Vite, in memory), once per process. */
import { join } from 'node:path';

export type PageScript = 'subscriber' | 'encode-clip';

const bundles = new Map<PageScript, Promise<string>>();

export function pageBundle(rootDir: string, script: PageScript): Promise<string> {
	let bundle = bundles.get(script);
	if (!bundle) {
		bundle = (async () => {
			const { build } = await import('vite');
			const output = await build({
				configFile: false,
				root: rootDir,
				logLevel: 'silent',
				define: { 'process.env.NODE_ENV': '"production"' },
				build: {
					write: false,
					minify: false,
					emptyOutDir: false,
					lib: { entry: join(rootDir, 'loadtest', 'browser', `${script}.ts`), formats: ['iife'], name: `loadtest_${script.replace('-', '_')}`, fileName: () => `${script}.js` },
				},
			});
			for (const result of Array.isArray(output) ? output : [output]) {
				if ('output' in result) {
					const chunk = result.output.find((item) => item.type === 'chunk');
					if (chunk && chunk.type === 'chunk') return chunk.code;
				}
			}
			throw new Error(`vite produced no bundle for loadtest/browser/${script}.ts`);
		})();
		bundles.set(script, bundle);
	}
	return bundle;
}

export const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream',
	'--ignore-certificate-errors',
];

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

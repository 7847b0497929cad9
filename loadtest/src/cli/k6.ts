/**
 * npm run loadtest:k6 [-- scenario…] [--url wss://host:port]
 *
 * Runs the k6 signalling scenarios (loadtest/k6/*.ts) for real with the `k6`
 * binary on the PATH: against --url, or against a server it starts itself
 * (dist/server/main.js on a free loopback port). Scenario parameters come
 * from the environment (RATE, DURATION, ROOMS, PEERS, TARGET, …; see each
 * script). Summaries go to loadtest/results/k6/. Exits non-zero when k6 is
 * missing or a scenario's thresholds fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ServerProcess } from '../capacity/ServerProcess.js';
import { projectRoot } from './root.js';

const SCENARIOS = ['join-churn', 'many-rooms', 'big-room', 'stream-audience'] as const;
type Scenario = (typeof SCENARIOS)[number];

function k6Version(): string | undefined {
	const result = spawnSync('k6', ['version'], { encoding: 'utf8' });
	return result.status === 0 ? result.stdout.trim() : undefined;
}

function runK6(rootDir: string, scenario: Scenario, url: string, summaryDir: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const child = spawn('k6', ['run', '--quiet', join('loadtest', 'k6', `${scenario}.ts`)], {
			cwd: rootDir,
			stdio: 'inherit',
			env: { ...process.env, SFU_URL: url, SUMMARY_DIR: summaryDir },
		});
		child.once('error', reject);
		child.once('exit', (code) => resolve(code ?? 1));
	});
}

async function main(): Promise<void> {
	const { values, positionals } = parseArgs({ allowPositionals: true, options: { url: { type: 'string' }, workers: { type: 'string' } } });
	const unknown = positionals.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
	if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
	const scenarios = (positionals.length > 0 ? positionals : [...SCENARIOS]) as Scenario[];
	const version = k6Version();
	if (!version) {
		throw new Error('k6 is not on the PATH. Install it (see loadtest/README.md: "Installing k6"); the scripts are type-checked by npm test either way.');
	}
	const rootDir = projectRoot(import.meta.url);
	const summaryDir = join(rootDir, 'loadtest', 'results', 'k6');
	mkdirSync(summaryDir, { recursive: true });
	const server = values.url ? undefined : await ServerProcess.start(rootDir, { numWorkers: Number(values.workers ?? 2), routerConsumerSoftLimit: 400 });
	const url = values.url ?? server!.wsUrl;
	console.log(`${version}; server ${url}${server ? ` (started here, pid ${server.pid})` : ''}`);
	const failed: string[] = [];
	try {
		for (const scenario of scenarios) {
			console.log(`\n── k6 ${scenario} ──`);
			const code = await runK6(rootDir, scenario, url, summaryDir);
			if (code !== 0) failed.push(`${scenario} (k6 exit ${code}${code === 99 ? ': thresholds failed' : ''})`);
		}
	} finally {
		await server?.stop();
	}
	if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : String(error));
	process.exitCode = 1;
});

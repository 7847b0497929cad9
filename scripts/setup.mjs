#!/usr/bin/env node
// Idempotent set-up, run by `npm start` and `npm test`: installs what is
// missing and rebuilds only what changed. Usage:
//   node scripts/setup.mjs [--for start|test]
// Uses Node's standard library only: it runs before the npm dependencies are installed.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMediasoupWorker } from './lib/mediasoup-worker.mjs';
import { SetupError, ensureDebianPackages, hashPaths, log, readStamp, run } from './lib/system.mjs';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampsDir = join(projectDir, 'node_modules', '.sfu-setup');

/** Runtime libraries of the worker (it links them dynamically). */
const WORKER_RUNTIME_PACKAGES = ['libuv1', 'libssl3', 'libusrsctp2', 'libabsl20220623'];
/** Headless browser for the end-to-end tests; ffmpeg, curl and jq for the README's ingest example, which is tested too. */
const TEST_PACKAGES = ['chromium', 'ffmpeg', 'curl', 'jq'];

function parseArgs(argv) {
	const purposeIndex = argv.indexOf('--for');
	const purpose = purposeIndex >= 0 ? argv[purposeIndex + 1] : 'start';
	if (!['start', 'test'].includes(purpose)) throw new SetupError(`--for must be 'start' or 'test', not '${purpose}'`);
	return { purpose };
}

function checkNode() {
	const major = Number(process.versions.node.split('.')[0]);
	if (major < 20) throw new SetupError(`Node.js ${process.versions.node} is too old: install Node.js 20 or newer`);
}

/** Re-runs `step` when the hash of its inputs differs from the last successful run, or its output is missing. */
function stamped(name, inputs, output, step) {
	const stampPath = join(stampsDir, name);
	const hash = hashPaths(inputs.map((input) => join(projectDir, input)), {
		ignore: (path) => /(^|\/)(node_modules|dist)(\/|$)/.test(path.slice(projectDir.length)),
	});
	if (readStamp(stampPath) === hash && existsSync(join(projectDir, output))) return false;
	step();
	mkdirSync(stampsDir, { recursive: true });
	writeFileSync(stampPath, `${hash}\n`);
	return true;
}

function ensureNodeModules() {
	const stampPath = join(stampsDir, 'npm');
	const inputs = ['package.json', 'package-lock.json'].map((name) => join(projectDir, name));
	const hash = hashPaths(inputs) + process.versions.node;
	if (readStamp(stampPath) === hash && existsSync(join(projectDir, 'node_modules', 'mediasoup'))) return;
	log('installing npm dependencies');
	// `npm install` rather than `npm ci`: it installs what package-lock.json pins just the same, and
	// tolerates lockfiles that lack other platforms' optional packages (some registry mirrors omit them).
	// Any MEDIASOUP_WORKER_BIN makes mediasoup's postinstall skip its download; the worker is built below.
	run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: projectDir, env: { MEDIASOUP_WORKER_BIN: 'built-by-scripts/setup.mjs' } });
	mkdirSync(stampsDir, { recursive: true });
	writeFileSync(stampPath, `${hash}\n`);
}

/** Starts and closes a real worker, so a broken binary is found here and not on the first join. */
function checkWorkerStarts() {
	const probe = `import('mediasoup').then(async (m) => { const w = await m.createWorker({ logLevel: 'error' }); await w.getResourceUsage(); w.close(); })
		.catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
	const result = run(process.execPath, ['--input-type=module', '-e', probe], { cwd: projectDir, capture: true, allowFailure: true });
	if (result.status !== 0) {
		throw new SetupError(`the mediasoup worker does not start: ${(result.stderr || '').trim()}\nDelete ${join(projectDir, 'node_modules')} and the worker cache, then run set-up again.`);
	}
}

function buildServer() {
	stamped('server-build', ['server', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'], 'dist/server/main.js', () => {
		log('compiling the server (tsc)');
		run(process.execPath, [join(projectDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: projectDir });
	});
}

function buildWebClient() {
	if (!existsSync(join(projectDir, 'web', 'vite.config.ts'))) return;
	stamped('web-build', ['web', 'package-lock.json'], 'web/dist/index.html', () => {
		log('building the web client (vite)');
		run(process.execPath, [join(projectDir, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: join(projectDir, 'web') });
	});
}

function main() {
	const started = Date.now();
	const { purpose } = parseArgs(process.argv.slice(2));
	checkNode();
	ensureDebianPackages(WORKER_RUNTIME_PACKAGES, 'the mediasoup worker');
	if (purpose === 'test') ensureDebianPackages(TEST_PACKAGES, 'the browser tests');
	ensureNodeModules();
	ensureMediasoupWorker(projectDir);
	checkWorkerStarts();
	buildWebClient();
	// The tests start the compiled server as a process too (graceful shutdown, configuration errors).
	buildServer();
	log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
	main();
} catch (error) {
	if (error instanceof SetupError) {
		process.stderr.write(`\n[setup] FAILED: ${error.message}\n`);
		process.exit(1);
	}
	throw error;
}

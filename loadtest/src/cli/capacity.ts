/**
 * npm run loadtest:capacity [-- options]
 *
 * Starts the server (dist/server/main.js) once per sweep, sweeps a stream
 * (1 publisher, N viewers over all workers) and a meeting (P participants,
 * everyone publishing and consuming everyone), and writes JSON + HTML under
 * loadtest/results/ and a table to the terminal.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { runCapacity, type CapacityOptions, type SweepPlan } from '../capacity/CapacityRun.js';
import { summarizeSweep } from '../capacity/analysis.js';
import { buildReport, describeMachine, formatSummary, formatTable, renderHtml, type CapacityReport } from '../capacity/report.js';
import { PROFILES, type ProfileName } from '../media/profile.js';
import { projectRoot } from './root.js';

const USAGE = `usage: npm run loadtest:capacity -- [options]
  --sweeps <list>          stream,meeting,stream-1-worker (default all three, in this order)
                             stream: all workers; stream-1-worker: one worker with a core to itself
  --stream-steps <list>    viewers per step (default 100,200,400,600,700,800,1000,1200,1400)
  --meeting-steps <list>   participants per step (default 4,8,12,16,20,24,28,32,36,40,44)
  --measure-every <n>      stream sweeps: read every n-th viewer's media (default 4; 1 = all)
  --meeting-measure-every <n>  meeting: read every n-th participant's media (default 2)
  --stream-profile <name>  ${Object.keys(PROFILES).join(' | ')} (default camera-720p)
  --meeting-profile <name> (default camera-360p)
  --workers <n>            mediasoup workers (default: one per core, ${availableParallelism()})
  --soft-limit <n>         mediasoup.routerConsumerSoftLimit (default 400, the server's default)
  --browsers <n>           headless Chromium subscribers in the stream sweep (default 2; 0 = none)
  --window <s>             measurement window per step (default 8)
  --settle <s>             wait after media flows before measuring (default 2)
  --budget <s>             stop starting steps after this long (default 540)
  --stop-after <n>         stop a sweep after n failing steps in a row (default 1)
  --wait-idle <s>          wait up to this long for the machine to be idle before each sweep (default 60)
  --max-loss <fraction>    capacity threshold (default 0.01)
  --max-worker-cpu <pct>   capacity threshold, % of one core (default 85)
  --filler                 send filler video frames instead of real VP8 (real ones are encoded once by Chromium)
  --out <dir>              where to write results (default loadtest/results)
  --quick                  a short run: 2 small steps per sweep, 3 s windows
  --report <file.json>     no run: recompute the summaries of a saved result with this analysis, rewrite its JSON and HTML`;

function list(value: string | undefined, fallback: number[]): number[] {
	if (value === undefined) return fallback;
	const numbers = value.split(',').map((part) => Number(part.trim()));
	if (numbers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`expected a comma-separated list of positive integers, got "${value}"`);
	return numbers.sort((a, b) => a - b);
}

function profile(value: string | undefined, fallback: ProfileName): ProfileName {
	if (value === undefined) return fallback;
	if (!(value in PROFILES)) throw new Error(`unknown profile "${value}"; known: ${Object.keys(PROFILES).join(', ')}`);
	return value as ProfileName;
}

function positive(value: string | undefined, fallback: number, name: string): number {
	if (value === undefined) return fallback;
	const number = Number(value);
	if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
	return number;
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			sweeps: { type: 'string' },
			'stream-steps': { type: 'string' },
			'meeting-steps': { type: 'string' },
			'stream-profile': { type: 'string' },
			'meeting-profile': { type: 'string' },
			workers: { type: 'string' },
			'soft-limit': { type: 'string' },
			browsers: { type: 'string' },
			'measure-every': { type: 'string' },
			'meeting-measure-every': { type: 'string' },
			window: { type: 'string' },
			settle: { type: 'string' },
			budget: { type: 'string' },
			'wait-idle': { type: 'string' },
			'stop-after': { type: 'string' },
			'max-loss': { type: 'string' },
			'max-worker-cpu': { type: 'string' },
			out: { type: 'string' },
			quick: { type: 'boolean', default: false },
			filler: { type: 'boolean', default: false },
			report: { type: 'string' },
			help: { type: 'boolean', default: false },
		},
	});
	if (values.help) {
		console.log(USAGE);
		return;
	}
	const rootDir = projectRoot(import.meta.url);
	if (values.report) {
		rewriteReport(values.report);
		return;
	}
	const quick = values.quick ?? false;
	const workers = Math.round(positive(values.workers, availableParallelism(), 'workers'));
	const server = { numWorkers: workers, routerConsumerSoftLimit: Math.round(positive(values['soft-limit'], 400, 'soft-limit')), env: { SFU_ROOMS_MAX_BROADCASTERS_PER_ROOM: '5000', SFU_ROOMS_MAX_PEERS_PER_ROOM: '5000' } };
	const browsers = values.browsers === undefined ? 2 : Math.round(Number(values.browsers));
	if (!Number.isInteger(browsers) || browsers < 0 || browsers > 8) throw new Error(`--browsers must be 0–8, got "${values.browsers}"`);
	const wanted = new Set((values.sweeps ?? 'stream,meeting,stream-1-worker').split(',').map((name) => name.trim()));
	const streamSteps = list(values['stream-steps'], quick ? [10, 30] : [100, 200, 400, 600, 700, 800, 1000, 1200, 1400]);
	const streamProfile = profile(values['stream-profile'], 'camera-720p');
	const measureEvery = Math.round(positive(values['measure-every'], quick ? 2 : 4, 'measure-every'));
	const realFrames = !(values.filler ?? false);
	const sweeps: SweepPlan[] = [];
	if (wanted.has('stream')) {
		sweeps.push({ name: 'stream', shape: 'stream', profile: streamProfile, steps: streamSteps, server, browsers: quick ? Math.min(browsers, 1) : browsers, measureEvery, realFrames });
	}
	if (wanted.has('meeting')) {
		sweeps.push({
			name: 'meeting',
			shape: 'meeting',
			profile: profile(values['meeting-profile'], 'camera-360p'),
			steps: list(values['meeting-steps'], quick ? [2, 4] : [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44]),
			server,
			browsers: 0,
			measureEvery: Math.round(positive(values['meeting-measure-every'], 2, 'meeting-measure-every')),
			realFrames,
		});
	}
	if (wanted.has('stream-1-worker')) {
		sweeps.push({ name: 'stream-1-worker', shape: 'stream', profile: streamProfile, steps: streamSteps, server: { ...server, numWorkers: 1 }, browsers: 0, measureEvery, realFrames });
	}
	if (sweeps.length === 0) throw new Error(`--sweeps must name stream, stream-1-worker and/or meeting, got "${values.sweeps}"`);

	const options: CapacityOptions = {
		rootDir,
		sweeps,
		thresholds: { maxLoss: positive(values['max-loss'], 0.01, 'max-loss'), maxWorkerCpuPercent: positive(values['max-worker-cpu'], 85, 'max-worker-cpu') },
		settleMs: positive(values.settle, quick ? 1 : 2, 'settle') * 1000,
		windowMs: positive(values.window, quick ? 3 : 8, 'window') * 1000,
		stopAfterFailures: Math.round(positive(values['stop-after'], 1, 'stop-after')),
		budgetMs: positive(values.budget, quick ? 120 : 540, 'budget') * 1000,
		waitIdleMs: (values['wait-idle'] === undefined ? 60 : Number(values['wait-idle'])) * 1000,
		log: (line) => console.log(line),
	};
	const startedAt = new Date();
	const machine = describeMachine(rootDir);

	console.log(`capacity run on ${machine.cpuModel}, ${machine.cores} cores${machine.virtualized ? ' (VM)' : ''}, ${machine.memoryGiB} GiB, ${machine.kernel}; mediasoup ${machine.mediasoup}, server ${machine.serverCommit}`);
	const results = await runCapacity(options);
	const report = buildReport(options, results, machine, startedAt);

	const outDir = values.out ?? join(rootDir, 'loadtest', 'results');
	mkdirSync(outDir, { recursive: true });
	const stamp = startedAt.toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
	const jsonPath = join(outDir, `capacity-${stamp}.json`);
	const htmlPath = join(outDir, `capacity-${stamp}.html`);
	writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
	writeFileSync(htmlPath, renderHtml(report));

	printReport(report);
	console.log(`\nwrote ${relative(process.cwd(), jsonPath)} and ${relative(process.cwd(), htmlPath)} in ${report.durationSeconds} s`);
}

function printReport(report: CapacityReport): void {
	for (const [index, sweep] of report.sweeps.entries()) {
		console.log(
			`\n=== ${sweep.plan.name} (${sweep.plan.shape}, ${sweep.plan.profile}, ${sweep.plan.server.numWorkers} workers; ` +
				`other programs' CPU before: ${sweep.backgroundCpuPercent.toFixed(0)}%; stopped: ${sweep.stoppedBecause}) ===`,
		);
		if (sweep.error) console.log(`FAILED: ${sweep.error}`);
		console.log(formatTable(sweep.steps));
		console.log(`\n${formatSummary(report.summaries[index]!)}`);
	}
}

/** Same measurements, current analysis: the summaries are derived data. */
function rewriteReport(jsonPath: string): void {
	const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as CapacityReport;
	if (saved.schema !== 'sfu-capacity/1') throw new Error(`${jsonPath} is not a capacity result (schema ${String(saved.schema)})`);
	const report: CapacityReport = { ...saved, summaries: saved.sweeps.map((sweep) => summarizeSweep(sweep, saved.parameters.thresholds, saved.machine.cores)) };
	writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
	const htmlPath = jsonPath.replace(/\.json$/, '.html');
	writeFileSync(htmlPath, renderHtml(report));
	printReport(report);
	console.log(`\nrewrote ${jsonPath} and ${htmlPath}`);
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
	process.exitCode = 1;
});

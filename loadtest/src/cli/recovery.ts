/**
 * npm run loadtest:recovery [-- options]
 *
 * Worker loss in Chromium: SIGKILL the mediasoup worker of one of three
 * web-client pages (the one alone on its worker), N times, and measure how
 * long until every page decodes the others' video again, and whether the
 * two pages on the other worker ever stopped seeing each other. Prints a table and writes
 * loadtest/results/recovery-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { Percentiles } from '../stats/percentiles.js';
import { runRecovery } from '../recovery/RecoveryRun.js';
import { SATURATED_PERCENT } from '../recovery/report.js';
import { positive } from './options.js';
import { projectRoot } from './root.js';

const USAGE = `usage: npm run loadtest:recovery -- [options]
  --runs <n>        worker kills, each in a fresh room (default 10)
  --timeout <s>     per kill: how long the pages may take to decode each other again (default 30)
  --baseline <s>    steady decoding before each kill (default 3)
  --camera <lines>  the pages' camera height, 16:9 (default 360; 'native': the web client's own 1280×720,
                    which with three pages saturates two cores)
  --out <dir>       default loadtest/results`;

const root = projectRoot(import.meta.url);
const { values } = parseArgs({
	options: {
		runs: { type: 'string', default: '10' },
		timeout: { type: 'string', default: '30' },
		baseline: { type: 'string', default: '3' },
		camera: { type: 'string', default: '360' },
		out: { type: 'string', default: join(root, 'loadtest', 'results') },
		help: { type: 'boolean', default: false },
	},
});
if (values.help) {
	console.log(USAGE);
	process.exit(0);
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
// The pages' decoding shares the cores with everything else: say so when something else is already busy.
const loadAtStart = loadavg()[0] ?? 0;
if (loadAtStart > availableParallelism() / 2) log(`warning: load average ${loadAtStart.toFixed(1)} on ${availableParallelism()} cores before the start; the figures will include that load`);
const result = await runRecovery({
	rootDir: root,
	runs: positive('runs', values.runs),
	recoveryTimeoutMs: positive('timeout', values.timeout) * 1000,
	baselineMs: positive('baseline', values.baseline, 0) * 1000,
	cameraHeight: values.camera === 'native' ? undefined : positive('camera', values.camera, 90),
	log,
});

const f = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : '–');
const row = (label: string, p: Percentiles) => [label, String(p.count), f(p.p50), f(p.p95), f(p.max)];
const { summary } = result;
const rows = [
	['SIGKILL → …', 'samples', 'p50 ms', 'p95 ms', 'max ms'],
	row('killed page (its worker died) receives mediaReset', summary.mediaResetMs),
	row('killed page decodes both others again', summary.killedPageBackMs),
	row('the two others decode the killed page again', summary.survivorsSeeKilledPageMs),
	row('the two others: longest gap between frames', summary.survivorsLongestGapMs),
	row('the two others: longest gap between RTP packets', summary.survivorsLongestPacketGapMs),
];
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
const lines = rows.map((cells) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | '));
lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('-|-'));
lines.push(
	'',
	`views between the two on the surviving worker that stalled (> ${result.parameters.stallMs} ms without a frame): ${summary.survivorViewsStopped} of ${result.runs.filter((r) => r.views.length > 0).length * 2}; peerClosed about the killed page seen by the others: ${summary.peerClosedSeen}; failed runs: ${summary.failedRuns} of ${summary.runs}`,
	`machine CPU (all ${availableParallelism()} cores) p50: ${f(summary.baselineBusyPercent.p50)}% before the kills, ${f(summary.machineBusyPercent.p50)}% from each kill until every page decoded again; runs on a saturated machine (≥ ${SATURATED_PERCENT}% before the kill): ${summary.saturatedRuns}`,
	`the killed page's new transports went to: ${['survivor', 'replacement', 'unknown'].map((where) => `${where} ${result.runs.filter((r) => r.views.length > 0 && r.killedPageLandedOn === where).length}`).join(', ')}`,
);

const machine = { cpuModel: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, loadAverageAtStart: loadAtStart };
mkdirSync(values.out, { recursive: true });
const file = join(values.out, `recovery-${result.startedAt.slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ machine, ...result }, null, 2)}\n`);
console.log(`\n${lines.join('\n')}\n\nwrote ${relative(process.cwd(), file)} (${Math.round(result.durationSeconds)} s, ${machine.cores} cores)`);
process.exit(summary.failedRuns === summary.runs ? 1 : 0);

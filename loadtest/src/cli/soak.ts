/**
 * npm run loadtest:soak [-- options]
 *
 * A long run at a steady, realistic load with churn (joins, leaves, drops,
 * resumes, drops for good, worker kills): RSS and open fds of the server and
 * its workers over time, what the server still holds after everyone left, and
 * every unexpected error. Prints a table and writes loadtest/results/soak-<date>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { analyse } from '../soak/analysis.js';
import { formatSoak } from '../soak/report.js';
import { parseDuration } from '../soak/schedule.js';
import { runSoak, type SoakResult } from '../soak/SoakRun.js';
import { projectRoot } from './root.js';

const USAGE = `usage: npm run loadtest:soak -- [options]
  --duration <d>           how long the churn runs (default 30m; e.g. 3m, 90s, 1h)
  --rooms <n>              meetings (default 4)
  --peers-per-room <n>     protoo participants per meeting, kept at this size (default 5)
  --subscribers-per-room <n>  SRTP PlainTransport subscribers of the room's publisher (default 1)
  --seed <n>               the churn schedule's seed (default 1)
  --sample-every <d>       RSS/fds/healthz sample interval (default 10s)
  --warmup <d>             left out of the flatness figures (default 2m)
  --workers <n>            mediasoup workers (default 2)
  --churn-every <d>        mean time between peer events, all rooms together (default 6s)
  --kill-every <d>         time between worker kills, ±20% (default 5m; 0 = none; a shorter run still gets one)
  --grace <d>              the server's rooms.resumeGraceMs (default 20s)
  --empty-room-grace <d>   the server's rooms.emptyRoomGraceMs (default 10s)
  --request-timeout <d>    per protoo/HTTP request (default 10s)
  --filler                 filler video frames instead of the real VP8 clips
  --out <dir>              default loadtest/results
  --report <file.json>     recompute a saved result's flatness figures (after the analysis changed) and print its table;
                           the samples are not touched`;

const root = projectRoot(import.meta.url);
const { values } = parseArgs({
	options: {
		duration: { type: 'string', default: '30m' },
		rooms: { type: 'string', default: '4' },
		'peers-per-room': { type: 'string', default: '5' },
		'subscribers-per-room': { type: 'string', default: '1' },
		seed: { type: 'string', default: '1' },
		'sample-every': { type: 'string', default: '10s' },
		warmup: { type: 'string', default: '2m' },
		workers: { type: 'string', default: '2' },
		'churn-every': { type: 'string', default: '6s' },
		'kill-every': { type: 'string', default: '5m' },
		grace: { type: 'string', default: '20s' },
		'empty-room-grace': { type: 'string', default: '10s' },
		'request-timeout': { type: 'string', default: '10s' },
		filler: { type: 'boolean', default: false },
		out: { type: 'string', default: join(root, 'loadtest', 'results') },
		report: { type: 'string' },
		help: { type: 'boolean', default: false },
	},
});
if (values.help) {
	console.log(USAGE);
	process.exit(0);
}

if (values.report) {
	const saved = JSON.parse(readFileSync(values.report, 'utf8')) as SoakResult;
	saved.flatness = analyse(saved.samples, saved.options.warmupMs);
	writeFileSync(values.report, `${JSON.stringify(saved, null, 2)}\n`);
	console.log(`${formatSoak(saved)}\n\nrewrote ${relative(process.cwd(), values.report)}`);
	process.exit(0);
}

function count(name: string, text: string, min = 1): number {
	const value = Number(text);
	if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, not ${text}`);
	return value;
}

function duration(name: string, text: string, min = 1): number {
	const value = parseDuration(text);
	if (value < min) throw new Error(`--${name} must be at least ${min} ms, not ${text}`);
	return value;
}

const options = {
	rootDir: root,
	durationMs: duration('duration', values.duration, 30_000),
	rooms: count('rooms', values.rooms),
	peersPerRoom: count('peers-per-room', values['peers-per-room'], 2),
	subscribersPerRoom: count('subscribers-per-room', values['subscribers-per-room'], 0),
	seed: count('seed', values.seed, 0),
	sampleEveryMs: duration('sample-every', values['sample-every'], 1000),
	warmupMs: duration('warmup', values.warmup, 0),
	workers: count('workers', values.workers),
	churnEveryMs: duration('churn-every', values['churn-every'], 500),
	killEveryMs: duration('kill-every', values['kill-every'], 0),
	graceMs: duration('grace', values.grace, 2000),
	emptyRoomGraceMs: duration('empty-room-grace', values['empty-room-grace'], 0),
	realFrames: !values.filler,
	requestTimeoutMs: duration('request-timeout', values['request-timeout'], 1000),
	log: (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
};

const result = await runSoak(options);
mkdirSync(values.out, { recursive: true });
const file = join(values.out, `soak-${result.startedAt.slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\n${formatSoak(result)}\n\nwrote ${relative(process.cwd(), file)} (${result.durationSeconds.toFixed(0)} s)`);
process.exit(0);

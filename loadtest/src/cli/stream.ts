/**
 * npm run loadtest:stream [-- options]
 *
 * One presenter (VP8 simulcast 3 layers + Opus), an audience joining at a
 * constant rate with viewer tokens: PlainTransport viewers, then WebRTC
 * (werift) viewers. Prints a table and writes loadtest/results/stream-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { runAudience, type AudienceResult, type JoinPhase, type SteadyWindow } from '../stream/AudienceRun.js';
import { positive } from './options.js';
import { projectRoot } from './root.js';

const USAGE = `usage: npm run loadtest:stream -- [options]
  --viewers <n>          PlainTransport viewers (default 1000)
  --rate <n>             their arrivals per second (default 50)
  --webrtc <n>           WebRTC viewers (werift: ICE + DTLS + SRTP + RTCP feedback), after them (default 20)
  --webrtc-rate <n>      their arrivals per second (default 5)
  --duration <s>         steady measurement window after each join phase (default 15)
  --baseline <s>         presenter-only window (default 5)
  --measure-every <n>    read every n-th PlainTransport viewer's media (default 4; 1 = all)
  --workers <n>          mediasoup workers (default one per core, ${availableParallelism()})
  --soft-limit <n>       mediasoup.routerConsumerSoftLimit (default 400)
  --max-in-flight <n>    unfinished arrivals at most (default 200)
  --join-timeout <s>     per viewer (default 15)
  --filler               filler video frames instead of real VP8 clips
  --out <dir>            default loadtest/results`;

const root = projectRoot(import.meta.url);
const { values } = parseArgs({
	options: {
		viewers: { type: 'string', default: '1000' },
		rate: { type: 'string', default: '50' },
		webrtc: { type: 'string', default: '20' },
		'webrtc-rate': { type: 'string', default: '5' },
		duration: { type: 'string', default: '15' },
		baseline: { type: 'string', default: '5' },
		'measure-every': { type: 'string', default: '4' },
		workers: { type: 'string', default: String(availableParallelism()) },
		'soft-limit': { type: 'string', default: '400' },
		'max-in-flight': { type: 'string', default: '200' },
		'join-timeout': { type: 'string', default: '15' },
		filler: { type: 'boolean', default: false },
		out: { type: 'string', default: join(root, 'loadtest', 'results') },
		help: { type: 'boolean', default: false },
	},
});
if (values.help) {
	console.log(USAGE);
	process.exit(0);
}

const f = (value: number | undefined, digits = 1): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–');

function row(label: string, phase: JoinPhase | undefined, window: SteadyWindow | undefined, cpuPerViewer: number | undefined, lossOf: 'plainLoss' | 'webrtcLoss'): string[] {
	if (!phase) return [label, 'not run'];
	const loss = window?.[lossOf];
	return [
		label,
		`${phase.joined}/${phase.attempted}`,
		f(phase.achievedRate),
		`${f(phase.joinMs.p50)} / ${f(phase.joinMs.p95)} / ${f(phase.joinMs.p99)}`,
		f(phase.serverNodeCpuMsPerJoin, 2),
		f(cpuPerViewer, 3),
		loss ? `${f(loss.loss * 100, 3)}% (worst ${f(loss.worstSubscriber * 100, 2)}%)` : '–',
		`${f(phase.timeToFirstPacketMs.p50)} / ${f(phase.timeToFirstPacketMs.p95)} / ${f(phase.timeToFirstPacketMs.p99)}`,
	];
}

function table(result: AudienceResult): string {
	const header = ['viewers', 'joined', 'joins/s', 'join ms p50/p95/p99', 'server Node ms CPU/join', 'worker % core/viewer', 'loss (window)', 'first packet ms p50/p95/p99'];
	const rows = [
		header,
		row('PlainTransport (SRTP)', result.plainJoin, result.plainWindow, result.perViewer.plainWorkerCpuPercent, 'plainLoss'),
		row('WebRTC (werift)', result.webrtcJoin, result.webrtcWindow, result.perViewer.webrtcWorkerCpuPercent, 'webrtcLoss'),
	];
	const widths = header.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
	const lines = rows.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | '));
	lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('-|-'));
	const last = result.webrtcWindow ?? result.plainWindow;
	lines.push(
		'',
		`per worker (last window): ${last.consumersPerWorker.map((worker, index) => `pid ${worker.pid}: ${worker.consumers} consumers ≈ ${worker.approxViewers} viewers, ${f(last.workerCpuPercent[index])}% of a core`).join('; ')}`,
		`baseline (presenter only): workers ${result.baseline.workerCpuPercent.map((p) => f(p)).join('/')}%; machine busy in last window ${f(last.cpu.machineBusyPercent)}%, generator ${f(last.cpu.generatorMs / 10 / last.cpu.seconds)}% of a core`,
		`audience: expected ${result.audience.expected}, last audienceChanged count seen by sampled viewers p50 ${result.audience.lastCountSeen.p50} (min over ${result.audience.sampled}: see JSON), newPeer notifications to viewers ${result.audience.newPeerNotifications}`,
	);
	return lines.join('\n');
}

const options = {
	rootDir: root,
	viewers: positive('viewers', values.viewers, 0),
	rate: positive('rate', values.rate),
	webrtcViewers: positive('webrtc', values.webrtc, 0),
	webrtcRate: positive('webrtc-rate', values['webrtc-rate']),
	windowMs: positive('duration', values.duration) * 1000,
	baselineMs: positive('baseline', values.baseline) * 1000,
	measureEvery: positive('measure-every', values['measure-every']),
	workers: positive('workers', values.workers),
	softLimit: positive('soft-limit', values['soft-limit']),
	realFrames: !values.filler,
	joinTimeoutMs: positive('join-timeout', values['join-timeout']) * 1000,
	maxInFlight: positive('max-in-flight', values['max-in-flight']),
	log: (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
};

const result = await runAudience(options);
const machine = { cpuModel: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version };
mkdirSync(values.out, { recursive: true });
const file = join(values.out, `stream-${result.startedAt.slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ machine, ...result }, null, 2)}\n`);
console.log(`\n${table(result)}\n\nwrote ${relative(process.cwd(), file)} (${f(result.durationSeconds, 0)} s)`);
process.exit(0);

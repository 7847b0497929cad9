/**
 * One measurement window: snapshots at its start and end of every process's
 * CPU time, the machine's CPU, UDP drops per side, and every received
 * stream's counters; the difference is the step's result.
 */
import type { ReceivedStream } from '../media/SubscriberPool.js';
import { percentile, summarize, type Percentiles } from '../stats/percentiles.js';
import type { ReceiveCounters } from '../stats/RtpReceiveStats.js';
import { availableParallelism } from 'node:os';
import { machineCpuJiffies, processCpuSeconds, processRssBytes, processTree, udpDropsOf } from './procfs.js';

export type ProcessSet = {
	serverPid: number;
	workerPids: number[];
};

type Snapshot = {
	atMs: number;
	workers: Map<number, number>;
	server: number;
	generatorCpuMicros: number;
	/** Our child processes other than the server (Chromium). */
	helpers: number;
	machine: { busy: number; total: number };
	drops: { server: number; generator: number };
	streams: Map<ReceivedStream, ReceiveCounters>;
};

function helperPids(processes: ProcessSet): number[] {
	const serverTree = new Set(processTree(processes.serverPid));
	return processTree(process.pid).filter((pid) => pid !== process.pid && !serverTree.has(pid));
}

function sumCpu(pids: number[]): number {
	return pids.reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0);
}

export function snapshot(processes: ProcessSet, streams: readonly ReceivedStream[]): Snapshot {
	const usage = process.cpuUsage();
	const serverTree = processTree(processes.serverPid);
	return {
		atMs: performance.now(),
		workers: new Map(processes.workerPids.map((pid) => [pid, processCpuSeconds(pid) ?? 0])),
		server: processCpuSeconds(processes.serverPid) ?? 0,
		generatorCpuMicros: usage.user + usage.system,
		helpers: sumCpu(helperPids(processes)),
		machine: machineCpuJiffies(),
		drops: { server: udpDropsOf(serverTree), generator: udpDropsOf([process.pid]) },
		streams: new Map(streams.map((stream) => [stream, stream.stats.counters()])),
	};
}

export type WindowFigures = {
	seconds: number;
	cpu: {
		/** % of one core per worker, in the order of `workerPids`. */
		workers: { pid: number; percent: number }[];
		/** The server's Node.js process (signalling, HTTP, mediasoup channel). */
		server: number;
		/** The load generator (this Node.js process). */
		generator: number;
		/** Chromium and other helpers we started. */
		helpers: number;
		/** The whole machine, % of all cores (100 = every core busy). */
		machine: number;
		/** What the machine used beyond the processes above, in % of one core: other programs, kernel threads (softirq). */
		others: number;
	};
	rssBytes: { workers: number[]; server: number; generator: number };
	/**
	 * What the server forwarded to all PlainTransport subscribers: measured on
	 * the measured ones, scaled by (all streams ÷ measured streams) when only a
	 * sample is measured (every stream of a viewer is the same producer's).
	 */
	outgoing: { packetsPerSecond: number; bitsPerSecond: number; scale: number };
	/** What the measured subscribers received (packets the server sent them, lost included). */
	measuredOutgoing: { packetsPerSecond: number; bitsPerSecond: number };
	loss: {
		/** Lost / expected over all streams. */
		overall: number;
		worstStream: number;
		/** 95th percentile of per-stream loss. */
		p95Stream: number;
		streamsWithLoss: number;
		streams: number;
	};
	jitterMs: { audio: Percentiles; video: Percentiles };
	/** Streams that received nothing in the window. */
	silentStreams: number;
	udpDrops: { server: number; generator: number };
};

/** `scale`: all streams ÷ measured streams (1 when every subscriber is measured). */
export function compare(processes: ProcessSet, start: Snapshot, end: Snapshot, scale = 1): WindowFigures {
	const seconds = (end.atMs - start.atMs) / 1000;
	const percent = (delta: number) => (delta / seconds) * 100;
	let expected = 0;
	let lost = 0;
	let bytes = 0;
	let silent = 0;
	let withLoss = 0;
	const perStreamLoss: number[] = [];
	const jitter = { audio: [] as number[], video: [] as number[] };
	for (const [stream, after] of end.streams) {
		const before = start.streams.get(stream);
		if (!before) continue;
		const streamExpected = after.expected - before.expected;
		const streamReceived = after.packets - before.packets;
		const streamLost = Math.max(0, streamExpected - streamReceived);
		expected += streamExpected;
		lost += streamLost;
		bytes += after.bytes - before.bytes;
		if (streamReceived === 0) silent++;
		const fraction = streamExpected > 0 ? streamLost / streamExpected : 0;
		if (fraction > 0) withLoss++;
		perStreamLoss.push(fraction);
		jitter[stream.kind].push(stream.stats.jitterMs);
	}
	perStreamLoss.sort((a, b) => a - b);
	const machineTotal = end.machine.total - start.machine.total;
	const workers = processes.workerPids.map((pid) => ({ pid, percent: percent((end.workers.get(pid) ?? 0) - (start.workers.get(pid) ?? 0)) }));
	const server = percent(end.server - start.server);
	const generator = percent((end.generatorCpuMicros - start.generatorCpuMicros) / 1e6);
	const helpers = percent(end.helpers - start.helpers);
	const machine = machineTotal > 0 ? ((end.machine.busy - start.machine.busy) / machineTotal) * 100 : 0;
	const ours = workers.reduce((sum, worker) => sum + worker.percent, 0) + server + generator + helpers;
	return {
		seconds,
		cpu: { workers, server, generator, helpers, machine, others: Math.max(0, machine * availableParallelism() - ours) },
		rssBytes: {
			workers: processes.workerPids.map((pid) => processRssBytes(pid) ?? 0),
			server: processRssBytes(processes.serverPid) ?? 0,
			generator: process.memoryUsage().rss,
		},
		outgoing: { packetsPerSecond: (expected * scale) / seconds, bitsPerSecond: (bytes * 8 * scale) / seconds, scale },
		measuredOutgoing: { packetsPerSecond: expected / seconds, bitsPerSecond: (bytes * 8) / seconds },
		loss: {
			overall: expected > 0 ? lost / expected : 0,
			worstStream: perStreamLoss.length > 0 ? perStreamLoss[perStreamLoss.length - 1]! : 0,
			p95Stream: perStreamLoss.length > 0 ? percentile(perStreamLoss, 95) : 0,
			streamsWithLoss: withLoss,
			streams: perStreamLoss.length,
		},
		jitterMs: { audio: summarize(jitter.audio), video: summarize(jitter.video) },
		silentStreams: silent,
		udpDrops: { server: end.drops.server - start.drops.server, generator: end.drops.generator - start.drops.generator },
	};
}

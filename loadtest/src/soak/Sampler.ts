/**
 * One sample of the soak run every few seconds: the server's Node process and
 * each worker (RSS from /proc/<pid>/status, open fds from /proc/<pid>/fd, CPU
 * from /proc/<pid>/stat; the server's heap and active handles from its
 * /metrics), what /healthz reports (peers, rooms, routers and
 * consumers per worker), the generator's own figures, and the event counters.
 */
import { readdirSync } from 'node:fs';
import type { HealthReport } from '../../../server/signalling/protocol.js';
import { machineCpuJiffies, processCpuSeconds, processRssBytes } from '../capacity/procfs.js';
import type { SoakCounters } from './counters.js';

/** Open file descriptors of a process; undefined when it is gone. */
export function openFds(pid: number): number | undefined {
	try {
		return readdirSync(`/proc/${pid}/fd`).length;
	} catch {
		return undefined;
	}
}

export type ProcessFigures = { pid: number; rssKiB: number | undefined; fds: number | undefined; cpuPercent: number | undefined };

/** What the server's own /metrics says about its Node process (prom-client's default metrics, prefix sfu_node_). */
export type NodeFigures = { heapUsedKiB: number | undefined; activeHandles: number | undefined; handlesByType: Record<string, number> };

/** Reads the heap and active-handle figures out of a Prometheus text exposition. */
export function nodeFigures(metrics: string, prefix = 'sfu_node_'): NodeFigures {
	const value = (name: string): number | undefined => {
		const match = new RegExp(`^${prefix}${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(metrics);
		return match ? Number(match[1]) : undefined;
	};
	const handlesByType: Record<string, number> = {};
	for (const match of metrics.matchAll(new RegExp(`^${prefix}nodejs_active_handles\\{type="([^"]+)"\\} ([0-9.eE+-]+)$`, 'gm'))) handlesByType[match[1]!] = Number(match[2]);
	const heap = value('nodejs_heap_size_used_bytes');
	return { heapUsedKiB: heap === undefined ? undefined : Math.round(heap / 1024), activeHandles: value('nodejs_active_handles_total'), handlesByType };
}

export type WorkerSample = ProcessFigures & { slot: number; alive: boolean; routers: number; consumers: number };

export type Sample = {
	/** Since the load started (negative: before, e.g. the idle server). */
	tMs: number;
	at: string;
	label?: string;
	server: ProcessFigures & NodeFigures;
	workers: WorkerSample[];
	health: { status: HealthReport['status'] | 'unreachable'; rooms: number; peers: number };
	generator: { rssKiB: number; cpuPercent: number | undefined };
	machineBusyPercent: number | undefined;
	/** RTP packets the SRTP subscribers received since the previous sample, per second. */
	mediaPacketsPerSecond: number | undefined;
	/** Peers this run holds in session (joined or away). */
	peersInSession: number;
	counters: Pick<SoakCounters, 'joins' | 'leaves' | 'drops' | 'abandons' | 'workerKills' | 'mediaResets' | 'rebuilds' | 'consumersAccepted' | 'pings'> & { resumesOk: number; resumesFailed: number; errors: number };
};

type CpuMark = { at: number; byPid: Map<number, number>; generator: NodeJS.CpuUsage; machine: { busy: number; total: number } };

export class Sampler {
	private last: CpuMark | undefined;
	private lastPackets: { at: number; packets: number } | undefined;

	constructor(
		private readonly serverPid: number,
		private readonly health: () => Promise<HealthReport>,
		private readonly metrics: () => Promise<string>,
		/** performance.now() of t = 0 (the start of the load). */
		public origin: number,
	) {}

	async sample(context: { counters: SoakCounters; errors: number; packetsReceived: number; peersInSession: number; label?: string }): Promise<Sample> {
		const now = performance.now();
		let health: HealthReport | undefined;
		try {
			health = await this.health();
		} catch {
			health = undefined;
		}
		let node: NodeFigures = { heapUsedKiB: undefined, activeHandles: undefined, handlesByType: {} };
		try {
			node = nodeFigures(await this.metrics());
		} catch {
			// unreachable: the figures stay undefined
		}
		const workerPids = health?.workers.map((worker) => worker.pid).filter((pid) => pid > 0) ?? [];
		const mark: CpuMark = { at: now, byPid: new Map(), generator: process.cpuUsage(), machine: machineCpuJiffies() };
		for (const pid of [this.serverPid, ...workerPids]) {
			const cpu = processCpuSeconds(pid);
			if (cpu !== undefined) mark.byPid.set(pid, cpu);
		}
		const previous = this.last;
		this.last = mark;
		const seconds = previous ? (now - previous.at) / 1000 : 0;
		const cpuPercent = (pid: number): number | undefined => {
			const before = previous?.byPid.get(pid);
			const after = mark.byPid.get(pid);
			return before === undefined || after === undefined || seconds <= 0 ? undefined : ((after - before) / seconds) * 100;
		};
		const figures = (pid: number): ProcessFigures => {
			const rss = processRssBytes(pid);
			return { pid, rssKiB: rss === undefined ? undefined : Math.round(rss / 1024), fds: openFds(pid), cpuPercent: cpuPercent(pid) };
		};
		const generatorCpu = previous && seconds > 0 ? (() => {
			const used = process.cpuUsage(previous.generator);
			return ((used.user + used.system) / 1e6 / seconds) * 100;
		})() : undefined;
		const machineTotal = previous ? mark.machine.total - previous.machine.total : 0;
		const packets = this.lastPackets;
		this.lastPackets = { at: now, packets: context.packetsReceived };
		const { counters } = context;
		return {
			tMs: Math.round(now - this.origin),
			at: new Date().toISOString(),
			...(context.label ? { label: context.label } : {}),
			server: { ...figures(this.serverPid), ...node },
			workers: (health?.workers ?? []).map((worker, slot) => ({ slot, alive: worker.alive, routers: worker.routers, consumers: worker.consumers, ...(worker.pid > 0 ? figures(worker.pid) : { pid: 0, rssKiB: undefined, fds: undefined, cpuPercent: undefined }) })),
			health: health ? { status: health.status, rooms: health.rooms, peers: health.peers } : { status: 'unreachable', rooms: Number.NaN, peers: Number.NaN },
			generator: { rssKiB: Math.round(process.memoryUsage().rss / 1024), cpuPercent: generatorCpu },
			machineBusyPercent: previous && machineTotal > 0 ? ((mark.machine.busy - previous.machine.busy) / machineTotal) * 100 : undefined,
			mediaPacketsPerSecond: packets && now > packets.at ? ((context.packetsReceived - packets.packets) / (now - packets.at)) * 1000 : undefined,
			peersInSession: context.peersInSession,
			counters: {
				joins: counters.joins,
				leaves: counters.leaves,
				drops: counters.drops,
				abandons: counters.abandons,
				workerKills: counters.workerKills,
				mediaResets: counters.mediaResets,
				rebuilds: counters.rebuilds,
				consumersAccepted: counters.consumersAccepted,
				pings: counters.pings,
				resumesOk: counters.resumes.ok,
				resumesFailed: counters.resumes.failed,
				errors: context.errors,
			},
		};
	}
}

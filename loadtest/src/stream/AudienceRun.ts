/**
 * The streaming-audience benchmark: one presenter (a broadcaster sending VP8
 * simulcast in three layers + Opus over SRTP) and an audience that arrives at
 * a constant rate. Each PlainTransport viewer is a protoo session joined with
 * a viewer token (join latency, audience notifications) plus an SRTP
 * PlainTransport subscriber created over the broadcaster API (its media);
 * each WebRTC viewer is a protoo viewer session whose own receive
 * WebRtcTransport is completed by werift. Phases, each measured apart:
 * baseline (presenter only) → PlainTransport joins → steady window →
 * WebRTC joins → steady window.
 */
import { MediaClock } from '../media/MediaClock.js';
import { Publisher } from '../media/Publisher.js';
import { SubscriberPool, type ReceivedStream } from '../media/SubscriberPool.js';
import { vp8Clips } from '../media/clips.js';
import { PROFILES } from '../media/profile.js';
import { HttpApiClient } from '../signalling/HttpApiClient.js';
import { machineCpuJiffies, processCpuSeconds } from '../capacity/procfs.js';
import { ServerProcess } from '../capacity/ServerProcess.js';
import { LatencySamples, summarize, type Percentiles } from '../stats/percentiles.js';
import { ViewerConnection, viewerToken } from './ViewerConnection.js';
import { WebRtcViewer } from './WebRtcViewer.js';

export type AudienceOptions = {
	rootDir: string;
	viewers: number;
	/** PlainTransport viewer arrivals per second. */
	rate: number;
	webrtcViewers: number;
	webrtcRate: number;
	/** Steady-state measurement window after each join phase. */
	windowMs: number;
	baselineMs: number;
	/** Read every n-th PlainTransport viewer's media (the others' is discarded by the kernel). */
	measureEvery: number;
	workers: number;
	softLimit: number;
	realFrames: boolean;
	joinTimeoutMs: number;
	/** Arrivals whose join has not finished yet, at most (a slow server delays later arrivals; the achieved rate shows it). */
	maxInFlight: number;
	log: (line: string) => void;
};

export type CpuFigures = { serverNodeMs: number; workersMs: number[]; generatorMs: number; machineBusyPercent: number; seconds: number };

export type JoinPhase = {
	kind: 'plain' | 'webrtc';
	attempted: number;
	joined: number;
	failed: number;
	errors: string[];
	seconds: number;
	achievedRate: number;
	/** WebSocket connect started → join response. */
	joinMs: Percentiles;
	connectMs: Percentiles;
	/** The viewer token from POST /api/token (before the WebSocket). */
	tokenMs: Percentiles;
	/** After the join: the PlainTransport subscriber set up over the HTTP API (plain only). */
	mediaSetupMs?: Percentiles;
	/** Join response → first RTP packet, per measured viewer. */
	timeToFirstPacketMs: Percentiles;
	viewersWithoutPackets: number;
	cpu: CpuFigures;
	/** Server Node CPU of the phase ÷ joins, the presenter-only baseline rate subtracted. */
	serverNodeCpuMsPerJoin: number;
	serverNodeCpuMsPerJoinRaw: number;
};

export type LossFigures = { subscribers: number; expected: number; received: number; lost: number; loss: number; worstSubscriber: number; p95Subscriber: number };

export type SteadyWindow = {
	viewers: { plain: number; webrtc: number };
	cpu: CpuFigures;
	workerCpuPercent: number[];
	consumersPerWorker: { pid: number; consumers: number; approxViewers: number }[];
	plainLoss: LossFigures;
	webrtcLoss?: LossFigures;
	publisherPacketsPerSecond: number;
};

export type AudienceResult = {
	startedAt: string;
	options: Omit<AudienceOptions, 'log' | 'rootDir'>;
	server: { workers: number; pid: number; workerPids: number[] };
	baseline: CpuFigures & { workerCpuPercent: number[] };
	plainJoin: JoinPhase;
	plainWindow: SteadyWindow;
	webrtcJoin?: JoinPhase;
	webrtcWindow?: SteadyWindow;
	perViewer: {
		/** (window worker CPU − baseline) ÷ PlainTransport viewers, % of one core. */
		plainWorkerCpuPercent: number;
		/** (WebRTC window − PlainTransport window) ÷ WebRTC viewers, % of one core. */
		webrtcWorkerCpuPercent?: number;
	};
	audience: { sampled: number; lastCountSeen: Percentiles; expected: number; notificationsPerViewer: Percentiles; newPeerNotifications: number };
	durationSeconds: number;
	stoppedEarly?: string;
};

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

type CpuMark = { server: number; workers: number[]; generator: NodeJS.CpuUsage; machine: { busy: number; total: number }; at: number };

function markCpu(serverPid: number, workerPids: number[]): CpuMark {
	return {
		server: processCpuSeconds(serverPid) ?? Number.NaN,
		workers: workerPids.map((pid) => processCpuSeconds(pid) ?? Number.NaN),
		generator: process.cpuUsage(),
		machine: machineCpuJiffies(),
		at: performance.now(),
	};
}

function cpuSince(start: CpuMark, serverPid: number, workerPids: number[]): CpuFigures {
	const end = markCpu(serverPid, workerPids);
	const generator = process.cpuUsage(start.generator);
	const total = end.machine.total - start.machine.total;
	return {
		serverNodeMs: (end.server - start.server) * 1000,
		workersMs: end.workers.map((value, index) => (value - start.workers[index]!) * 1000),
		generatorMs: (generator.user + generator.system) / 1000,
		machineBusyPercent: total > 0 ? ((end.machine.busy - start.machine.busy) / total) * 100 : Number.NaN,
		seconds: (end.at - start.at) / 1000,
	};
}

function percentOfCore(cpu: CpuFigures): number[] {
	return cpu.workersMs.map((ms) => ms / 10 / cpu.seconds);
}

type Counter = { expected: number; packets: number };

function lossFigures(perSubscriber: Map<string, { start: Counter; end: Counter }>): LossFigures {
	let expected = 0;
	let received = 0;
	const ratios: number[] = [];
	for (const { start, end } of perSubscriber.values()) {
		const e = end.expected - start.expected;
		const r = end.packets - start.packets;
		expected += e;
		received += r;
		ratios.push(e > 0 ? Math.max(0, e - r) / e : 1);
	}
	const sorted = summarize(ratios);
	const lost = Math.max(0, expected - received);
	return { subscribers: perSubscriber.size, expected, received, lost, loss: expected > 0 ? lost / expected : Number.NaN, worstSubscriber: sorted.max, p95Subscriber: sorted.p95 };
}

function sumCounters(streams: Iterable<{ stats: { counters(): { expected: number; packets: number } } }>): Counter {
	let expected = 0;
	let packets = 0;
	for (const stream of streams) {
		const counters = stream.stats.counters();
		expected += counters.expected;
		packets += counters.packets;
	}
	return { expected, packets };
}

/** Starts `count` arrivals at `rate` per second, at most `maxInFlight` unfinished; resolves when all have finished. */
async function arrive(count: number, rate: number, maxInFlight: number, arrival: (index: number) => Promise<void>): Promise<void> {
	const started = performance.now();
	const running = new Set<Promise<void>>();
	for (let index = 0; index < count; index++) {
		const due = started + (index * 1000) / rate;
		const wait = due - performance.now();
		if (wait > 0) await sleep(wait);
		while (running.size >= maxInFlight) await Promise.race(running);
		const task = arrival(index).finally(() => running.delete(task));
		running.add(task);
	}
	await Promise.all(running);
}

/** Waits (bounded) until every item has its first packet. */
async function waitForFirstPackets(pending: () => number, timeoutMs: number): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	while (pending() > 0 && performance.now() < deadline) await sleep(100);
}

export async function runAudience(options: AudienceOptions): Promise<AudienceResult> {
	const runStarted = performance.now();
	const log = options.log;
	const profile = PROFILES['camera-720p'];
	const participants = options.viewers + options.webrtcViewers;
	const server = await ServerProcess.start(options.rootDir, {
		numWorkers: options.workers,
		routerConsumerSoftLimit: options.softLimit,
		env: {
			SFU_ROOMS_MAX_PEERS_PER_ROOM: String(2 * participants + 100),
			SFU_ROOMS_MAX_BROADCASTERS_PER_ROOM: String(participants + 100),
			SFU_LIMITS_REQUESTS_PER_SECOND: '1000',
			SFU_LIMITS_REQUEST_BURST: '1000',
		},
	});
	const api = new HttpApiClient({ baseUrl: server.url, maxSockets: 32, apiKey: server.apiKey, timeoutMs: options.joinTimeoutMs });
	const clock = new MediaClock();
	// Media subscribers with viewer access: counted in the audience like the viewers' sessions, never announced.
	const pool = await SubscriberPool.create({ api, sockets: 8, role: 'viewer' });
	const connections: ViewerConnection[] = [];
	const webrtcViewers: WebRtcViewer[] = [];
	let publisher: Publisher | undefined;
	try {
		const health = await server.health();
		const workerPids = health.workers.map((worker) => worker.pid);
		const roomId = 'stream-audience';
		const clips = options.realFrames ? await vp8Clips(options.rootDir, profile, log) : undefined;
		publisher = await Publisher.start({ api, roomId, id: 'presenter', profile, seed: 1, ...(clips ? { clips } : {}) });
		clock.add(publisher);
		await publisher.allLayersReported();
		const producerIds = publisher.producerIds;
		log(`server pid ${server.pid}, workers ${workerPids.join(', ')}; presenter sending ${profile.video.layers.map((layer) => `${layer.height}p`).join('/')} + Opus`);

		// Baseline: the presenter alone.
		await sleep(1000);
		let mark = markCpu(server.pid, workerPids);
		await sleep(options.baselineMs);
		const baselineCpu = cpuSince(mark, server.pid, workerPids);
		const baseline = { ...baselineCpu, workerCpuPercent: percentOfCore(baselineCpu) };
		const baselineServerMsPerSecond = baselineCpu.serverNodeMs / baselineCpu.seconds;
		log(`baseline ${options.baselineMs / 1000}s: workers ${baseline.workerCpuPercent.map((p) => p.toFixed(1)).join('/')}% of a core, server Node ${(baselineServerMsPerSecond / 10).toFixed(1)}%`);

		// PlainTransport viewers.
		const plain = { join: [] as number[], connect: [] as number[], token: [] as number[], media: [] as number[], errors: [] as string[], joinedAt: new Map<string, number>() };
		let plainFailures = 0;
		log(`joining ${options.viewers} PlainTransport viewers at ${options.rate}/s`);
		mark = markCpu(server.pid, workerPids);
		await arrive(options.viewers, options.rate, options.maxInFlight, async (index) => {
			try {
				const tokenStarted = performance.now();
				const token = await viewerToken(api, roomId, `viewer-${index}`);
				plain.token.push(performance.now() - tokenStarted);
				const connection = await ViewerConnection.connect(server.wsUrl, roomId, token, options.joinTimeoutMs);
				connections.push(connection);
				const { timing } = await connection.join({ displayName: `viewer-${index}`, device: { name: 'loadtest-viewer' } });
				plain.join.push(timing.joinMs);
				plain.connect.push(timing.connectMs);
				const mediaId = `media-${token.identity}`;
				const measured = index % options.measureEvery === 0;
				if (measured) plain.joinedAt.set(mediaId, timing.joinedAt);
				await pool.add(roomId, mediaId, producerIds, { measured });
				plain.media.push(performance.now() - timing.joinedAt);
			} catch (error) {
				if (plain.errors.length < 20) plain.errors.push(String(error instanceof Error ? error.message : error));
				plainFailures++;
			}
		});
		const plainCpu = cpuSince(mark, server.pid, workerPids);
		const firstPacketOf = (subscriberId: string): number | undefined => {
			const times = pool.streams.filter((stream) => stream.subscriberId === subscriberId && stream.firstPacketMs !== undefined).map((stream) => stream.firstPacketMs!);
			return times.length === 0 ? undefined : Math.min(...times);
		};
		await waitForFirstPackets(() => [...plain.joinedAt.keys()].filter((id) => firstPacketOf(id) === undefined).length, 10_000);
		const plainTtfp: number[] = [];
		let plainSilent = 0;
		for (const [id, joinedAt] of plain.joinedAt) {
			const first = firstPacketOf(id);
			if (first === undefined) plainSilent++;
			else plainTtfp.push(first - joinedAt);
		}
		const plainJoin = joinPhase('plain', options.viewers, plain, plainFailures, plainCpu, plainTtfp, plainSilent, baselineServerMsPerSecond);
		log(formatJoin(plainJoin));

		const plainWindow = await steadyWindow(server, api, pool, [], workerPids, options.windowMs, publisher, { plain: plainJoin.joined, webrtc: 0 });
		log(formatWindow('PlainTransport window', plainWindow));

		// WebRTC viewers (werift).
		let webrtcJoin: JoinPhase | undefined;
		let webrtcWindow: SteadyWindow | undefined;
		if (options.webrtcViewers > 0) {
			const webrtc = { join: [] as number[], connect: [] as number[], token: [] as number[], errors: [] as string[] };
			let failures = 0;
			log(`joining ${options.webrtcViewers} WebRTC (werift) viewers at ${options.webrtcRate}/s`);
			mark = markCpu(server.pid, workerPids);
			await arrive(options.webrtcViewers, options.webrtcRate, options.maxInFlight, async (index) => {
				try {
					const tokenStarted = performance.now();
					const viewer = await WebRtcViewer.join(api, server.wsUrl, roomId, `webrtc-viewer-${index}`, producerIds.length, options.joinTimeoutMs);
					webrtc.token.push(viewer.timing.joinedAt - tokenStarted - viewer.timing.joinMs);
					webrtc.join.push(viewer.timing.joinMs);
					webrtc.connect.push(viewer.timing.connectMs);
					webrtcViewers.push(viewer);
				} catch (error) {
					if (webrtc.errors.length < 20) webrtc.errors.push(String(error instanceof Error ? error.message : error));
					failures++;
				}
			});
			const webrtcCpu = cpuSince(mark, server.pid, workerPids);
			await waitForFirstPackets(() => webrtcViewers.filter((viewer) => viewer.firstPacketAt === undefined).length, 15_000);
			const ttfp = webrtcViewers.filter((viewer) => viewer.firstPacketAt !== undefined).map((viewer) => viewer.firstPacketAt! - viewer.timing.joinedAt);
			const silent = webrtcViewers.length - ttfp.length;
			webrtcJoin = joinPhase('webrtc', options.webrtcViewers, webrtc, failures, webrtcCpu, ttfp, silent, baselineServerMsPerSecond);
			log(formatJoin(webrtcJoin));
			webrtcWindow = await steadyWindow(server, api, pool, webrtcViewers, workerPids, options.windowMs, publisher, { plain: plainJoin.joined, webrtc: webrtcViewers.length });
			log(formatWindow('PlainTransport + WebRTC window', webrtcWindow));
		}

		const sampled = connections.filter((_, index) => index % 10 === 0);
		// A PlainTransport viewer is two audience members: its protoo session and its media subscriber.
		const expectedAudience = 2 * plainJoin.joined + webrtcViewers.length;
		const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
		const plainViewerCpu = (sum(plainWindow.workerCpuPercent) - sum(baseline.workerCpuPercent)) / Math.max(1, plainJoin.joined);
		const webrtcViewerCpu = webrtcWindow ? (sum(webrtcWindow.workerCpuPercent) - sum(plainWindow.workerCpuPercent)) / Math.max(1, webrtcViewers.length) : undefined;
		return {
			startedAt: new Date(Date.now() - (performance.now() - runStarted)).toISOString(),
			options: { viewers: options.viewers, rate: options.rate, webrtcViewers: options.webrtcViewers, webrtcRate: options.webrtcRate, windowMs: options.windowMs, baselineMs: options.baselineMs, measureEvery: options.measureEvery, workers: options.workers, softLimit: options.softLimit, realFrames: options.realFrames, joinTimeoutMs: options.joinTimeoutMs, maxInFlight: options.maxInFlight },
			server: { workers: workerPids.length, pid: server.pid, workerPids },
			baseline,
			plainJoin,
			plainWindow,
			...(webrtcJoin ? { webrtcJoin } : {}),
			...(webrtcWindow ? { webrtcWindow } : {}),
			perViewer: { plainWorkerCpuPercent: plainViewerCpu, ...(webrtcViewerCpu !== undefined ? { webrtcWorkerCpuPercent: webrtcViewerCpu } : {}) },
			audience: {
				sampled: sampled.length,
				lastCountSeen: summarize(sampled.map((connection) => connection.lastAudienceCount ?? 0)),
				expected: expectedAudience,
				notificationsPerViewer: summarize(sampled.map((connection) => connection.audienceNotifications)),
				newPeerNotifications: connections.reduce((total, connection) => total + connection.newPeerNotifications, 0),
			},
			durationSeconds: (performance.now() - runStarted) / 1000,
		};
	} finally {
		clock.stop();
		for (const viewer of webrtcViewers) await viewer.close();
		for (const connection of connections) connection.close();
		await pool.close({ deleteBroadcasters: false });
		if (publisher) await publisher.close({ deleteBroadcaster: false }).catch(() => undefined);
		api.close();
		await server.stop();
	}
}

type Samples = { join: number[]; connect: number[]; token: number[]; media?: number[]; errors: string[] };

function joinPhase(kind: 'plain' | 'webrtc', attempted: number, samples: Samples, failed: number, cpu: CpuFigures, ttfp: number[], silent: number, baselineServerMsPerSecond: number): JoinPhase {
	const joined = samples.join.length;
	const perJoin = (ms: number): number => (joined > 0 ? ms / joined : Number.NaN);
	return {
		kind,
		attempted,
		joined,
		failed,
		errors: samples.errors,
		seconds: cpu.seconds,
		achievedRate: joined / cpu.seconds,
		joinMs: summarize(samples.join),
		connectMs: summarize(samples.connect),
		tokenMs: summarize(samples.token),
		...(samples.media ? { mediaSetupMs: summarize(samples.media) } : {}),
		timeToFirstPacketMs: summarize(ttfp),
		viewersWithoutPackets: silent,
		cpu,
		serverNodeCpuMsPerJoin: perJoin(cpu.serverNodeMs - baselineServerMsPerSecond * cpu.seconds),
		serverNodeCpuMsPerJoinRaw: perJoin(cpu.serverNodeMs),
	};
}

async function steadyWindow(
	server: ServerProcess,
	api: HttpApiClient,
	pool: SubscriberPool,
	webrtcViewers: WebRtcViewer[],
	workerPids: number[],
	windowMs: number,
	publisher: Publisher,
	viewers: { plain: number; webrtc: number },
): Promise<SteadyWindow> {
	await sleep(2000);
	const bySubscriber = (streams: readonly ReceivedStream[]): Map<string, ReceivedStream[]> => {
		const groups = new Map<string, ReceivedStream[]>();
		for (const stream of streams) groups.set(stream.subscriberId, [...(groups.get(stream.subscriberId) ?? []), stream]);
		return groups;
	};
	const plainGroups = bySubscriber(pool.streams);
	const plainCounters = new Map<string, { start: Counter; end: Counter }>();
	for (const [id, streams] of plainGroups) plainCounters.set(id, { start: sumCounters(streams), end: { expected: 0, packets: 0 } });
	const webrtcCounters = new Map<string, { start: Counter; end: Counter }>();
	webrtcViewers.forEach((viewer, index) => webrtcCounters.set(String(index), { start: sumCounters(viewer.streams.values()), end: { expected: 0, packets: 0 } }));
	const sentBefore = publisher.stats.packetsSent;
	const mark = markCpu(server.pid, workerPids);
	await sleep(windowMs);
	const cpu = cpuSince(mark, server.pid, workerPids);
	const sent = publisher.stats.packetsSent - sentBefore;
	for (const [id, streams] of plainGroups) plainCounters.get(id)!.end = sumCounters(streams);
	webrtcViewers.forEach((viewer, index) => (webrtcCounters.get(String(index))!.end = sumCounters(viewer.streams.values())));
	const health = await api.health();
	return {
		viewers,
		cpu,
		workerCpuPercent: percentOfCore(cpu),
		consumersPerWorker: health.workers.map((worker) => ({ pid: worker.pid, consumers: worker.consumers, approxViewers: Math.floor(worker.consumers / 2) })),
		plainLoss: lossFigures(plainCounters),
		...(webrtcViewers.length > 0 ? { webrtcLoss: lossFigures(webrtcCounters) } : {}),
		publisherPacketsPerSecond: sent / cpu.seconds,
	};
}

const f = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');

export function formatJoin(phase: JoinPhase): string {
	return (
		`${phase.kind} joins: ${phase.joined}/${phase.attempted} in ${f(phase.seconds)}s (${f(phase.achievedRate)}/s), failed ${phase.failed}; ` +
		`join ms p50 ${f(phase.joinMs.p50)} p95 ${f(phase.joinMs.p95)} p99 ${f(phase.joinMs.p99)}; ` +
		`first packet ms p50 ${f(phase.timeToFirstPacketMs.p50)} p95 ${f(phase.timeToFirstPacketMs.p95)} (${phase.viewersWithoutPackets} silent); ` +
		`server Node ${f(phase.serverNodeCpuMsPerJoin, 2)} ms CPU/join`
	);
}

export function formatWindow(label: string, window: SteadyWindow): string {
	const loss = (figures: LossFigures | undefined): string => (figures ? `${f(figures.loss * 100, 3)}% (worst ${f(figures.worstSubscriber * 100, 2)}%, ${figures.subscribers} subs)` : '–');
	return (
		`${label} ${f(window.cpu.seconds)}s: workers ${window.workerCpuPercent.map((p) => f(p)).join('/')}% of a core, ` +
		`consumers/worker ${window.consumersPerWorker.map((worker) => worker.consumers).join('/')}, machine ${f(window.cpu.machineBusyPercent)}%, ` +
		`generator ${f(window.cpu.generatorMs / 10 / window.cpu.seconds)}%; loss plain ${loss(window.plainLoss)} webrtc ${loss(window.webrtcLoss)}`
	);
}

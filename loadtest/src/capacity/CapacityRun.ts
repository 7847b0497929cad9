/**
 * The capacity sweep: for each sweep (a load shape on a freshly started
 * server), grow the load step by step; at each step let it settle, then
 * measure a window: CPU of every worker, of the server's Node process and of
 * the generator, subscriber loss and jitter, and signalling latency from a
 * protoo peer joining while the media flows.
 */
import { BrowserSubscribers, type BrowserInboundStats } from '../browser/BrowserSubscribers.js';
import { MediaClock } from '../media/MediaClock.js';
import { vp8Clips, type VideoClip } from '../media/clips.js';
import { PROFILES, type ProfileName } from '../media/profile.js';
import { HttpApiClient } from '../signalling/HttpApiClient.js';
import { probeJoin } from '../signalling/ProtooProbe.js';
import { LatencySamples, type Percentiles } from '../stats/percentiles.js';
import { MeetingLoad, StreamLoad, type Load } from './loads.js';
import { compare, snapshot, type WindowFigures } from './measure.js';
import { machineCpuJiffies } from './procfs.js';
import { ServerProcess, type ServerSettings } from './ServerProcess.js';

export type SweepPlan = {
	name: string;
	shape: 'stream' | 'meeting';
	profile: ProfileName;
	/** Viewers (stream) or participants (meeting) per step, ascending. */
	steps: number[];
	server: ServerSettings;
	/** Real WebRTC subscribers (headless Chromium) present during the sweep. */
	browsers: number;
	/** Measure every n-th viewer/participant's streams (1 = all). */
	measureEvery: number;
	/** Send real VP8 frames (encoded once by Chromium, cached); false: filler frames of the same sizes. */
	realFrames: boolean;
};

export type Thresholds = { maxLoss: number; maxWorkerCpuPercent: number };

export type CapacityOptions = {
	rootDir: string;
	sweeps: SweepPlan[];
	thresholds: Thresholds;
	/** Time after the last subscriber receives its first packet before measuring. */
	settleMs: number;
	windowMs: number;
	/** Stop a sweep after this many failing steps in a row (larger steps only fail harder, and may stall the server). */
	stopAfterFailures: number;
	/** Stop starting steps after this much time (ms since start). */
	budgetMs: number;
	/** Wait up to this long for other programs to leave the machine idle (< 10% CPU) before each sweep. */
	waitIdleMs: number;
	log: (line: string) => void;
};

export type BrowserFigures = {
	count: number;
	streams: number;
	packetsReceived: number;
	packetsLost: number;
	loss: number;
	jitterMsMax: { audio: number; video: number };
	videoFramesDecoded: number;
};

export type StepResult = {
	sweep: string;
	shape: 'stream' | 'meeting';
	load: number;
	subscribers: number;
	/** Consumers the server reports (our streams, browsers' and pipe consumers included). */
	serverConsumers: number;
	consumersPerWorker: number[];
	/** Streams our PlainTransport subscribers receive (measured + unmeasured). */
	streams: number;
	measuredStreams: number;
	setupSeconds: number;
	api: Record<string, Percentiles>;
	signalling: { joins: number; joinTotal: Percentiles; requests: Percentiles; byMethod: Record<string, Percentiles> };
	window: WindowFigures;
	publishers: { count: number; packetsPerSecond: number; bitsPerSecond: number; keyFrameRequests: number; keyFramesSent: number };
	generator: { lateTicks: number; unknownPackets: number };
	browsers?: BrowserFigures;
	pass: boolean;
	failures: string[];
};

export type SweepResult = {
	plan: SweepPlan;
	steps: StepResult[];
	stoppedBecause: string;
	/** Machine CPU (% of all cores) used by other programs just before the sweep's server started. */
	backgroundCpuPercent: number;
	/** Why the sweep ended early with an error (server did not start, API failure, …). */
	error?: string;
};

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

function judge(window: WindowFigures, thresholds: Thresholds, silentStreams: number): string[] {
	const failures: string[] = [];
	if (window.loss.overall >= thresholds.maxLoss) failures.push(`loss ${(window.loss.overall * 100).toFixed(2)}% ≥ ${(thresholds.maxLoss * 100).toFixed(0)}%`);
	for (const worker of window.cpu.workers) {
		if (worker.percent > thresholds.maxWorkerCpuPercent) failures.push(`worker ${worker.pid} at ${worker.percent.toFixed(0)}% of a core > ${thresholds.maxWorkerCpuPercent}%`);
	}
	if (silentStreams > 0) failures.push(`${silentStreams} streams received nothing`);
	return failures;
}

function browserFigures(before: BrowserInboundStats[][], after: BrowserInboundStats[][]): BrowserFigures {
	let received = 0;
	let lost = 0;
	let frames = 0;
	let streams = 0;
	const jitter = { audio: 0, video: 0 };
	after.forEach((page, pageIndex) => {
		page.forEach((stream, streamIndex) => {
			const start = before[pageIndex]?.[streamIndex];
			streams++;
			received += stream.packetsReceived - (start?.packetsReceived ?? 0);
			lost += Math.max(0, stream.packetsLost - (start?.packetsLost ?? 0));
			frames += (stream.framesDecoded ?? 0) - (start?.framesDecoded ?? 0);
			jitter[stream.kind] = Math.max(jitter[stream.kind], stream.jitter * 1000);
		});
	});
	return { count: after.length, streams, packetsReceived: received, packetsLost: lost, loss: received + lost > 0 ? lost / (received + lost) : 0, jitterMsMax: jitter, videoFramesDecoded: frames };
}

async function waitForMedia(load: Load, timeoutMs: number): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const silent = load.pool.streams.filter((stream) => stream.stats.packets === 0).length;
		if (silent === 0 || Date.now() > deadline) return silent;
		await sleep(100);
	}
}

/** Joins protoo probe peers one after another for `durationMs` (at most 30): signalling latency under this load. */
async function probeSignalling(wsUrl: string, roomId: string, durationMs: number, latency: LatencySamples): Promise<number> {
	const end = Date.now() + durationMs;
	let joins = 0;
	while (Date.now() < end && joins < 30) {
		await probeJoin(wsUrl, roomId, `probe-${Date.now().toString(36)}-${joins}`, latency);
		joins++;
		await sleep(250);
	}
	return joins;
}

async function runStep(
	server: ServerProcess,
	load: Load,
	clock: MediaClock,
	plan: SweepPlan,
	size: number,
	browsers: BrowserSubscribers | undefined,
	apiLatency: LatencySamples,
	options: CapacityOptions,
): Promise<StepResult> {
	apiLatency.clear();
	const setupStarted = performance.now();
	await load.grow(size);
	const setupSeconds = (performance.now() - setupStarted) / 1000;
	const api = Object.fromEntries(apiLatency.labels().map((label) => [label, apiLatency.summary(label)]));
	const silentBefore = await waitForMedia(load, 20_000);
	if (silentBefore > 0) options.log(`  ${silentBefore} streams still silent after 20 s; measuring anyway`);
	await sleep(options.settleMs);

	const health = await server.health();
	const processes = { serverPid: server.pid, workerPids: health.workers.map((worker) => worker.pid) };
	const streams = load.pool.streams;
	const publisherBefore = load.publishers.map((publisher) => ({ ...publisher.stats }));
	const lateBefore = clock.lateTicks;
	const unknownBefore = load.pool.unknownPackets;
	const browserBefore = browsers ? await browsers.stats() : undefined;
	const start = snapshot(processes, streams);
	const signalling = new LatencySamples();
	const joins = await probeSignalling(server.wsUrl, load.roomId, options.windowMs, signalling);
	const remaining = options.windowMs - (performance.now() - start.atMs);
	if (remaining > 0) await sleep(remaining);
	const end = snapshot(processes, streams);
	const browserAfter = browsers ? await browsers.stats() : undefined;
	const healthAfter = await server.health();
	const allStreams = streams.length + load.pool.unmeasuredStreams;
	const window = compare(processes, start, end, streams.length > 0 ? allStreams / streams.length : 1);

	const publisherPackets = load.publishers.reduce((sum, publisher, index) => sum + publisher.stats.packetsSent - (publisherBefore[index]?.packetsSent ?? 0), 0);
	const publisherBytes = load.publishers.reduce((sum, publisher, index) => sum + publisher.stats.bytesSent - (publisherBefore[index]?.bytesSent ?? 0), 0);
	const failures = judge(window, options.thresholds, window.silentStreams);
	const byMethod = Object.fromEntries(signalling.labels().filter((label) => label !== 'join total').map((label) => [label, signalling.summary(label)]));
	const requests = signalling.summaryOf(signalling.labels().filter((label) => label !== 'join total' && label !== 'ws connect'));
	return {
		sweep: plan.name,
		shape: plan.shape,
		load: size,
		subscribers: load.pool.subscribers.length,
		serverConsumers: healthAfter.workers.reduce((sum, worker) => sum + worker.consumers, 0),
		consumersPerWorker: healthAfter.workers.map((worker) => worker.consumers),
		streams: allStreams,
		measuredStreams: streams.length,
		setupSeconds,
		api,
		signalling: { joins, joinTotal: signalling.summary('join total'), requests, byMethod },
		window,
		publishers: {
			count: load.publishers.length,
			packetsPerSecond: publisherPackets / window.seconds,
			bitsPerSecond: (publisherBytes * 8) / window.seconds,
			keyFrameRequests: load.publishers.reduce((sum, publisher, index) => sum + publisher.stats.keyFrameRequests - (publisherBefore[index]?.keyFrameRequests ?? 0), 0),
			keyFramesSent: load.publishers.reduce((sum, publisher, index) => sum + publisher.stats.keyFramesSent - (publisherBefore[index]?.keyFramesSent ?? 0), 0),
		},
		generator: { lateTicks: clock.lateTicks - lateBefore, unknownPackets: load.pool.unknownPackets - unknownBefore },
		...(browserBefore && browserAfter ? { browsers: browserFigures(browserBefore, browserAfter) } : {}),
		pass: failures.length === 0,
		failures,
	};
}

/** Machine CPU busy over `ms`, % of all cores. */
async function machineBusy(ms: number): Promise<number> {
	const start = machineCpuJiffies();
	await sleep(ms);
	const end = machineCpuJiffies();
	return end.total > start.total ? ((end.busy - start.busy) / (end.total - start.total)) * 100 : 0;
}

/** Other programs' CPU before a sweep: waits (bounded) for the machine to quiet down, returns what it last saw. */
async function backgroundLoad(options: CapacityOptions): Promise<number> {
	const deadline = Date.now() + options.waitIdleMs;
	let busy = await machineBusy(2000);
	while (busy >= 10 && Date.now() < deadline) {
		options.log(`  machine busy at ${busy.toFixed(0)}% before the sweep (other programs); waiting for it to quiet down`);
		busy = await machineBusy(5000);
	}
	if (busy >= 10) options.log(`  WARNING: other programs use ${busy.toFixed(0)}% of the machine's CPU; the figures of this sweep include that contention`);
	return busy;
}

async function runSweep(plan: SweepPlan, options: CapacityOptions, startedAt: number): Promise<SweepResult> {
	options.log(
		`\n▶ sweep "${plan.name}": ${plan.shape}, profile ${plan.profile}, ${plan.server.numWorkers} worker(s), steps ${plan.steps.join(', ')}` +
			`${plan.measureEvery > 1 ? `, every ${plan.measureEvery}${plan.measureEvery === 2 ? 'nd' : plan.measureEvery === 3 ? 'rd' : 'th'} ${plan.shape === 'stream' ? 'viewer' : 'participant'} measured` : ''}`,
	);
	const backgroundCpuPercent = await backgroundLoad(options);
	const server = await ServerProcess.start(options.rootDir, plan.server);
	const apiLatency = new LatencySamples();
	const api = new HttpApiClient({ baseUrl: server.url, maxSockets: 8, latency: apiLatency, apiKey: server.apiKey });
	const clock = new MediaClock();
	const roomId = `capacity-${plan.name}`;
	const profile = PROFILES[plan.profile];
	let clips: VideoClip[] | undefined;
	if (plan.realFrames && profile.video.codec === 'VP8') clips = await vp8Clips(options.rootDir, profile, options.log);
	const loadOptions = { api, roomId, profile, clock, concurrency: 6, measureEvery: plan.measureEvery, ...(clips ? { clips } : {}) };
	let load: Load | undefined;
	let browsers: BrowserSubscribers | undefined;
	const steps: StepResult[] = [];
	let stoppedBecause = 'all steps done';
	let failuresInARow = 0;
	try {
		load = plan.shape === 'stream' ? await StreamLoad.create(loadOptions) : await MeetingLoad.create(loadOptions);
		if (plan.browsers > 0) {
			if (plan.shape === 'meeting') await load.grow(Math.min(plan.steps[0] ?? 2, 2));
			browsers = await BrowserSubscribers.start({ rootDir: options.rootDir, serverUrl: server.url, wsUrl: server.wsUrl, roomId, count: plan.browsers });
		}
		for (const size of plan.steps) {
			if (Date.now() - startedAt > options.budgetMs) {
				stoppedBecause = `time budget of ${Math.round(options.budgetMs / 1000)} s used`;
				break;
			}
			let step: StepResult;
			try {
				step = await runStep(server, load, clock, plan, size, browsers, apiLatency, options);
			} catch (error) {
				stoppedBecause = `error at ${size}: ${error instanceof Error ? error.message : String(error)}`;
				options.log(`  ${stoppedBecause}`);
				break;
			}
			steps.push(step);
			options.log(describeStep(step));
			failuresInARow = step.pass ? 0 : failuresInARow + 1;
			if (failuresInARow >= options.stopAfterFailures) {
				stoppedBecause = `${failuresInARow} failing step(s) in a row, the last at ${size}`;
				break;
			}
			if (!server.alive) {
				stoppedBecause = 'the server exited';
				break;
			}
		}
	} finally {
		await browsers?.close().catch(() => undefined);
		clock.stop();
		await load?.close().catch(() => undefined);
		api.close();
		await server.stop();
	}
	return { plan, steps, stoppedBecause, backgroundCpuPercent };
}

export function describeStep(step: StepResult): string {
	const workers = step.window.cpu.workers.map((worker) => `${worker.percent.toFixed(0)}%`).join('/');
	return (
		`  ${step.shape === 'stream' ? 'viewers' : 'participants'} ${String(step.load).padStart(4)}: ` +
		`${step.serverConsumers} consumers, ${(step.window.outgoing.packetsPerSecond / 1000).toFixed(1)} kpps, ${(step.window.outgoing.bitsPerSecond / 1e6).toFixed(0)} Mbit/s; ` +
		`workers ${workers}, node ${step.window.cpu.server.toFixed(0)}%, generator ${step.window.cpu.generator.toFixed(0)}%; ` +
		`loss ${(step.window.loss.overall * 100).toFixed(2)}%; join p95 ${step.signalling.joinTotal.p95.toFixed(0)} ms ` +
		`${step.pass ? '✓' : `✗ ${step.failures.join('; ')}`}`
	);
}

export async function runCapacity(options: CapacityOptions): Promise<SweepResult[]> {
	const startedAt = Date.now();
	const results: SweepResult[] = [];
	for (const plan of options.sweeps) {
		try {
			results.push(await runSweep(plan, options, startedAt));
		} catch (error) {
			// One broken sweep must not lose the others' results.
			const message = error instanceof Error ? error.message : String(error);
			options.log(`  sweep "${plan.name}" failed: ${message}`);
			results.push({ plan, steps: [], stoppedBecause: 'error', backgroundCpuPercent: Number.NaN, error: message });
		}
	}
	return results;
}

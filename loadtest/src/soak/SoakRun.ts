/**
 * The soak run: the compiled server as its own process, a few meetings kept
 * at a steady size for the whole duration while a seeded schedule churns
 * them (leaves and joins, drops and resumes, drops for good, worker kills),
 * sampled every few seconds (RSS and open fds of the server and of each
 * worker, /healthz), and at the end everyone leaves and what the server still
 * holds is counted: no rooms, routers or consumers should be left.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { RoomSummary } from '../../../server/signalling/protocol.js';
import { describeMachine, type MachineDescription } from '../capacity/report.js';
import { ServerProcess } from '../capacity/ServerProcess.js';
import { MediaClock } from '../media/MediaClock.js';
import { vp8Clips } from '../media/clips.js';
import { PROFILES } from '../media/profile.js';
import { HttpApiClient } from '../signalling/HttpApiClient.js';
import { LatencySamples, type Percentiles } from '../stats/percentiles.js';
import { newCounters, type SoakCounters } from './counters.js';
import { ErrorTally, type ErrorKind } from './ErrorTally.js';
import { runEvent, sleep, waitUntil, withTimeout, type ChurnContext, type KillRecord } from './events.js';
import { analyse, type SoakFlatness } from './analysis.js';
import { RoomMedia } from './RoomMedia.js';
import { Sampler, type Sample } from './Sampler.js';
import { churnSchedule, type ChurnKind } from './schedule.js';
import { ServerLog, type ServerLogSummary } from './ServerLog.js';
import type { BrowserRtp, PeerContext } from './SoakPeer.js';
import { SoakRoom } from './SoakRoom.js';

export type SoakOptions = {
	rootDir: string;
	durationMs: number;
	rooms: number;
	peersPerRoom: number;
	subscribersPerRoom: number;
	seed: number;
	sampleEveryMs: number;
	warmupMs: number;
	workers: number;
	churnEveryMs: number;
	killEveryMs: number;
	/** rooms.resumeGraceMs of the server. */
	graceMs: number;
	/** rooms.emptyRoomGraceMs of the server. */
	emptyRoomGraceMs: number;
	realFrames: boolean;
	requestTimeoutMs: number;
	log: (line: string) => void;
};

export type ObjectsLeft = {
	/** /healthz */
	rooms: number;
	peers: number;
	workers: { slot: number; pid: number; routers: number; consumers: number }[];
	/** GET /api/rooms */
	apiRooms: RoomSummary[];
	/** Seconds from the last leave until the server held no room. */
	emptyAfterSeconds: number | undefined;
	clean: boolean;
};

export type SoakResult = {
	schema: 'sfu-soak/1';
	startedAt: string;
	machine: MachineDescription;
	options: Omit<SoakOptions, 'rootDir' | 'log'>;
	server: { pid: number; workerPidsAtStart: number[] };
	schedule: { events: number; byKind: Partial<Record<ChurnKind, number>> };
	idleBefore: Sample;
	idleAfter: Sample;
	samples: Sample[];
	flatness: SoakFlatness;
	counters: SoakCounters;
	kills: KillRecord[];
	latencyMs: Record<string, Percentiles>;
	media: { profile: string; realFrames: boolean; packetsSent: number; packetsReceived: number; srtpAuthFailures: number; roomMediaRebuilds: number };
	objectsLeft: ObjectsLeft;
	errors: { total: number; byKind: Record<string, ErrorKind> };
	serverLog: ServerLogSummary;
	durationSeconds: number;
};

function browserRtp(rootDir: string): BrowserRtp {
	const captured = JSON.parse(readFileSync(join(rootDir, 'test', 'fixtures', 'chromium-rtp-parameters.json'), 'utf8')) as { rtpCapabilities: ms.RtpCapabilities; opus: ms.RtpParameters };
	return { rtpCapabilities: captured.rtpCapabilities, opus: captured.opus };
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
	const runStarted = performance.now();
	const startedAt = new Date().toISOString();
	// Before the server starts: the commit is the one whose server/ this run compiled.
	const machine = describeMachine(options.rootDir);
	const { log } = options;
	const profile = PROFILES['camera-360p'];
	const server = await ServerProcess.start(options.rootDir, {
		numWorkers: options.workers,
		routerConsumerSoftLimit: 400,
		env: {
			SFU_ROOMS_RESUME_GRACE_MS: String(options.graceMs),
			SFU_ROOMS_EMPTY_ROOM_GRACE_MS: String(options.emptyRoomGraceMs),
		},
	});
	const api = new HttpApiClient({ baseUrl: server.url, maxSockets: 4, apiKey: server.apiKey, timeoutMs: options.requestTimeoutMs });
	// Error times are counted from the start of the load (0 until then).
	let origin = performance.now();
	const errors = new ErrorTally(() => performance.now() - origin);
	const counters = newCounters();
	const latency = new LatencySamples(5000);
	const serverLog = new ServerLog(server, errors);
	const clock = new MediaClock();
	const kills: KillRecord[] = [];
	const killTimes: number[] = [];
	const rooms: SoakRoom[] = [];
	const sampler = new Sampler(server.pid, () => api.health(), () => api.metrics(), performance.now());
	const packetsReceived = (): number => rooms.reduce((sum, room) => sum + room.media.packetsReceived, 0);
	const inSession = (): number => rooms.reduce((sum, room) => sum + room.inSession, 0);
	const takeSample = (label?: string): Promise<Sample> => sampler.sample({ counters, errors: errors.total, packetsReceived: packetsReceived(), peersInSession: inSession(), ...(label ? { label } : {}) });
	try {
		serverLog.start();
		const workerPidsAtStart = (await server.health()).workers.map((worker) => worker.pid);
		log(`server pid ${server.pid}, workers ${workerPidsAtStart.join(', ')}; resume grace ${options.graceMs} ms, empty-room grace ${options.emptyRoomGraceMs} ms`);
		await sleep(2000);
		await takeSample();
		const idleBefore = await takeSample('idle before the load');

		const clips = options.realFrames ? await vp8Clips(options.rootDir, profile, log) : undefined;
		const context: PeerContext = {
			wsUrl: server.wsUrl,
			api,
			rtp: browserRtp(options.rootDir),
			counters,
			errors,
			latency,
			requestTimeoutMs: options.requestTimeoutMs,
			pingEveryMs: 2500,
			killsSince: (at) => killTimes.filter((time) => time >= at).length,
		};
		for (let index = 0; index < options.rooms; index++) {
			const roomId = `soak-${index}`;
			const media = new RoomMedia({ api, clock, roomId, profile, clips, subscribers: options.subscribersPerRoom, seed: options.seed * 1000 + index * 10 });
			await media.start();
			const room = new SoakRoom(index, roomId, media, context, options.peersPerRoom);
			rooms.push(room);
			await room.topUp();
		}
		log(`${options.rooms} rooms × ${options.peersPerRoom} protoo peers (audio producer each, WebRTC transports without ICE) + 1 publisher (${profile.name} VP8 simulcast + Opus, SRTP) + ${options.subscribersPerRoom} SRTP subscriber(s) each`);

		// The load runs from here: samples, then churn on the schedule.
		origin = performance.now();
		sampler.origin = origin;
		const samples: Sample[] = [];
		let sampling = true;
		const mediaCheck = new Map<SoakRoom, { packets: number; generation: number }>();
		const samplingLoop = (async () => {
			const maxSamples = Math.ceil(options.durationMs / options.sampleEveryMs) + 1;
			for (let count = 0; count < maxSamples && sampling; count++) {
				const sample = await takeSample();
				samples.push(sample);
				checkMedia(rooms, mediaCheck, killTimes, errors);
				if (count % Math.max(1, Math.round(60_000 / options.sampleEveryMs)) === 0) log(progressLine(sample, counters));
				await sleep(origin + (count + 1) * options.sampleEveryMs - performance.now());
			}
		})();

		const schedule = churnSchedule({ seed: options.seed, durationMs: options.durationMs, rooms: options.rooms, workers: options.workers, churnEveryMs: options.churnEveryMs, killEveryMs: options.killEveryMs, graceMs: options.graceMs });
		const byKind: Partial<Record<ChurnKind, number>> = {};
		for (const event of schedule) byKind[event.kind] = (byKind[event.kind] ?? 0) + 1;
		log(`churn: ${schedule.length} events over ${options.durationMs / 1000} s (${Object.entries(byKind).map(([kind, count]) => `${count} ${kind}`).join(', ')})`);
		const churn: ChurnContext = { api, rooms, counters, errors, latency, graceMs: options.graceMs, kills, killTimes, origin, log };
		const eventTimeoutMs = options.graceMs + 60_000;
		const running = new Set<Promise<void>>();
		for (const event of schedule) {
			await sleep(origin + event.atMs - performance.now());
			const task: Promise<void> = withTimeout(runEvent(churn, event), eventTimeoutMs, `churn event ${event.kind}`)
				.catch((error: unknown) => errors.record(`event ${event.kind}`, error))
				.finally(() => running.delete(task));
			running.add(task);
		}
		await sleep(origin + options.durationMs - performance.now());
		await Promise.all(running);
		sampling = false;
		await samplingLoop;
		samples.push(await takeSample('end of the load'));
		log(progressLine(samples[samples.length - 1]!, counters));

		// Everyone leaves; the rooms close after emptyRoomGraceMs; then nothing should be left.
		log('everyone leaves; waiting for the rooms to close');
		const media = {
			profile: profile.name,
			realFrames: options.realFrames,
			packetsSent: rooms.reduce((sum, room) => sum + room.media.packetsSent, 0),
			packetsReceived: packetsReceived(),
			srtpAuthFailures: rooms.reduce((sum, room) => sum + room.media.authFailures, 0),
			roomMediaRebuilds: rooms.reduce((sum, room) => sum + room.media.generation, 0),
		};
		for (const room of rooms) await room.close();
		clock.stop();
		const objectsLeft = await waitForEmpty(api, options.graceMs + options.emptyRoomGraceMs + 30_000);
		log(`after everyone left: ${objectsLeft.rooms} rooms, ${objectsLeft.peers} peers, routers ${objectsLeft.workers.map((worker) => worker.routers).join('/')}, consumers ${objectsLeft.workers.map((worker) => worker.consumers).join('/')}, /api/rooms ${objectsLeft.apiRooms.length}${objectsLeft.emptyAfterSeconds !== undefined ? ` (empty ${objectsLeft.emptyAfterSeconds.toFixed(1)} s after the last leave)` : ''}`);
		await sleep(2000);
		const idleAfter = await takeSample('idle after everyone left');

		return {
			schema: 'sfu-soak/1',
			startedAt,
			machine,
			options: {
				durationMs: options.durationMs,
				rooms: options.rooms,
				peersPerRoom: options.peersPerRoom,
				subscribersPerRoom: options.subscribersPerRoom,
				seed: options.seed,
				sampleEveryMs: options.sampleEveryMs,
				warmupMs: options.warmupMs,
				workers: options.workers,
				churnEveryMs: options.churnEveryMs,
				killEveryMs: options.killEveryMs,
				graceMs: options.graceMs,
				emptyRoomGraceMs: options.emptyRoomGraceMs,
				realFrames: options.realFrames,
				requestTimeoutMs: options.requestTimeoutMs,
			},
			server: { pid: server.pid, workerPidsAtStart },
			schedule: { events: schedule.length, byKind },
			idleBefore,
			idleAfter,
			samples,
			flatness: analyse(samples, options.warmupMs),
			counters,
			kills,
			latencyMs: Object.fromEntries(latency.labels().map((label) => [label, latency.summary(label)])),
			media,
			objectsLeft,
			errors: { total: errors.total, byKind: errors.byKind() },
			serverLog: serverLog.stop(),
			durationSeconds: (performance.now() - runStarted) / 1000,
		};
	} finally {
		serverLog.stop();
		clock.stop();
		for (const room of rooms) await room.close().catch(() => undefined);
		api.close();
		await server.stop();
	}
}

/** A room whose subscribers received nothing over a whole sample interval (not just after a kill) has lost its media. */
function checkMedia(rooms: SoakRoom[], last: Map<SoakRoom, { packets: number; generation: number }>, killTimes: number[], errors: ErrorTally): void {
	const recentKill = killTimes.some((time) => performance.now() - time < 30_000);
	for (const room of rooms) {
		const now = { packets: room.media.packetsReceived, generation: room.media.generation };
		const before = last.get(room);
		last.set(room, now);
		if (!before || recentKill || before.generation !== now.generation) continue;
		if (now.packets === before.packets) errors.record('media', 'the room\'s SRTP subscribers received no packet during a sample interval');
	}
}

async function waitForEmpty(api: HttpApiClient, timeoutMs: number): Promise<ObjectsLeft> {
	const started = performance.now();
	let emptyAt: number | undefined;
	await waitUntil(async () => {
		const health = await api.health().catch(() => undefined);
		const listed = await api.listRooms().catch(() => undefined);
		const empty = health !== undefined && listed !== undefined && health.rooms === 0 && health.peers === 0 && listed.rooms.length === 0 && health.workers.every((worker) => worker.routers === 0 && worker.consumers === 0);
		if (empty) emptyAt = performance.now();
		return empty;
	}, timeoutMs, 500);
	const health = await api.health();
	const listed = await api.listRooms();
	const workers = health.workers.map((worker, slot) => ({ slot, pid: worker.pid, routers: worker.routers, consumers: worker.consumers }));
	return {
		rooms: health.rooms,
		peers: health.peers,
		workers,
		apiRooms: listed.rooms,
		emptyAfterSeconds: emptyAt === undefined ? undefined : (emptyAt - started) / 1000,
		clean: health.rooms === 0 && health.peers === 0 && listed.rooms.length === 0 && workers.every((worker) => worker.routers === 0 && worker.consumers === 0),
	};
}

function progressLine(sample: Sample, counters: SoakCounters): string {
	const mib = (kib: number | undefined): string => (kib === undefined ? '–' : (kib / 1024).toFixed(1));
	return (
		`t=${Math.round(sample.tMs / 1000)}s server ${mib(sample.server.rssKiB)} MiB ${sample.server.fds ?? '–'} fds; ` +
		`workers ${sample.workers.map((worker) => `${worker.pid}: ${mib(worker.rssKiB)} MiB ${worker.fds ?? '–'} fds ${worker.consumers} consumers`).join(', ')}; ` +
		`peers ${sample.health.peers} rooms ${sample.health.rooms}; joins ${counters.joins} leaves ${counters.leaves} drops ${counters.drops} resumes ${counters.resumes.ok}/${counters.resumes.attempted} ` +
		`abandons ${counters.abandons} kills ${counters.workerKills} resets ${counters.mediaResets} rebuilds ${counters.rebuilds}; errors ${sample.counters.errors}; media ${sample.mediaPacketsPerSecond?.toFixed(0) ?? '–'} pkt/s`
	);
}

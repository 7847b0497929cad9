/**
 * The soak run's churn events, each bounded in time: a peer leaves and a new
 * one joins; a peer drops and resumes inside the grace window; a peer drops
 * for good (the server must close it after the window); a worker is killed
 * (SIGKILL) and everything on it is rebuilt — the peers on `mediaReset`, the
 * room's broadcasters by this run.
 */
import type { HealthReport, RoomSummary } from '../../../server/signalling/protocol.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';
import type { LatencySamples } from '../stats/percentiles.js';
import type { SoakCounters } from './counters.js';
import type { ErrorTally } from './ErrorTally.js';
import type { ChurnEvent } from './schedule.js';
import type { SoakPeer } from './SoakPeer.js';
import type { SoakRoom } from './SoakRoom.js';

export type KillRecord = {
	/** Since the load started. */
	atMs: number;
	slot: number;
	pid: number;
	newPid: number | undefined;
	/** SIGKILL → /healthz shows the slot alive with a new pid. */
	replacedMs: number | undefined;
	roomsOnWorker: string[];
	/** Joined peers of those rooms at the kill, and how many of them got `mediaReset` and had their media again. */
	peersOnWorker: number;
	peersReset: number;
	peersRebuilt: number;
	/** SIGKILL → the last of them rebuilt (on mediaReset). */
	allRebuiltMs: number | undefined;
	/** Peers of other rooms that got a `mediaReset` (should be none). */
	resetsElsewhere: number;
	/** Rooms whose broadcasters the server closed with the worker, rebuilt by this run. */
	mediaRebuilt: string[];
	/** SIGKILL → the last of those rooms sending and receiving again. */
	mediaRebuiltMs: number | undefined;
};

export type ChurnContext = {
	api: HttpApiClient;
	rooms: SoakRoom[];
	counters: SoakCounters;
	errors: ErrorTally;
	latency: LatencySamples;
	graceMs: number;
	kills: KillRecord[];
	/** performance.now() of every kill, for the peers' resume check. */
	killTimes: number[];
	origin: number;
	log: (line: string) => void;
};

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Rejects when `promise` has not settled within `ms` (the operation itself is not cancelled; it is bounded by its own timeouts). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))]);
	} finally {
		clearTimeout(timer);
	}
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; resolves with whether it did. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
	const deadline = performance.now() + timeoutMs;
	for (let attempt = 0; attempt < Math.ceil(timeoutMs / everyMs) + 1; attempt++) {
		if (await check()) return true;
		if (performance.now() >= deadline) return false;
		await sleep(everyMs);
	}
	return false;
}

export async function runEvent(context: ChurnContext, event: ChurnEvent): Promise<void> {
	if (event.kind === 'worker-kill') return killWorker(context, event);
	const room = context.rooms[event.room % context.rooms.length]!;
	const peer = room.pick(event.pick);
	if (!peer) {
		context.counters.eventsSkipped++;
		return;
	}
	peer.busy = true;
	try {
		if (event.kind === 'leave-join') await leaveAndJoin(context, room, peer);
		else if (event.kind === 'drop-resume') await dropAndResume(context, room, peer, event.awayMs ?? 2000);
		else await dropForGood(context, room, peer);
	} finally {
		peer.busy = false;
	}
}

/** `leave`: the others see `peerClosed` at once; a new participant takes the seat. */
async function leaveAndJoin(context: ChurnContext, room: SoakRoom, peer: SoakPeer): Promise<void> {
	const observed = room.observers(peer) > 0;
	room.watch(peer, 'left');
	room.peers.delete(peer);
	peer.leave();
	const leftAt = performance.now();
	await room.topUp();
	const seen = await waitUntil(() => room.closedAfter(peer.id) !== undefined, 5000);
	if (observed && !seen && !context.killTimes.some((time) => time >= leftAt - 1000)) {
		context.errors.record('leave', 'no peerClosed reached the room within 5 s of a leave');
	}
	const closedMs = room.closedAfter(peer.id);
	if (closedMs !== undefined) context.latency.add('leave → peerClosed at the others', closedMs);
	room.forget(peer.id);
}

/** Drops, stays away `awayMs` (inside the grace window), and takes the session back. */
async function dropAndResume(context: ChurnContext, room: SoakRoom, peer: SoakPeer, awayMs: number): Promise<void> {
	peer.drop();
	await sleep(awayMs);
	const outcome = await peer.resume();
	if (outcome === 'error') {
		room.peers.delete(peer);
		await room.topUp();
	}
}

/** Drops and never comes back: after the grace window the server closes the session (the others see `peerClosed`). */
async function dropForGood(context: ChurnContext, room: SoakRoom, peer: SoakPeer): Promise<void> {
	const { counters, errors, graceMs } = context;
	room.peers.delete(peer);
	room.abandoned.push(peer);
	room.watch(peer, 'abandoned');
	peer.drop();
	counters.abandons++;
	const droppedAt = performance.now();
	await sleep(2000);
	await room.topUp();
	await waitUntil(() => room.closedAfter(peer.id) !== undefined, droppedAt + graceMs + 10_000 - performance.now(), 500);
	const closedMs = room.closedAfter(peer.id);
	if (closedMs === undefined) {
		// A kill meanwhile may have closed the room (and its observers' connections) first.
		if (context.killTimes.some((time) => time >= droppedAt - 1000)) counters.abandonsUnobserved++;
		else if (room.observers() > 0) errors.record('abandoned session', 'no peerClosed within grace + 10 s of a drop without resume');
		else counters.abandonsUnobserved++;
	} else {
		counters.abandonsClosed++;
		context.latency.add('abandoned: drop → peerClosed at the others', closedMs);
		if (closedMs < graceMs - 1000) errors.record('abandoned session', `closed ${Math.round(closedMs)} ms after the drop, before the ${graceMs} ms grace window ended`);
	}
	room.forget(peer.id);
}

/** SIGKILL to one worker (its pid from /healthz); waits for its replacement and for everything on it to be rebuilt. */
async function killWorker(context: ChurnContext, event: ChurnEvent): Promise<void> {
	const { api, rooms, counters, errors, log } = context;
	const health: HealthReport = await api.health();
	// The busiest worker (most routers; the seeded slot among equals): a kill should hit the meetings, not an idle replacement.
	const seeded = (event.worker ?? 0) % health.workers.length;
	const most = Math.max(...health.workers.map((worker) => (worker.alive ? worker.routers : -1)));
	const slot = health.workers[seeded]!.routers === most ? seeded : health.workers.findIndex((worker) => worker.alive && worker.routers === most);
	const victim = health.workers[slot]!;
	if (!victim.alive || victim.pid <= 0) {
		errors.record('worker kill', `slot ${slot} is not alive before the kill`);
		return;
	}
	const summaries: RoomSummary[] = (await api.listRooms()).rooms;
	const onWorker = new Set(summaries.filter((summary) => summary.workerPids.includes(victim.pid)).map((summary) => summary.id));
	// Rooms spread over both workers lose only some peers: the strict checks are for rooms on this worker alone.
	const solelyOnWorker = new Set(summaries.filter((summary) => summary.workerPids.length === 1 && summary.workerPids[0] === victim.pid).map((summary) => summary.id));
	const before = new Map(rooms.flatMap((room) => [...room.peers].filter((peer) => peer.state === 'joined').map((peer) => [peer, { room, epoch: peer.mediaEpoch }] as const)));
	const killedAt = performance.now();
	context.killTimes.push(killedAt);
	const record: KillRecord = {
		atMs: Math.round(killedAt - context.origin),
		slot,
		pid: victim.pid,
		newPid: undefined,
		replacedMs: undefined,
		roomsOnWorker: [...onWorker],
		peersOnWorker: 0,
		peersReset: 0,
		peersRebuilt: 0,
		allRebuiltMs: undefined,
		resetsElsewhere: 0,
		mediaRebuilt: [],
		mediaRebuiltMs: undefined,
	};
	context.kills.push(record);
	try {
		process.kill(victim.pid, 'SIGKILL');
	} catch (error) {
		errors.record('worker kill', error);
		return;
	}
	counters.workerKills++;
	log(`killed worker ${victim.pid} (slot ${slot}), rooms on it: ${[...onWorker].join(', ') || 'none'}`);

	const replaced = await waitUntil(async () => {
		const now = await api.health().catch(() => undefined);
		const worker = now?.workers[slot];
		if (!worker?.alive || worker.pid === victim.pid || worker.pid <= 0) return false;
		record.newPid = worker.pid;
		return true;
	}, 20_000);
	if (replaced) record.replacedMs = Math.round(performance.now() - killedAt);
	else errors.record('worker kill', 'the worker was not replaced within 20 s');

	// The room's broadcasters died with the worker: find the rooms short of them and rebuild their media.
	await sleep(500);
	const after = (await api.listRooms()).rooms;
	for (const room of rooms) {
		const summary = after.find((candidate) => candidate.id === room.id);
		if ((summary?.broadcasters ?? 0) >= room.media.broadcasters) continue;
		if (!onWorker.has(room.id)) errors.record('worker kill', 'a room on a live worker lost broadcasters');
		try {
			await room.media.rebuild();
			record.mediaRebuilt.push(room.id);
			record.mediaRebuiltMs = Math.round(performance.now() - killedAt);
		} catch (error) {
			errors.record('media rebuild', error);
		}
	}

	const onIt = [...before].filter(([, { room }]) => solelyOnWorker.has(room.id));
	record.peersOnWorker = onIt.length;
	// A peer that dropped after the kill may have missed its mediaReset; its resume rebuilds instead.
	const awaySinceKill = (peer: SoakPeer): boolean => peer.droppedAt !== undefined && peer.droppedAt >= killedAt;
	const rebuilt = await waitUntil(() => onIt.every(([peer, { epoch }]) => peer.state !== 'joined' || awaySinceKill(peer) || (peer.mediaEpoch > epoch && peer.hasMedia)), 20_000);
	const rebuiltTimes = onIt.map(([peer]) => peer.rebuiltAt ?? 0).filter((time) => time >= killedAt);
	if (rebuilt && rebuiltTimes.length > 0) record.allRebuiltMs = Math.round(Math.max(...rebuiltTimes) - killedAt);
	for (const [peer, { room, epoch }] of before) {
		const reset = peer.mediaEpoch > epoch;
		if (solelyOnWorker.has(room.id)) {
			if (reset) record.peersReset++;
			if (reset && peer.hasMedia) record.peersRebuilt++;
			if (!reset && peer.state === 'joined' && !awaySinceKill(peer)) errors.record('worker kill', 'a joined peer of a room on the killed worker got no mediaReset within 20 s');
		} else if (!onWorker.has(room.id) && reset) {
			record.resetsElsewhere++;
			errors.record('worker kill', 'a peer of a room on a live worker got mediaReset');
		}
	}
	log(`worker ${victim.pid} replaced by ${record.newPid ?? '?'} in ${record.replacedMs ?? '?'} ms; ${record.peersReset}/${record.peersOnWorker} peers reset, ${record.peersRebuilt} rebuilt (${record.allRebuiltMs ?? 'not all'} ms); media rebuilt in ${record.mediaRebuilt.join(', ') || 'no room'}`);
}

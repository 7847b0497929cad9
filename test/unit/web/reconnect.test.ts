import { describe, expect, it } from 'vitest';
import {
	defaultIcePolicy,
	defaultSessionPolicy,
	graceSecondsLeft,
	iceNeedsRestart,
	iceTransition,
	initialIceState,
	initialSessionState,
	retryDelay,
	retryWindow,
	sessionTransition,
	type IceEvent,
	type IceRecoveryState,
	type SessionEffect,
	type SessionEvent,
	type SessionPolicy,
	type SessionState,
} from '../../../web/src/lib/reconnect.js';

/** A policy whose jitter is fixed: every wait is half its window. */
const halfway: SessionPolicy = { ...defaultSessionPolicy, random: () => 0.5 };
const credential = { token: 'resume-token', graceMs: 20_000 };

/** Runs events from a state; returns the final state and every effect in order. */
function run(events: SessionEvent[], from: SessionState = initialSessionState, policy: SessionPolicy = halfway) {
	let state = from;
	const effects: SessionEffect[] = [];
	for (const event of events) {
		const next = sessionTransition(state, event, policy);
		state = next.state;
		effects.push(...next.effects);
	}
	return { state, effects, types: effects.map((e) => e.type) };
}

const lost = (cause: 'closed' | 'dropped' | 'silent' = 'dropped', now = 1_000_000): SessionEvent => ({ type: 'socketLost', cause, now });

/** Joined, the server holding the session for a drop. */
const held = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joined', resume: credential }]).state;
/** Joined on a server that keeps no sessions (grace 0: no credential). */
const unheld = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joined' }]).state;

describe('back-off with full jitter', () => {
	it('windows double from the base to the cap', () => {
		expect([1, 2, 3, 4, 5, 6, 20].map((a) => retryWindow(a))).toEqual([500, 1000, 2000, 4000, 6000, 6000, 6000]);
	});

	it('a delay is anywhere in [0, window): 0 and the window’s last millisecond at the extremes', () => {
		for (const attempt of [1, 3, 8]) {
			const window = retryWindow(attempt);
			expect(retryDelay(attempt, { ...defaultSessionPolicy, random: () => 0 })).toBe(0);
			expect(retryDelay(attempt, { ...defaultSessionPolicy, random: () => 0.999999 })).toBe(window - 1);
			expect(retryDelay(attempt, { ...defaultSessionPolicy, random: () => 0.5 })).toBe(window / 2);
		}
	});

	it('clients dropped together (a server restart) spread over the window instead of retrying at once', () => {
		// 200 clients, each with its own random numbers, at their first attempt after the drop.
		let seed = 42;
		const random = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		const delays = Array.from({ length: 200 }, () => retryDelay(1, { ...defaultSessionPolicy, random }));
		expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
		expect(Math.max(...delays)).toBeLessThan(500);
		// Spread: no millisecond taken by more than a few, every tenth of the window used.
		const perMs = new Map<number, number>();
		for (const d of delays) perMs.set(d, (perMs.get(d) ?? 0) + 1);
		expect(Math.max(...perMs.values())).toBeLessThanOrEqual(3);
		const tenths = new Set(delays.map((d) => Math.floor(d / 50)));
		expect(tenths.size).toBe(10);
	});

	it('an attempt that does not open gives up after a few seconds (a black-holed connect would hang for minutes)', () => {
		expect(defaultSessionPolicy.connectTimeoutMs).toBeGreaterThanOrEqual(3000);
		expect(defaultSessionPolicy.connectTimeoutMs).toBeLessThanOrEqual(8000);
	});

	it('several attempts fit in the 20 s grace window, even at their longest', () => {
		let total = 0;
		let attempts = 0;
		while (total + retryWindow(attempts + 1) <= 20_000) total += retryWindow(++attempts);
		expect(attempts).toBeGreaterThanOrEqual(5);
	});
});

describe('session: first join', () => {
	it('opens the socket, joins once it is open, and is joined with the resume credential', () => {
		const { state, effects } = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joined', resume: credential }]);
		expect(effects).toEqual([{ type: 'openSocket' }, { type: 'join' }]);
		expect(state).toMatchObject({ phase: 'joined', socketOpen: true, attempt: 0, everJoined: true, resume: credential });
	});

	it('ignores a second start', () => {
		expect(run([{ type: 'start' }, { type: 'start' }]).types).toEqual(['openSocket']);
	});

	it('retries a socket that cannot open after a jittered pause, and gives up with "server-unreachable"', () => {
		const failures = Array.from({ length: defaultSessionPolicy.maxInitialAttempts }, () => [{ type: 'socketFailed' }, { type: 'retryDue' }] as SessionEvent[]).flat();
		const before = run([{ type: 'start' }, ...failures.slice(0, -2)]);
		expect(before.state.phase).toBe('connecting');
		expect(before.effects.filter((e) => e.type === 'scheduleRetry')).toEqual([
			{ type: 'scheduleRetry', delayMs: 250 },
			{ type: 'scheduleRetry', delayMs: 500 },
			{ type: 'scheduleRetry', delayMs: 1000 },
		]);
		expect(before.types.filter((t) => t === 'openSocket')).toHaveLength(defaultSessionPolicy.maxInitialAttempts);
		const after = run([{ type: 'start' }, ...failures]);
		expect(after.state).toMatchObject({ phase: 'failed', failure: 'server-unreachable' });
		expect(after.types.slice(-3)).toEqual(['cancelRetry', 'teardownMedia', 'closeSocket']);
	});

	it('fails at once, without retrying, when the room is full', () => {
		const { state, types } = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joinFailed', reason: 'room-full', retriable: false }]);
		expect(state).toMatchObject({ phase: 'failed', failure: 'room-full' });
		expect(types).not.toContain('scheduleRetry');
	});

	it('retries a join that failed for a passing reason on a new socket', () => {
		const { state, effects } = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joinFailed', reason: 'unexpected', retriable: true }]);
		expect(state.phase).toBe('connecting');
		expect(effects.slice(-3)).toEqual([{ type: 'teardownMedia' }, { type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: 250 }]);
		const retried = run([{ type: 'retryDue' }, { type: 'socketOpen' }, { type: 'joined' }], state);
		expect(retried.types).toEqual(['openSocket', 'join']);
		expect(retried.state.phase).toBe('joined');
	});
});

describe('session: a dropped connection is resumed', () => {
	it('keeps the media (suspended), closes the socket and retries soon, counting down the grace window', () => {
		const { state, effects } = run([lost('dropped', 5_000)], held);
		expect(effects).toEqual([{ type: 'suspendMedia' }, { type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: 250 }]);
		expect(state).toMatchObject({ phase: 'reconnecting', attempt: 1, socketOpen: false, resume: credential, graceEndsAt: 25_000 });
		expect(graceSecondsLeft(state, 5_000)).toBe(20);
		expect(graceSecondsLeft(state, 24_001)).toBe(1);
		expect(graceSecondsLeft(state, 25_000)).toBeUndefined();
	});

	it('the new socket carries the resume token and its first request is `resume`', () => {
		const { effects, state } = run([lost(), { type: 'retryDue' }, { type: 'socketOpen' }], held);
		expect(effects.slice(-2)).toEqual([{ type: 'openSocket', resumeToken: 'resume-token' }, { type: 'resume' }]);
		expect(state.phase).toBe('reconnecting');
	});

	it('resumed: joined again, the countdown gone, a renewed credential kept', () => {
		const renewed = { token: 'next', graceMs: 20_000 };
		const { state, types } = run([lost(), { type: 'retryDue' }, { type: 'socketOpen' }, { type: 'resumed', resume: renewed }], held);
		expect(types).not.toContain('teardownMedia');
		expect(types).not.toContain('join');
		expect(state).toMatchObject({ phase: 'joined', attempt: 0, resume: renewed, graceEndsAt: undefined, lostBecause: undefined });
	});

	it('a silent connection (no answer to pings) is handled like a dropped one', () => {
		const { state, types } = run([lost('silent')], held);
		expect(types).toEqual(['suspendMedia', 'closeSocket', 'scheduleRetry']);
		expect(state.lostBecause).toContain('stopped answering');
	});

	it('resume answered 404: tear the media down and join afresh on the same connection', () => {
		const resuming = run([lost(), { type: 'retryDue' }, { type: 'socketOpen' }], held).state;
		const { state, effects } = run([{ type: 'resumeRefused' }], resuming);
		expect(effects).toEqual([{ type: 'teardownMedia' }, { type: 'join' }]);
		expect(state).toMatchObject({ phase: 'reconnecting', socketOpen: true, resume: undefined, graceEndsAt: undefined });
		expect(run([{ type: 'joined', resume: credential }], state).state).toMatchObject({ phase: 'joined', resume: credential });
	});

	it('attempts that fail keep resuming with back-off, and the countdown keeps its deadline', () => {
		let { state } = run([lost('dropped', 0)], held);
		const delays: number[] = [];
		for (let i = 0; i < 5; i++) {
			const next = run([{ type: 'retryDue' }, { type: 'socketFailed' }], state);
			for (const e of next.effects) if (e.type === 'scheduleRetry') delays.push(e.delayMs);
			expect(next.effects).toContainEqual({ type: 'openSocket', resumeToken: 'resume-token' });
			expect(next.types).not.toContain('teardownMedia');
			state = next.state;
		}
		expect(delays).toEqual([500, 1000, 2000, 3000, 3000]);
		expect(state).toMatchObject({ phase: 'reconnecting', attempt: 6, graceEndsAt: 20_000 });
	});

	it('a resume that fails otherwise (timeout) is tried again on a new connection', () => {
		const resuming = run([lost(), { type: 'retryDue' }, { type: 'socketOpen' }], held).state;
		const { state, types } = run([{ type: 'resumeFailed' }, { type: 'retryDue' }], resuming);
		expect(types).toEqual(['suspendMedia', 'closeSocket', 'scheduleRetry', 'openSocket']);
		expect(state.resume).toEqual(credential);
	});

	it('without a credential (the server keeps no sessions) a drop tears down and rejoins', () => {
		const { state, types } = run([lost(), { type: 'retryDue' }, { type: 'socketOpen' }], unheld);
		expect(types).toEqual(['teardownMedia', 'closeSocket', 'scheduleRetry', 'openSocket', 'join']);
		expect(state).toMatchObject({ phase: 'reconnecting', graceEndsAt: undefined });
	});

	it('gives up after maxReconnectAttempts and says the media failed', () => {
		let state = run([lost()], held).state;
		for (let i = 1; i < defaultSessionPolicy.maxReconnectAttempts; i++) state = run([{ type: 'retryDue' }, { type: 'socketFailed' }], state).state;
		expect(state.phase).toBe('reconnecting');
		state = run([{ type: 'retryDue' }, { type: 'socketFailed' }], state).state;
		expect(state).toMatchObject({ phase: 'failed', failure: 'media-failed', resume: undefined });
	});

	it('a stale retry timer does nothing once the socket is open again', () => {
		const open = run([lost(), { type: 'retryDue' }, { type: 'socketOpen' }], held).state;
		expect(run([{ type: 'retryDue' }], open).types).toEqual([]);
	});
});

describe('session: the server asks us to come back afresh', () => {
	it.each(['worker-died', 'server-shutdown', 'server-draining'])('reconnectRequired (%s) drops the credential, tears down and rejoins after a jittered pause', (reason) => {
		const { state, effects } = run([{ type: 'reconnectRequired', reason }], held);
		expect(effects).toEqual([{ type: 'teardownMedia' }, { type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: 250 }]);
		expect(state).toMatchObject({ phase: 'reconnecting', resume: undefined });
		expect(state.lostBecause).toContain(reason);
		// The socket the server closes right after changes nothing; the retry joins (no resume token).
		const next = run([lost('closed'), { type: 'retryDue' }, { type: 'socketOpen' }], state);
		expect(next.effects.filter((e) => e.type === 'openSocket')).toEqual([{ type: 'openSocket', resumeToken: undefined }]);
		expect(next.types.at(-1)).toBe('join');
	});

	it('mediaFailed (ICE could not be restarted) rebuilds a joined session from scratch', () => {
		const { state, types } = run([{ type: 'mediaFailed' }], held);
		expect(types).toEqual(['teardownMedia', 'closeSocket', 'scheduleRetry']);
		expect(state.resume).toBeUndefined();
		const reconnecting = run([lost()], held).state;
		expect(run([{ type: 'mediaFailed' }], reconnecting).types).toEqual([]);
	});

	it('sessionReplaced stops for good: no reconnect fights the other tab', () => {
		const { state, types } = run([{ type: 'sessionReplaced' }], held);
		expect(state).toMatchObject({ phase: 'failed', failure: 'session-replaced', resume: undefined });
		expect(types).not.toContain('scheduleRetry');
		expect(run([{ type: 'retryDue' }, lost()], state).types).toEqual([]);
	});

	it.each(['removed', 'denied', 'meeting-ended', 'lobby-timeout'] as const)('sessionEnded (%s) stops for good: no reconnect', (reason) => {
		const { state, types } = run([{ type: 'sessionEnded', reason }], held);
		expect(state).toMatchObject({ phase: 'failed', failure: reason });
		expect(types).toEqual(['cancelRetry', 'teardownMedia', 'closeSocket']);
		// The server closes the socket right after: that changes nothing any more.
		expect(run([lost('closed'), { type: 'retryDue' }, { type: 'socketOpen' }], state).types).toEqual([]);
	});
});

describe('session: the lobby', () => {
	const waiting = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'lobby' }]);

	it('a guest whose join is answered with lobby waits, connected, not yet joined, with nothing to resume', () => {
		expect(waiting.types).toEqual(['openSocket', 'join']);
		expect(waiting.state).toMatchObject({ phase: 'lobby', socketOpen: true, everJoined: false, attempt: 0, resume: undefined });
	});

	it('admitted: joined like after a join, with the admission’s credential', () => {
		expect(run([{ type: 'joined', resume: credential }], waiting.state).state).toMatchObject({ phase: 'joined', everJoined: true, resume: credential });
	});

	it('denied: stops for good', () => {
		const denied = run([{ type: 'sessionEnded', reason: 'denied' }], waiting.state);
		expect(denied.state).toMatchObject({ phase: 'failed', failure: 'denied' });
		expect(denied.types).not.toContain('scheduleRetry');
	});

	it('a socket lost while waiting reconnects and joins again (the guest waits again)', () => {
		const again = run([lost('closed'), { type: 'retryDue' }, { type: 'socketOpen' }], waiting.state);
		expect(again.types).toEqual(['teardownMedia', 'closeSocket', 'scheduleRetry', 'openSocket', 'join']);
		expect(again.state.phase).toBe('connecting');
	});

	it('a media failure cannot happen there: nothing is sent or received yet', () => {
		expect(run([{ type: 'mediaFailed' }], waiting.state).types).toEqual([]);
	});
});

describe('session: leaving', () => {
	it('tells the server (`leave`) before closing, so it closes the peer at once, and then ignores the socket', () => {
		const left = run([{ type: 'leave' }], held);
		expect(left.types).toEqual(['cancelRetry', 'announceLeave', 'teardownMedia', 'closeSocket']);
		expect(left.state).toMatchObject({ phase: 'left', resume: undefined });
		expect(run([lost('closed'), { type: 'retryDue' }, { type: 'socketOpen' }, { type: 'leave' }], left.state).types).toEqual([]);
	});

	it('cancels a pending reconnect', () => {
		const reconnecting = run([lost()], held).state;
		expect(run([{ type: 'leave' }], reconnecting).types).toContain('cancelRetry');
	});
});

describe('ICE recovery', () => {
	function ice(events: IceEvent[], from: IceRecoveryState = initialIceState) {
		let state = from;
		const types: string[] = [];
		for (const event of events) {
			const next = iceTransition(state, event);
			state = next.state;
			types.push(...next.effects.map((e) => e.type));
		}
		return { state, types };
	}
	const connected = ice([{ type: 'connectionState', state: 'connected' }]).state;

	it('gives "disconnected" a grace period: it often recovers by itself', () => {
		const waiting = ice([{ type: 'connectionState', state: 'disconnected' }], connected);
		expect(waiting.types).toEqual(['startTimer']);
		const recovered = ice([{ type: 'connectionState', state: 'connected' }], waiting.state);
		expect(recovered.types).toEqual(['cancelTimer']);
		expect(recovered.state.phase).toBe('connected');
	});

	it('restarts ICE when "disconnected" outlasts the grace period', () => {
		const { state, types } = ice([{ type: 'connectionState', state: 'disconnected' }, { type: 'timer' }], connected);
		expect(types).toEqual(['startTimer', 'restartIce', 'startTimer']);
		expect(state).toMatchObject({ phase: 'restarting', restarts: 1 });
	});

	it('restarts ICE at once on "failed"', () => {
		expect(ice([{ type: 'connectionState', state: 'failed' }], connected).types).toEqual(['restartIce', 'startTimer']);
	});

	it('a network change while "disconnected" restarts at once instead of waiting out the grace', () => {
		const waiting = ice([{ type: 'connectionState', state: 'disconnected' }], connected).state;
		expect(ice([{ type: 'networkChanged' }], waiting).types).toEqual(['restartIce', 'startTimer']);
		expect(ice([{ type: 'networkChanged' }], connected).types).toEqual([]);
	});

	it('rebuilds the session after maxRestarts restarts that did not help', () => {
		const events: IceEvent[] = [{ type: 'connectionState', state: 'failed' }];
		for (let i = 0; i < defaultIcePolicy.maxRestarts; i++) events.push({ type: 'timer' });
		const { state, types } = ice(events, connected);
		expect(types.filter((t) => t === 'restartIce')).toHaveLength(defaultIcePolicy.maxRestarts);
		expect(types.at(-1)).toBe('rebuild');
		expect(state.phase).toBe('gave-up');
		expect(ice([{ type: 'connectionState', state: 'failed' }, { type: 'timer' }], state).types).toEqual([]);
	});

	it('a restart that succeeds resets the count', () => {
		const { state } = ice([{ type: 'connectionState', state: 'failed' }, { type: 'connectionState', state: 'connected' }], connected);
		expect(state).toMatchObject({ phase: 'connected', restarts: 0 });
	});

	it('rebuilds at once when the server refuses the restart', () => {
		const restarting = ice([{ type: 'connectionState', state: 'failed' }], connected).state;
		expect(ice([{ type: 'restartFailed' }], restarting).types).toEqual(['cancelTimer', 'rebuild']);
	});

	it('a "failed" during a restart leaves the decision to the restart timer', () => {
		const restarting = ice([{ type: 'connectionState', state: 'failed' }], connected).state;
		expect(ice([{ type: 'connectionState', state: 'failed' }], restarting).types).toEqual([]);
	});

	it('ignores "disconnected" before ever connecting (the transport is still setting up)', () => {
		expect(ice([{ type: 'connectionState', state: 'disconnected' }]).types).toEqual([]);
	});

	describe('across a dropped signalling connection', () => {
		it('is suspended while the connection is gone: no restart can be asked for, none is scheduled', () => {
			const waiting = ice([{ type: 'connectionState', state: 'disconnected' }], connected).state;
			const suspended = ice([{ type: 'signallingLost' }, { type: 'connectionState', state: 'failed' }, { type: 'timer' }], waiting);
			expect(suspended.types).toEqual(['cancelTimer']);
			expect(suspended.state).toMatchObject({ phase: 'suspended', connection: 'failed' });
		});

		it('after the resume, a transport that is fine on both sides goes on without a restart', () => {
			const suspended = ice([{ type: 'signallingLost' }], connected).state;
			const resumed = ice([{ type: 'resumed', serverIceState: 'completed' }], suspended);
			expect(resumed.types).toEqual([]);
			expect(resumed.state.phase).toBe('connected');
		});

		it('after the resume, ICE that failed here while away is restarted (not the transport recreated)', () => {
			const suspended = ice([{ type: 'signallingLost' }, { type: 'connectionState', state: 'failed' }], connected).state;
			const resumed = ice([{ type: 'resumed', serverIceState: 'connected' }], suspended);
			expect(resumed.types).toEqual(['restartIce', 'startTimer']);
			expect(resumed.state).toMatchObject({ phase: 'restarting', restarts: 1 });
		});

		it('after the resume, ICE the server lost (its side disconnected) is restarted too', () => {
			const suspended = ice([{ type: 'signallingLost' }], connected).state;
			expect(ice([{ type: 'resumed', serverIceState: 'disconnected' }], suspended).types).toEqual(['restartIce', 'startTimer']);
		});

		it('after a resume from a silent connection (a dead path, say a new address), ICE is restarted though both sides still say connected', () => {
			const suspended = ice([{ type: 'signallingLost' }], connected).state;
			expect(ice([{ type: 'resumed', serverIceState: 'completed', pathLost: true }], suspended).types).toEqual(['restartIce', 'startTimer']);
			expect(ice([{ type: 'resumed', serverIceState: 'new', pathLost: true }], ice([{ type: 'signallingLost' }]).state).types, 'never started: nothing to restart').toEqual([]);
		});

		it('a transport that never started has nothing to restart', () => {
			const suspended = ice([{ type: 'signallingLost' }]).state;
			const resumed = ice([{ type: 'resumed', serverIceState: 'new' }], suspended);
			expect(resumed.types).toEqual([]);
			expect(resumed.state.phase).toBe('new');
		});
	});

	it('iceNeedsRestart: local loss, or a started transport the server does not see connected', () => {
		expect(iceNeedsRestart('connected', 'connected')).toBe(false);
		expect(iceNeedsRestart('connected', 'completed')).toBe(false);
		expect(iceNeedsRestart('disconnected', 'completed')).toBe(true);
		expect(iceNeedsRestart('failed', 'connected')).toBe(true);
		expect(iceNeedsRestart('connected', 'disconnected')).toBe(true);
		expect(iceNeedsRestart('connecting', 'new')).toBe(true);
		expect(iceNeedsRestart('new', 'new')).toBe(false);
		expect(iceNeedsRestart('closed', 'closed')).toBe(false);
	});
});

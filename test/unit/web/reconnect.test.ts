import { describe, expect, it } from 'vitest';
import {
	defaultIcePolicy,
	defaultSessionPolicy,
	iceTransition,
	initialIceState,
	initialSessionState,
	retryDelay,
	sessionTransition,
	type IceEvent,
	type IceRecoveryState,
	type SessionEffect,
	type SessionEvent,
	type SessionState,
} from '../../../web/src/lib/reconnect.js';

/** Runs events from a state; returns the final state and every effect in order. */
function run(events: SessionEvent[], from: SessionState = initialSessionState) {
	let state = from;
	const effects: SessionEffect[] = [];
	for (const event of events) {
		const next = sessionTransition(state, event);
		state = next.state;
		effects.push(...next.effects);
	}
	return { state, effects, types: effects.map((e) => e.type) };
}

const joined = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joined' }]).state;

describe('session: first join', () => {
	it('opens the socket, joins once it is open, and is joined', () => {
		const { state, types } = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'joined' }]);
		expect(types).toEqual(['openSocket', 'join']);
		expect(state).toMatchObject({ phase: 'joined', socketOpen: true, attempt: 0, everJoined: true });
	});

	it('ignores a second start', () => {
		expect(run([{ type: 'start' }, { type: 'start' }]).types).toEqual(['openSocket']);
	});

	it('gives up with "server-unreachable" after the configured failed attempts', () => {
		const failures = Array.from({ length: defaultSessionPolicy.maxInitialAttempts }, () => ({ type: 'socketFailed' }) as const);
		const before = run([{ type: 'start' }, ...failures.slice(1)]);
		expect(before.state.phase).toBe('connecting');
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
		expect(effects.slice(-3)).toEqual([{ type: 'teardownMedia' }, { type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: retryDelay(1) }]);
		const retried = run([{ type: 'retryDue' }, { type: 'socketOpen' }, { type: 'joined' }], state);
		expect(retried.types).toEqual(['openSocket', 'join']);
		expect(retried.state.phase).toBe('joined');
	});
});

describe('session: losing a joined session', () => {
	it('a dropped socket tears media down and waits for protoo to reconnect by itself, then rejoins', () => {
		const lost = run([{ type: 'socketDisconnected' }], joined);
		expect(lost.types).toEqual(['teardownMedia']);
		expect(lost.state).toMatchObject({ phase: 'reconnecting', attempt: 1, socketOpen: false });
		const back = run([{ type: 'socketOpen' }, { type: 'joined' }], lost.state);
		expect(back.types).toEqual(['join']);
		expect(back.state).toMatchObject({ phase: 'joined', attempt: 0, lostBecause: undefined });
	});

	it('a socket closed for good (server close, protoo gave up) is replaced after a backoff', () => {
		const lost = run([{ type: 'socketClosed' }], joined);
		expect(lost.effects).toEqual([{ type: 'teardownMedia' }, { type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: 500 }]);
		expect(run([{ type: 'retryDue' }], lost.state).types).toEqual(['openSocket']);
	});

	it('backs off exponentially up to the cap while the server stays away', () => {
		let state = joined;
		const delays: number[] = [];
		for (let i = 0; i < 6; i++) {
			const next = run([{ type: 'socketClosed' }, { type: 'retryDue' }], state);
			for (const e of next.effects) if (e.type === 'scheduleRetry') delays.push(e.delayMs);
			state = next.state;
		}
		expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
		expect(state.phase).toBe('reconnecting');
	});

	it('gives up after maxReconnectAttempts and says the media failed', () => {
		let state = joined;
		for (let i = 0; i < defaultSessionPolicy.maxReconnectAttempts; i++) state = run([{ type: 'socketClosed' }, { type: 'retryDue' }], state).state;
		expect(state.phase).toBe('reconnecting');
		state = run([{ type: 'socketClosed' }], state).state;
		expect(state).toMatchObject({ phase: 'failed', failure: 'media-failed' });
	});

	it('reconnectRequired (worker died) rebuilds like a closed socket, and says why', () => {
		const { state, types } = run([{ type: 'reconnectRequired', reason: 'worker-died' }], joined);
		expect(types).toEqual(['teardownMedia', 'closeSocket', 'scheduleRetry']);
		expect(state.lostBecause).toContain('worker-died');
	});

	it('sessionReplaced stops for good: no reconnect fights the other tab', () => {
		const { state, types } = run([{ type: 'sessionReplaced' }], joined);
		expect(state).toMatchObject({ phase: 'failed', failure: 'session-replaced' });
		expect(types).not.toContain('scheduleRetry');
		expect(run([{ type: 'retryDue' }, { type: 'socketClosed' }], state).types).toEqual([]);
	});

	it.each(['removed', 'denied', 'meeting-ended', 'lobby-timeout'] as const)('sessionEnded (%s) stops for good: no reconnect', (reason) => {
		const { state, types } = run([{ type: 'sessionEnded', reason }], joined);
		expect(state).toMatchObject({ phase: 'failed', failure: reason });
		expect(types).toEqual(['cancelRetry', 'teardownMedia', 'closeSocket']);
		// The server closes the socket right after: that changes nothing any more.
		expect(run([{ type: 'socketClosed' }, { type: 'retryDue' }, { type: 'socketOpen' }], state).types).toEqual([]);
	});

	it('mediaFailed (ICE could not be restarted) rebuilds only a joined session', () => {
		expect(run([{ type: 'mediaFailed' }], joined).types).toEqual(['teardownMedia', 'closeSocket', 'scheduleRetry']);
		const reconnecting = run([{ type: 'socketDisconnected' }], joined).state;
		expect(run([{ type: 'mediaFailed' }], reconnecting).types).toEqual([]);
	});

	it('failed socket attempts during a reconnect do not count: only whole cycles do', () => {
		const lost = run([{ type: 'socketClosed' }, { type: 'retryDue' }], joined).state;
		const failing = run(Array.from({ length: 20 }, () => ({ type: 'socketFailed' }) as const), lost);
		expect(failing.types).toEqual([]);
		expect(failing.state).toEqual(lost);
	});

	it('a stale retry timer does nothing once the socket is open again', () => {
		const lost = run([{ type: 'socketClosed' }, { type: 'retryDue' }, { type: 'socketOpen' }], joined);
		expect(run([{ type: 'retryDue' }], lost.state).types).toEqual([]);
	});
});

describe('session: the lobby', () => {
	const waiting = run([{ type: 'start' }, { type: 'socketOpen' }, { type: 'lobby' }]);

	it('a guest whose join is answered with lobby waits, connected, not yet joined', () => {
		expect(waiting.types).toEqual(['openSocket', 'join']);
		expect(waiting.state).toMatchObject({ phase: 'lobby', socketOpen: true, everJoined: false, attempt: 0 });
	});

	it('admitted: joined like after a join', () => {
		expect(run([{ type: 'joined' }], waiting.state).state).toMatchObject({ phase: 'joined', everJoined: true });
	});

	it('denied: stops for good', () => {
		const denied = run([{ type: 'sessionEnded', reason: 'denied' }], waiting.state);
		expect(denied.state).toMatchObject({ phase: 'failed', failure: 'denied' });
		expect(denied.types).not.toContain('scheduleRetry');
	});

	it('a socket lost while waiting reconnects and joins again (the guest waits again)', () => {
		const lost = run([{ type: 'socketClosed' }, { type: 'retryDue' }, { type: 'socketOpen' }], waiting.state);
		expect(lost.types).toEqual(['teardownMedia', 'closeSocket', 'scheduleRetry', 'openSocket', 'join']);
		expect(lost.state.phase).toBe('connecting');
	});

	it('a media failure cannot happen there: nothing is sent or received yet', () => {
		expect(run([{ type: 'mediaFailed' }], waiting.state).types).toEqual([]);
	});
});

describe('session: leaving', () => {
	it('tears everything down and then ignores whatever the socket still reports', () => {
		const left = run([{ type: 'leave' }], joined);
		expect(left.types).toEqual(['cancelRetry', 'teardownMedia', 'closeSocket']);
		expect(left.state.phase).toBe('left');
		expect(run([{ type: 'socketClosed' }, { type: 'retryDue' }, { type: 'socketOpen' }, { type: 'leave' }], left.state).types).toEqual([]);
	});

	it('cancels a pending reconnect', () => {
		const lost = run([{ type: 'socketClosed' }], joined).state;
		expect(run([{ type: 'leave' }], lost).types).toContain('cancelRetry');
	});
});

describe('retryDelay', () => {
	it('doubles from the base to the cap', () => {
		expect([1, 2, 3, 4, 5, 6, 20].map((a) => retryDelay(a))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
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
		expect(state).toEqual({ phase: 'restarting', restarts: 1 });
	});

	it('restarts ICE at once on "failed"', () => {
		expect(ice([{ type: 'connectionState', state: 'failed' }], connected).types).toEqual(['restartIce', 'startTimer']);
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
		expect(state).toEqual({ phase: 'connected', restarts: 0 });
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
});

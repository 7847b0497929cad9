/**
 * Reconnection state machines, pure: the signalling session (WebSocket and
 * join) and ICE recovery per transport. RoomClient feeds them events and
 * carries out the effects they return; timers are effects too, so every
 * path can be tested without a clock or a socket.
 */

// ---------------------------------------------------------------------------
// Session: WebSocket + join.
// ---------------------------------------------------------------------------

import type { SessionEndKind, UserErrorKind } from './errors.js';

/** Why a session gave up; the page shows the matching UserError. */
export type FailureReason = UserErrorKind;

export type SessionPhase =
	/** Not started. */
	| 'idle'
	/** First connection: opening the WebSocket, or joining over it. */
	| 'connecting'
	| 'joined'
	/** Joined as a guest: waiting in the lobby for a host to admit (then 'joined') or deny. */
	| 'lobby'
	/** Lost a working session; getting it back. */
	| 'reconnecting'
	/** The user left. */
	| 'left'
	/** Gave up; `failure` says why. */
	| 'failed';

export type SessionState = {
	phase: SessionPhase;
	/** Whether the WebSocket is open now. */
	socketOpen: boolean;
	/** Reconnection attempts since the session was last joined (or since start). */
	attempt: number;
	/** Whether this client was ever in the room (changes how a loss is shown). */
	everJoined: boolean;
	failure?: FailureReason | undefined;
	/** Why the last working session was lost, for the banner. */
	lostBecause?: string | undefined;
};

export type SessionEvent =
	| { type: 'start' }
	/** The WebSocket opened (first time, or after protoo's own retry). */
	| { type: 'socketOpen' }
	/** A connection attempt failed before opening; protoo retries by itself. */
	| { type: 'socketFailed' }
	/** An open WebSocket dropped; protoo reconnects by itself. */
	| { type: 'socketDisconnected' }
	/** The WebSocket is gone for good (protoo gave up, or the server closed it). */
	| { type: 'socketClosed' }
	| { type: 'joined' }
	/** The join was answered with `lobby: true`. */
	| { type: 'lobby' }
	| { type: 'joinFailed'; reason: FailureReason; retriable: boolean }
	/** The server asked us to reconnect (`reconnectRequired`). */
	| { type: 'reconnectRequired'; reason: string }
	/** Another connection took over this peer id (another tab); do not fight it. */
	| { type: 'sessionReplaced' }
	/** A host removed us, denied us entry or ended the meeting (`sessionEnded`): never come back by ourselves. */
	| { type: 'sessionEnded'; reason: SessionEndKind }
	/** ICE could not be restarted: rebuild the whole session. */
	| { type: 'mediaFailed' }
	| { type: 'retryDue' }
	| { type: 'leave' };

export type SessionEffect =
	| { type: 'openSocket' }
	| { type: 'closeSocket' }
	/** Close transports, producers and consumers (their server side is gone). */
	| { type: 'teardownMedia' }
	| { type: 'join' }
	| { type: 'scheduleRetry'; delayMs: number }
	| { type: 'cancelRetry' };

export type SessionPolicy = {
	/** Backoff of our own reconnects (after protoo gave up): first delay, doubling to the cap. */
	retryBaseMs: number;
	retryMaxMs: number;
	/** Reconnect cycles (a new socket each) after a loss before giving up: about five minutes with the backoff. */
	maxReconnectAttempts: number;
	/** WebSocket attempts failing before the very first join before giving up ("server unreachable"). */
	maxInitialAttempts: number;
};

export const defaultSessionPolicy: SessionPolicy = {
	retryBaseMs: 500,
	retryMaxMs: 8000,
	maxReconnectAttempts: 30,
	maxInitialAttempts: 4,
};

export const initialSessionState: SessionState = { phase: 'idle', socketOpen: false, attempt: 0, everJoined: false };

export function retryDelay(attempt: number, policy: SessionPolicy = defaultSessionPolicy): number {
	return Math.min(policy.retryBaseMs * 2 ** Math.max(attempt - 1, 0), policy.retryMaxMs);
}

type Transition = { state: SessionState; effects: SessionEffect[] };

const finished = (phase: SessionPhase) => phase === 'left' || phase === 'failed';

function fail(state: SessionState, failure: FailureReason): Transition {
	return {
		state: { ...state, phase: 'failed', socketOpen: false, failure },
		effects: [{ type: 'cancelRetry' }, { type: 'teardownMedia' }, { type: 'closeSocket' }],
	};
}

/** A working (or half-built) session is lost: tear down media and reconnect, or give up. */
function lose(state: SessionState, why: string, socketGone: boolean, policy: SessionPolicy): Transition {
	const attempt = state.attempt + 1;
	const limit = state.everJoined ? policy.maxReconnectAttempts : policy.maxInitialAttempts;
	if (attempt > limit) return fail({ ...state, attempt }, state.everJoined ? 'media-failed' : 'server-unreachable');
	const phase: SessionPhase = state.everJoined ? 'reconnecting' : 'connecting';
	const next: SessionState = { ...state, phase, attempt, socketOpen: false, lostBecause: why };
	const effects: SessionEffect[] = [{ type: 'teardownMedia' }];
	// A socket protoo is still retrying stays; one that is gone is replaced after a pause.
	if (socketGone) effects.push({ type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: retryDelay(attempt, policy) });
	return { state: next, effects };
}

export function sessionTransition(
	state: SessionState,
	event: SessionEvent,
	policy: SessionPolicy = defaultSessionPolicy,
): Transition {
	if (event.type === 'leave') {
		if (finished(state.phase)) return { state, effects: [] };
		return {
			state: { ...state, phase: 'left', socketOpen: false },
			effects: [{ type: 'cancelRetry' }, { type: 'teardownMedia' }, { type: 'closeSocket' }],
		};
	}
	if (finished(state.phase)) return { state, effects: [] };

	switch (event.type) {
		case 'start':
			if (state.phase !== 'idle') return { state, effects: [] };
			return { state: { ...state, phase: 'connecting', attempt: 0 }, effects: [{ type: 'openSocket' }] };

		case 'socketOpen':
			return { state: { ...state, socketOpen: true }, effects: [{ type: 'join' }] };

		case 'socketFailed': {
			// protoo retries by itself. Before the first join we count, so that "server unreachable"
			// shows in seconds; after it, only our own reconnect cycles count (socketClosed).
			if (state.everJoined) return { state, effects: [] };
			const attempt = state.attempt + 1;
			if (attempt >= policy.maxInitialAttempts) return fail({ ...state, attempt }, 'server-unreachable');
			return { state: { ...state, attempt }, effects: [] };
		}

		case 'socketDisconnected':
			return lose(state, 'connection to the server lost', false, policy);

		case 'socketClosed':
			return lose(state, 'connection to the server closed', true, policy);

		case 'reconnectRequired':
			return lose(state, `server asked to reconnect (${event.reason})`, true, policy);

		case 'sessionReplaced':
			return fail(state, 'session-replaced');

		case 'sessionEnded':
			return fail(state, event.reason);

		case 'mediaFailed':
			if (state.phase !== 'joined') return { state, effects: [] };
			return lose(state, 'media connection failed', true, policy);

		case 'joined':
			return {
				state: { ...state, phase: 'joined', attempt: 0, everJoined: true, failure: undefined, lostBecause: undefined },
				effects: [],
			};

		case 'lobby':
			// Not yet in the room (everJoined stays false): a guest who loses the socket here waits again after rejoining.
			return { state: { ...state, phase: 'lobby', attempt: 0, failure: undefined, lostBecause: undefined }, effects: [] };

		case 'joinFailed':
			if (!event.retriable) return fail(state, event.reason);
			return lose(state, `join failed (${event.reason})`, true, policy);

		case 'retryDue':
			if (state.phase !== 'reconnecting' && state.phase !== 'connecting') return { state, effects: [] };
			if (state.socketOpen) return { state, effects: [] };
			return { state, effects: [{ type: 'openSocket' }] };
	}
}

// ---------------------------------------------------------------------------
// ICE recovery of one transport.
// ---------------------------------------------------------------------------

export type IcePhase = 'new' | 'connected' | 'waiting' | 'restarting' | 'gave-up';

export type IceRecoveryState = { phase: IcePhase; restarts: number };

export type IceEvent =
	| { type: 'connectionState'; state: 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed' }
	| { type: 'timer' }
	| { type: 'restartFailed' };

export type IceEffect =
	| { type: 'startTimer'; delayMs: number }
	| { type: 'cancelTimer' }
	| { type: 'restartIce' }
	/** Restarting ICE did not help: rebuild the session. */
	| { type: 'rebuild' };

export type IcePolicy = {
	/** How long `disconnected` may last before restarting ICE (it often recovers by itself). */
	disconnectedGraceMs: number;
	/** How long a restart may take to reach `connected`. */
	restartTimeoutMs: number;
	/** ICE restarts before rebuilding. */
	maxRestarts: number;
};

export const defaultIcePolicy: IcePolicy = { disconnectedGraceMs: 2000, restartTimeoutMs: 10_000, maxRestarts: 2 };

export const initialIceState: IceRecoveryState = { phase: 'new', restarts: 0 };

export function iceTransition(
	state: IceRecoveryState,
	event: IceEvent,
	policy: IcePolicy = defaultIcePolicy,
): { state: IceRecoveryState; effects: IceEffect[] } {
	if (state.phase === 'gave-up') return { state, effects: [] };
	const restart = (): { state: IceRecoveryState; effects: IceEffect[] } => {
		if (state.restarts >= policy.maxRestarts) {
			return { state: { ...state, phase: 'gave-up' }, effects: [{ type: 'cancelTimer' }, { type: 'rebuild' }] };
		}
		return {
			state: { phase: 'restarting', restarts: state.restarts + 1 },
			effects: [{ type: 'restartIce' }, { type: 'startTimer', delayMs: policy.restartTimeoutMs }],
		};
	};

	switch (event.type) {
		case 'connectionState':
			switch (event.state) {
				case 'connected':
					return { state: { phase: 'connected', restarts: 0 }, effects: [{ type: 'cancelTimer' }] };
				case 'disconnected':
					if (state.phase !== 'connected') return { state, effects: [] };
					return {
						state: { ...state, phase: 'waiting' },
						effects: [{ type: 'startTimer', delayMs: policy.disconnectedGraceMs }],
					};
				case 'failed':
					// While a restart is under way, its own timer decides.
					if (state.phase === 'restarting') return { state, effects: [] };
					return restart();
				case 'new':
				case 'connecting':
				case 'closed':
					return { state, effects: [] };
			}
			break;
		case 'timer':
			if (state.phase === 'waiting' || state.phase === 'restarting') return restart();
			return { state, effects: [] };
		case 'restartFailed':
			return { state: { ...state, phase: 'gave-up' }, effects: [{ type: 'cancelTimer' }, { type: 'rebuild' }] };
	}
	return { state, effects: [] };
}

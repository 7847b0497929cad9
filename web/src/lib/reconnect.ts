/**
 * Reconnection state machines, pure: the signalling session (WebSocket,
 * join or resume) and ICE recovery per transport. Session.ts and
 * MediaTransport.ts feed them events and carry out the effects they return;
 * timers and the random part of the back-off are inputs and effects too,
 * so every path can be tested without a clock or a socket.
 *
 * A dropped connection does not end the session: the server keeps our
 * peer (transports, producers, consumers) for the grace window of the
 * join's resume credential, and a new connection carrying that credential
 * takes it over (`resume`). Only when the server no longer has it (404),
 * or asked us to come back afresh (`reconnectRequired`), is the media torn
 * down and the room joined again.
 */

import type { ResumeCredential } from '../../../server/signalling/protocol.js';
import type { SessionEndKind, UserErrorKind } from './errors.js';

// ---------------------------------------------------------------------------
// Session: WebSocket + join or resume.
// ---------------------------------------------------------------------------

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
	/** Lost a working session; getting it back (resuming it while the server holds it, else joining again). */
	| 'reconnecting'
	/** The user left. */
	| 'left'
	/** Gave up; `failure` says why. */
	| 'failed';

export type SessionState = {
	phase: SessionPhase;
	/** Whether the WebSocket is open now. */
	socketOpen: boolean;
	/** Connection attempts since the session was last joined (or since start). */
	attempt: number;
	/** Whether this client was ever in the room (changes how a loss is shown). */
	everJoined: boolean;
	failure?: FailureReason | undefined;
	/** Why the last working session was lost, for the banner. */
	lostBecause?: string | undefined;
	/** The server holds the session for us: the next connection resumes it instead of joining. */
	resume?: ResumeCredential | undefined;
	/** While reconnecting with a session held: when the server stops holding it (ms since the epoch, by our clock). */
	graceEndsAt?: number | undefined;
};

/** How an open WebSocket went away: the server closed it, it dropped, or it fell silent (no answer to pings). */
export type SocketLossCause = 'closed' | 'dropped' | 'silent';

export type SessionEvent =
	| { type: 'start' }
	/** The WebSocket of the current attempt opened. */
	| { type: 'socketOpen' }
	/** The current attempt failed before the WebSocket opened. */
	| { type: 'socketFailed' }
	/** The open WebSocket is gone. `now`: when (ms since the epoch), for the grace window's countdown. */
	| { type: 'socketLost'; cause: SocketLossCause; now: number }
	/** The join was answered (or we were admitted from the lobby); `resume`: how the session survives a drop. */
	| { type: 'joined'; resume?: ResumeCredential | undefined }
	/** The join was answered with `lobby: true`. */
	| { type: 'lobby' }
	| { type: 'joinFailed'; reason: FailureReason; retriable: boolean }
	/** `resume` was answered and what the server holds is reconciled with what we have. */
	| { type: 'resumed'; resume?: ResumeCredential | undefined }
	/** `resume` answered 404: the session is gone (grace over, server restarted). Join afresh on this connection. */
	| { type: 'resumeRefused' }
	/** `resume` failed otherwise (timeout, server error): try again on a new connection, still resuming. */
	| { type: 'resumeFailed' }
	/** The server asked us to reconnect and join again (`reconnectRequired`: worker died, shutdown, draining). */
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
	/** A new WebSocket; with the resume token in its URL when the server holds our session. */
	| { type: 'openSocket'; resumeToken?: string | undefined }
	| { type: 'closeSocket' }
	/** Tell the server we leave for good (`leave`), so it closes the peer at once instead of holding it. */
	| { type: 'announceLeave' }
	/** The connection is gone but the server holds the media: keep it, stop recovering ICE until resumed. */
	| { type: 'suspendMedia' }
	/** Close transports, producers and consumers (their server side is gone). */
	| { type: 'teardownMedia' }
	| { type: 'join' }
	| { type: 'resume' }
	| { type: 'scheduleRetry'; delayMs: number }
	| { type: 'cancelRetry' };

export type SessionPolicy = {
	/** Reconnect back-off: attempt n waits a random time in [0, min(retryMaxMs, retryBaseMs·2^(n-1))) ("full jitter"). */
	retryBaseMs: number;
	retryMaxMs: number;
	/** Reconnection attempts after a loss before giving up: a few minutes with the back-off. */
	maxReconnectAttempts: number;
	/** Connection attempts in all before the very first join, before giving up ("server unreachable"). */
	maxInitialAttempts: number;
	/** An attempt whose WebSocket has not opened by then failed (a black-holed connect can hang for minutes). */
	connectTimeoutMs: number;
	/** Numbers in [0, 1): the jitter. */
	random: () => number;
};

/**
 * Windows of 0.5, 1, 2, 4, 6, 6… s: the expected waits of the first five
 * attempts add up to under 7 s, so several fit in the server's 20 s grace
 * window, and clients dropped together (a server restart) spread out
 * instead of coming back in the same millisecond.
 */
export const defaultSessionPolicy: SessionPolicy = {
	retryBaseMs: 500,
	retryMaxMs: 6000,
	maxReconnectAttempts: 60,
	maxInitialAttempts: 4,
	connectTimeoutMs: 5000,
	random: Math.random,
};

export const initialSessionState: SessionState = { phase: 'idle', socketOpen: false, attempt: 0, everJoined: false };

/** The ceiling of attempt n's random wait (n ≥ 1). */
export function retryWindow(attempt: number, policy: Pick<SessionPolicy, 'retryBaseMs' | 'retryMaxMs'> = defaultSessionPolicy): number {
	return Math.min(policy.retryBaseMs * 2 ** Math.max(attempt - 1, 0), policy.retryMaxMs);
}

/** Full jitter: uniformly in [0, window), whole milliseconds. */
export function retryDelay(attempt: number, policy: Pick<SessionPolicy, 'retryBaseMs' | 'retryMaxMs' | 'random'> = defaultSessionPolicy): number {
	const window = retryWindow(attempt, policy);
	return Math.min(Math.floor(policy.random() * window), Math.max(window - 1, 0));
}

type Transition = { state: SessionState; effects: SessionEffect[] };

const finished = (phase: SessionPhase) => phase === 'left' || phase === 'failed';
const reconnecting = (phase: SessionPhase) => phase === 'connecting' || phase === 'reconnecting';

function fail(state: SessionState, failure: FailureReason): Transition {
	return {
		state: { ...state, phase: 'failed', socketOpen: false, failure, resume: undefined, graceEndsAt: undefined },
		effects: [{ type: 'cancelRetry' }, { type: 'teardownMedia' }, { type: 'closeSocket' }],
	};
}

/**
 * The connection (or this attempt at one) is lost: try again after a
 * jittered pause, or give up. With the server holding our session the media
 * stays (suspended); without, it is torn down for a fresh join.
 */
function lose(state: SessionState, why: string, policy: SessionPolicy, now?: number): Transition {
	const attempt = state.attempt + 1;
	const over = state.everJoined ? attempt > policy.maxReconnectAttempts : attempt >= policy.maxInitialAttempts;
	if (over) return fail({ ...state, attempt }, state.everJoined ? 'media-failed' : 'server-unreachable');
	const held = state.resume !== undefined;
	// The countdown starts when a working session is lost, not at each failed attempt.
	const graceEndsAt = !held ? undefined : state.phase === 'joined' && now !== undefined ? now + state.resume!.graceMs : state.graceEndsAt;
	const next: SessionState = {
		...state,
		phase: state.everJoined ? 'reconnecting' : 'connecting',
		attempt,
		socketOpen: false,
		lostBecause: state.phase === 'joined' || state.lostBecause === undefined ? why : state.lostBecause,
		graceEndsAt,
	};
	return {
		state: next,
		effects: [{ type: held ? 'suspendMedia' : 'teardownMedia' }, { type: 'closeSocket' }, { type: 'scheduleRetry', delayMs: retryDelay(attempt, policy) }],
	};
}

const lossText: Record<SocketLossCause, string> = {
	closed: 'connection to the server closed',
	dropped: 'connection to the server lost',
	silent: 'the server stopped answering',
};

export function sessionTransition(state: SessionState, event: SessionEvent, policy: SessionPolicy = defaultSessionPolicy): Transition {
	if (event.type === 'leave') {
		if (finished(state.phase)) return { state, effects: [] };
		return {
			state: { ...state, phase: 'left', socketOpen: false, resume: undefined, graceEndsAt: undefined },
			effects: [{ type: 'cancelRetry' }, { type: 'announceLeave' }, { type: 'teardownMedia' }, { type: 'closeSocket' }],
		};
	}
	if (finished(state.phase)) return { state, effects: [] };

	switch (event.type) {
		case 'start':
			if (state.phase !== 'idle') return { state, effects: [] };
			return { state: { ...state, phase: 'connecting', attempt: 0 }, effects: [{ type: 'openSocket' }] };

		case 'socketOpen':
			if (!reconnecting(state.phase) || state.socketOpen) return { state, effects: [] };
			return { state: { ...state, socketOpen: true }, effects: [{ type: state.resume ? 'resume' : 'join' }] };

		case 'socketFailed':
			if (!reconnecting(state.phase)) return { state, effects: [] };
			return lose(state, 'cannot reach the server', policy);

		case 'socketLost':
			if (state.phase === 'idle') return { state, effects: [] };
			return lose(state, lossText[event.cause], policy, event.now);

		case 'reconnectRequired':
			// The server lost our media (worker died) or goes away: join afresh, wherever we land.
			return lose({ ...state, resume: undefined, graceEndsAt: undefined }, `server asked to reconnect (${event.reason})`, policy);

		case 'sessionReplaced':
			return fail(state, 'session-replaced');

		case 'sessionEnded':
			return fail(state, event.reason);

		case 'mediaFailed':
			if (state.phase !== 'joined') return { state, effects: [] };
			return lose({ ...state, resume: undefined, graceEndsAt: undefined }, 'media connection failed', policy);

		case 'joined':
		case 'resumed':
			if (!reconnecting(state.phase) && state.phase !== 'lobby') return { state, effects: [] };
			return {
				state: {
					...state,
					phase: 'joined',
					attempt: 0,
					everJoined: true,
					failure: undefined,
					lostBecause: undefined,
					graceEndsAt: undefined,
					resume: event.resume ?? (event.type === 'resumed' ? state.resume : undefined),
				},
				effects: [],
			};

		case 'lobby':
			// Not yet in the room (everJoined stays false): a guest who loses the socket here waits again after rejoining.
			return { state: { ...state, phase: 'lobby', attempt: 0, failure: undefined, lostBecause: undefined, resume: undefined }, effects: [] };

		case 'joinFailed':
			if (!event.retriable) return fail(state, event.reason);
			return lose(state, `join failed (${event.reason})`, policy);

		case 'resumeRefused':
			if (!reconnecting(state.phase) || !state.socketOpen) return { state, effects: [] };
			return { state: { ...state, resume: undefined, graceEndsAt: undefined }, effects: [{ type: 'teardownMedia' }, { type: 'join' }] };

		case 'resumeFailed':
			if (!reconnecting(state.phase)) return { state, effects: [] };
			return lose(state, 'resuming the session failed', policy);

		case 'retryDue':
			if (!reconnecting(state.phase) || state.socketOpen) return { state, effects: [] };
			return { state, effects: [{ type: 'openSocket', resumeToken: state.resume?.token }] };
	}
}

/** Seconds left of the grace window, for the banner: undefined when no session is held or the window is over. */
export function graceSecondsLeft(state: SessionState, now: number): number | undefined {
	if (state.phase !== 'reconnecting' || state.graceEndsAt === undefined) return undefined;
	const left = Math.ceil((state.graceEndsAt - now) / 1000);
	return left > 0 ? left : undefined;
}

// ---------------------------------------------------------------------------
// ICE recovery of one transport.
// ---------------------------------------------------------------------------

export type TransportConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** mediasoup's iceState of the server's side, as `resume` reports it. */
export type ServerIceState = 'new' | 'connected' | 'completed' | 'disconnected' | 'closed';

export type IcePhase =
	| 'new'
	| 'connected'
	/** `disconnected`: waiting a little before restarting. */
	| 'waiting'
	| 'restarting'
	/** No signalling (the connection dropped): nothing can be restarted until the session is resumed. */
	| 'suspended'
	| 'gave-up';

export type IceRecoveryState = {
	phase: IcePhase;
	restarts: number;
	/** The transport's last connectionState, also while suspended. */
	connection: TransportConnectionState;
};

export type IceEvent =
	| { type: 'connectionState'; state: TransportConnectionState }
	| { type: 'timer' }
	| { type: 'restartFailed' }
	/** The signalling connection is gone (the server may still hold the transport). */
	| { type: 'signallingLost' }
	/**
	 * The session was resumed; the server's side of this transport is in
	 * `serverIceState`. `pathLost`: the connection was lost by silence (a
	 * dead path, e.g. a new address), which the server cannot see.
	 */
	| { type: 'resumed'; serverIceState: ServerIceState; pathLost?: boolean }
	/** The browser says the network changed (back online, another interface). */
	| { type: 'networkChanged' };

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

export const initialIceState: IceRecoveryState = { phase: 'new', restarts: 0, connection: 'new' };

/**
 * After a resume: whether this transport's ICE must be restarted. It must
 * when the browser lost it (`disconnected`, `failed`), when it had started
 * and the server's side is not connected (consent expired while we were
 * away), or when the connection was lost by silence (`pathLost`): the path
 * itself may be dead (a new address), and neither side says so for seconds
 * (the server checks no consent; the browser waits ~6 s before
 * `disconnected`). A transport that never started (`new`) has nothing to
 * restart; restarting a healthy one costs a round trip, not the media.
 */
export function iceNeedsRestart(local: TransportConnectionState, server: ServerIceState, pathLost = false): boolean {
	if (local === 'new' || local === 'closed') return false;
	if (local === 'disconnected' || local === 'failed' || pathLost) return true;
	return server !== 'connected' && server !== 'completed';
}

export function iceTransition(
	state: IceRecoveryState,
	event: IceEvent,
	policy: IcePolicy = defaultIcePolicy,
): { state: IceRecoveryState; effects: IceEffect[] } {
	if (state.phase === 'gave-up') return { state, effects: [] };
	const restart = (from: IceRecoveryState = state): { state: IceRecoveryState; effects: IceEffect[] } => {
		if (from.restarts >= policy.maxRestarts) {
			return { state: { ...from, phase: 'gave-up' }, effects: [{ type: 'cancelTimer' }, { type: 'rebuild' }] };
		}
		return {
			state: { ...from, phase: 'restarting', restarts: from.restarts + 1 },
			effects: [{ type: 'restartIce' }, { type: 'startTimer', delayMs: policy.restartTimeoutMs }],
		};
	};

	switch (event.type) {
		case 'connectionState': {
			const seen: IceRecoveryState = { ...state, connection: event.state };
			// Nothing can be done without signalling; the resume looks at where the transport stands.
			if (state.phase === 'suspended') return { state: seen, effects: [] };
			switch (event.state) {
				case 'connected':
					return { state: { ...seen, phase: 'connected', restarts: 0 }, effects: [{ type: 'cancelTimer' }] };
				case 'disconnected':
					if (state.phase !== 'connected') return { state: seen, effects: [] };
					return { state: { ...seen, phase: 'waiting' }, effects: [{ type: 'startTimer', delayMs: policy.disconnectedGraceMs }] };
				case 'failed':
					// While a restart is under way, its own timer decides.
					if (state.phase === 'restarting') return { state: seen, effects: [] };
					return restart(seen);
				case 'new':
				case 'connecting':
				case 'closed':
					return { state: seen, effects: [] };
			}
			break;
		}
		case 'timer':
			if (state.phase === 'waiting' || state.phase === 'restarting') return restart();
			return { state, effects: [] };
		case 'restartFailed':
			return { state: { ...state, phase: 'gave-up' }, effects: [{ type: 'cancelTimer' }, { type: 'rebuild' }] };
		case 'signallingLost':
			return { state: { ...state, phase: 'suspended' }, effects: [{ type: 'cancelTimer' }] };
		case 'resumed': {
			if (iceNeedsRestart(state.connection, event.serverIceState, event.pathLost)) return restart();
			const phase: IcePhase = state.connection === 'connected' ? 'connected' : 'new';
			return { state: { ...state, phase, restarts: phase === 'connected' ? 0 : state.restarts }, effects: [] };
		}
		case 'networkChanged':
			// Already losing the path: do not wait out the grace period.
			if (state.phase === 'waiting') return restart();
			return { state, effects: [] };
	}
	return { state, effects: [] };
}

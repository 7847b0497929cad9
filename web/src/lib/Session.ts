/**
 * The session's lifecycle over the signalling connection: one WebSocket per
 * attempt (its URL carrying the resume token while the server holds our
 * session), liveness pings, reconnection with jittered back-off, and
 * `resume` or `join` once a socket is open. The state machine is
 * reconnect.ts's; this class carries out its effects. What the media does
 * at each step (join, reconcile a resume, suspend, tear down) is the
 * host's: RoomClient.
 */
import type { ResumeCredential, ResumeResponse } from '../../../server/signalling/protocol.js';
import { joinError } from './errors.js';
import type { UserError } from './errors.js';
import { checkLiveness, defaultLivenessPolicy, heard, startLiveness, suspect } from './liveness.js';
import type { LivenessPolicy, LivenessState } from './liveness.js';
import { defaultSessionPolicy, initialSessionState, sessionTransition } from './reconnect.js';
import type { SessionEffect, SessionEvent, SessionPolicy, SessionState, SocketLossCause } from './reconnect.js';
import { withResumeToken } from './settings.js';
import { Signalling, SignallingError } from './Signalling.js';
import type { ServerNotificationHandlers, ServerRequestHandlers } from './Signalling.js';
import { TypedEmitter } from './TypedEmitter.js';

/** The notifications the session itself handles; the host gets all the others. */
type SessionNotifications = 'reconnectRequired' | 'sessionReplaced' | 'sessionEnded';

export type JoinOutcome = { lobby: true } | { lobby: false; resume?: ResumeCredential | undefined };

export type SessionHost = {
	/** A fresh join on this connection: undefined when it went stale meanwhile. */
	join(signalling: Signalling): Promise<JoinOutcome | undefined>;
	/** The server gave the session back: reconcile what we have with what it holds (`lostBy`: how the last connection was lost). */
	resume(signalling: Signalling, response: ResumeResponse, lostBy: SocketLossCause | undefined): Promise<void>;
	/** The connection is gone and the server holds the media: keep it, recover nothing until resumed. */
	suspendMedia(): void;
	/** The media's server side is gone (or the user left). */
	teardownMedia(): void;
	/** The browser is online again, or on another network. */
	networkChanged(): void;
	notifications: Omit<ServerNotificationHandlers, SessionNotifications>;
	requests: ServerRequestHandlers;
};

export type SessionOptions = {
	/** wss://host:port/?roomId=…&token=…; `&resume=<token>` is added while a session is held. */
	url: string;
	host: SessionHost;
	policy?: SessionPolicy | undefined;
	liveness?: LivenessPolicy | undefined;
};

export type SessionEvents = {
	state: [SessionState];
	error: [UserError];
};

const ERROR_NOT_FOUND = 404;

export class Session extends TypedEmitter<SessionEvents> {
	readonly #url: string;
	readonly #host: SessionHost;
	readonly #policy: SessionPolicy;
	readonly #livenessPolicy: LivenessPolicy;
	#state: SessionState = initialSessionState;
	/** The current attempt's connection, open or opening. */
	#connection: Signalling | undefined;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	#connectTimer: ReturnType<typeof setTimeout> | undefined;
	#liveness: LivenessState | undefined;
	#livenessTimer: ReturnType<typeof setTimeout> | undefined;
	#windowListeners = false;

	constructor({ url, host, policy, liveness }: SessionOptions) {
		super();
		this.#url = url;
		this.#host = host;
		this.#policy = policy ?? defaultSessionPolicy;
		this.#livenessPolicy = liveness ?? defaultLivenessPolicy;
	}

	get state(): SessionState {
		return this.#state;
	}

	/** The open connection, while there is one: requests and notifications go there. */
	get signalling(): Signalling | undefined {
		return this.#state.socketOpen && this.#connection && !this.#connection.closed ? this.#connection : undefined;
	}

	start(): void {
		this.#listenToWindow(true);
		this.#dispatch({ type: 'start' });
	}

	/** For good: the server is told (`leave`), so the others see us go at once. */
	leave(): void {
		this.#dispatch({ type: 'leave' });
	}

	/** A host let us in from the lobby. */
	admitted(resume: ResumeCredential | undefined): void {
		if (this.#state.phase === 'lobby') this.#dispatch({ type: 'joined', resume });
	}

	/** ICE could not be restarted: rebuild everything. */
	mediaFailed(): void {
		this.#dispatch({ type: 'mediaFailed' });
	}

	/**
	 * The media says the path is in trouble (ICE `disconnected`), or the
	 * network changed: ping now, and if the server does not answer soon the
	 * connection is dead (a new one, from wherever we are now, resumes).
	 */
	suspectConnection(): void {
		const connection = this.signalling;
		if (!connection || !this.#liveness) return;
		const { state, ping } = suspect(this.#liveness, Date.now());
		this.#liveness = state;
		if (!ping) return;
		connection.request('ping', {}).catch(() => undefined);
		this.#scheduleCheck(checkLiveness(state, Date.now(), this.#livenessPolicy).nextCheckInMs ?? 0);
	}

	// -------------------------------------------------------------------------

	/** How the last connection was lost, for the resume (a silent loss may mean a dead media path). */
	#lostBy: SocketLossCause | undefined;

	#dispatch(event: SessionEvent): void {
		if (event.type === 'socketLost') this.#lostBy = event.cause;
		const { state, effects } = sessionTransition(this.#state, event, this.#policy);
		const changed = state !== this.#state;
		this.#state = state;
		for (const effect of effects) this.#run(effect);
		if (state.phase === 'left' || state.phase === 'failed') this.#listenToWindow(false);
		if (changed) this.emit('state', state);
	}

	#run(effect: SessionEffect): void {
		switch (effect.type) {
			case 'openSocket':
				this.#open(effect.resumeToken);
				break;
			case 'closeSocket':
				clearTimeout(this.#connectTimer);
				this.#stopLiveness();
				this.#connection?.close();
				this.#connection = undefined;
				break;
			case 'announceLeave':
				this.#connection?.notify('leave', {});
				break;
			case 'suspendMedia':
				this.#host.suspendMedia();
				break;
			case 'teardownMedia':
				this.#host.teardownMedia();
				break;
			case 'join':
				this.#join();
				break;
			case 'resume':
				this.#resume();
				break;
			case 'scheduleRetry':
				clearTimeout(this.#retryTimer);
				this.#retryTimer = setTimeout(() => this.#dispatch({ type: 'retryDue' }), effect.delayMs);
				break;
			case 'cancelRetry':
				clearTimeout(this.#retryTimer);
				this.#retryTimer = undefined;
				break;
		}
	}

	#open(resumeToken: string | undefined): void {
		this.#connection?.close();
		const url = resumeToken ? withResumeToken(this.#url, resumeToken) : this.#url;
		const current = () => connection === this.#connection;
		const connection: Signalling = new Signalling(
			url,
			{
				open: () => {
					if (!current()) return;
					clearTimeout(this.#connectTimer);
					this.#startLiveness();
					this.#dispatch({ type: 'socketOpen' });
				},
				failed: () => {
					if (current()) this.#dispatch({ type: 'socketFailed' });
				},
				lost: (cause) => {
					if (current()) this.#dispatch({ type: 'socketLost', cause, now: Date.now() });
				},
				heard: () => {
					if (current() && this.#liveness) this.#liveness = heard(this.#liveness, Date.now());
				},
			},
			{
				...this.#host.notifications,
				reconnectRequired: ({ reason }) => this.#dispatch({ type: 'reconnectRequired', reason }),
				sessionReplaced: () => this.#dispatch({ type: 'sessionReplaced' }),
				sessionEnded: ({ reason }) => this.#dispatch({ type: 'sessionEnded', reason }),
			},
			this.#host.requests,
		);
		this.#connection = connection;
		clearTimeout(this.#connectTimer);
		this.#connectTimer = setTimeout(() => {
			if (!current() || this.#state.socketOpen) return;
			console.warn(`the WebSocket did not open within ${this.#policy.connectTimeoutMs} ms`);
			connection.close();
			this.#dispatch({ type: 'socketFailed' });
		}, this.#policy.connectTimeoutMs);
	}

	/** Whether work begun on `connection` still counts: it is the current one and open. */
	#live(connection: Signalling): boolean {
		return connection === this.#connection && this.#state.socketOpen && !connection.closed;
	}

	#join(): void {
		const connection = this.#connection;
		if (!connection) return;
		this.#host.join(connection).then(
			(outcome) => {
				if (!outcome || !this.#live(connection)) return;
				this.#dispatch(outcome.lobby ? { type: 'lobby' } : { type: 'joined', resume: outcome.resume });
			},
			(error: unknown) => {
				if (!this.#live(connection)) return;
				const { error: shown, retriable } = joinError(error);
				console.warn('join failed', error);
				// With the server's reason ("the room is locked"); the failed session shows no second one.
				this.emit('error', shown);
				this.#dispatch({ type: 'joinFailed', reason: shown.kind, retriable });
			},
		);
	}

	#resume(): void {
		const connection = this.#connection;
		if (!connection) return;
		const started = performance.now();
		connection.request('resume', {}).then(
			async (response) => {
				if (!this.#live(connection)) return;
				try {
					await this.#host.resume(connection, response, this.#lostBy);
				} catch (error) {
					// Our side could not be put right: the session is the server's again, but rebuild it.
					console.error('reconciling the resumed session failed', error);
					if (!this.#live(connection)) return;
					this.#dispatch({ type: 'resumed', resume: response.resume });
					this.#dispatch({ type: 'mediaFailed' });
					return;
				}
				if (!this.#live(connection)) return;
				console.info(`session resumed in ${Math.round(performance.now() - started)} ms`);
				this.#dispatch({ type: 'resumed', resume: response.resume });
			},
			(error: unknown) => {
				if (!this.#live(connection)) return;
				if (error instanceof SignallingError && error.code === ERROR_NOT_FOUND) {
					console.info('the server no longer holds the session: joining afresh');
					this.#dispatch({ type: 'resumeRefused' });
				} else {
					console.warn('resume failed', error);
					this.#dispatch({ type: 'resumeFailed' });
				}
			},
		);
	}

	// -------------------------------------------------------------------------
	// Liveness: pings while connected; silence means the connection is dead.
	// -------------------------------------------------------------------------

	#startLiveness(): void {
		this.#stopLiveness();
		this.#liveness = startLiveness(Date.now());
		this.#scheduleCheck(this.#livenessPolicy.pingIntervalMs);
	}

	#stopLiveness(): void {
		clearTimeout(this.#livenessTimer);
		this.#livenessTimer = undefined;
		this.#liveness = undefined;
	}

	#scheduleCheck(delayMs: number): void {
		clearTimeout(this.#livenessTimer);
		this.#livenessTimer = setTimeout(() => this.#checkLiveness(), delayMs);
	}

	#checkLiveness(): void {
		const connection = this.#connection;
		if (!this.#liveness || !connection) return;
		const result = checkLiveness(this.#liveness, Date.now(), this.#livenessPolicy);
		this.#liveness = result.state;
		if (result.dead) {
			console.warn('the server has been silent too long: the connection is taken for dead');
			this.#dispatch({ type: 'socketLost', cause: 'silent', now: Date.now() });
			return;
		}
		// Its answer is heard like any other message; a lost one is the silence itself.
		if (result.ping) connection.request('ping', {}).catch(() => undefined);
		if (result.nextCheckInMs !== undefined) this.#scheduleCheck(result.nextCheckInMs);
	}

	// -------------------------------------------------------------------------
	// The page: leaving it says `leave`; the network coming back is a hint.
	// -------------------------------------------------------------------------

	readonly #onPageHide = (): void => this.leave();

	readonly #onOnline = (): void => {
		this.#host.networkChanged();
		// Is the socket still alive on the new network? Ask now rather than at the next ping.
		this.suspectConnection();
		// Waiting out a back-off while offline: the network is back, try now.
		if (!this.#state.socketOpen) this.#dispatch({ type: 'retryDue' });
	};

	#listenToWindow(on: boolean): void {
		if (typeof window === 'undefined' || on === this.#windowListeners) return;
		this.#windowListeners = on;
		if (on) {
			window.addEventListener('pagehide', this.#onPageHide);
			window.addEventListener('online', this.#onOnline);
		} else {
			window.removeEventListener('pagehide', this.#onPageHide);
			window.removeEventListener('online', this.#onOnline);
		}
	}
}

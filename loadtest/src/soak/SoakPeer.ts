/**
 * One meeting participant of the soak run, as the web client behaves over
 * protoo: an open-mode token, getRouterRtpCapabilities, a send and a receive
 * WebRtcTransport, join with rtpCapabilities, a microphone producer (Chrome's
 * Opus RTP parameters), every `newConsumer` accepted, `ping` every 2.5 s.
 * Node has no WebRTC stack here: the transports never connect ICE/DTLS, so no
 * media flows to or from this peer; the server still holds every object.
 *
 * It can leave (`leave`), drop (close the socket without it) and resume with
 * its resume token, and it rebuilds its media on `mediaReset`. Its operations
 * run one after another; each request is bounded in time.
 */
import type { types as ms } from 'mediasoup';
import type { HttpApi, ResumeResponse } from '../../../server/signalling/protocol.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';
import type { LatencySamples } from '../stats/percentiles.js';
import type { SoakCounters } from './counters.js';
import type { ErrorTally } from './ErrorTally.js';
import { ProtooConnection, RequestFailure, type ServerNotification } from './ProtooConnection.js';

export type BrowserRtp = { rtpCapabilities: ms.RtpCapabilities; opus: ms.RtpParameters };

export type PeerContext = {
	wsUrl: string;
	api: HttpApiClient;
	rtp: BrowserRtp;
	counters: SoakCounters;
	errors: ErrorTally;
	latency: LatencySamples;
	requestTimeoutMs: number;
	pingEveryMs: number;
	/** Worker kills at or after this time (performance.now()). */
	killsSince: (at: number) => number;
};

/** What the room learns from its peers' notifications. */
export type RoomHooks = {
	peerClosed: (peerId: string) => void;
	/** The server closed this peer's connection while it was in session. */
	lost: (peer: SoakPeer) => void;
};

export type PeerState = 'connecting' | 'joined' | 'away' | 'left' | 'lost';

export type ResumeOutcome = 'ok' | 'after-media-reset' | 'not-found' | 'mismatched' | 'error';

type Token = HttpApi['openModeToken']['response'];

export class SoakPeer {
	state: PeerState = 'connecting';
	/** Held by a churn event. */
	busy = false;
	/** Incremented on every `mediaReset`: a request that fails across one is not an error. */
	mediaEpoch = 0;
	joinedAt: number | undefined;
	droppedAt: number | undefined;
	/** When the last rebuild after a `mediaReset` finished. */
	rebuiltAt: number | undefined;
	private connection: ProtooConnection | undefined;
	private joined = false;
	private sendTransportId: string | undefined;
	private recvTransportId: string | undefined;
	private micProducerId: string | undefined;
	private resumeToken: string | undefined;
	private queue: Promise<void> = Promise.resolve();
	private pingTimer: NodeJS.Timeout | undefined;
	private pingInFlight = false;
	/** The last notification that announces a close by the server (reconnectRequired, sessionEnded, sessionReplaced). */
	private closeNotice: string | undefined;

	private constructor(
		private readonly context: PeerContext,
		private readonly hooks: RoomHooks,
		readonly roomId: string,
		private readonly token: Token,
		readonly displayName: string,
	) {}

	get id(): string {
		return this.token.identity;
	}

	/** The producer ids the server should hold for this peer. */
	get producerIds(): string[] {
		return this.micProducerId ? [this.micProducerId] : [];
	}

	get hasMedia(): boolean {
		return this.sendTransportId !== undefined && this.recvTransportId !== undefined && this.micProducerId !== undefined;
	}

	/** Token, connection, transports, join, microphone. Rejects (after recording why) when the join fails. */
	static async join(context: PeerContext, hooks: RoomHooks, roomId: string, displayName: string): Promise<SoakPeer> {
		const started = performance.now();
		const body: HttpApi['openModeToken']['body'] = { roomId, role: 'participant', displayName };
		let token: Token;
		try {
			token = await context.api.request<Token>('POST', '/api/token', 'POST token', body);
		} catch (error) {
			context.counters.joinFailures++;
			context.errors.record('token', error);
			throw error;
		}
		const peer = new SoakPeer(context, hooks, roomId, token, displayName);
		try {
			await peer.connect();
			try {
				await peer.enqueue(() => peer.ensureMedia());
			} catch (error) {
				// Its worker died during the join: the rebuild queued by mediaReset finishes it.
				if (peer.mediaEpoch === 0) throw error;
				context.counters.requestsLostToMediaReset++;
				await peer.enqueue(() => peer.ensureMedia());
			}
		} catch (error) {
			context.counters.joinFailures++;
			context.errors.record('join', error);
			peer.shutDown(true);
			throw error;
		}
		if (!peer.hasMedia || !peer.joined) {
			context.counters.joinFailures++;
			peer.shutDown(true);
			throw new Error(`peer ${peer.id} did not get its media (lost to a media reset twice?)`);
		}
		peer.state = 'joined';
		peer.joinedAt = performance.now();
		context.counters.joins++;
		context.latency.add('join (token → microphone produced)', peer.joinedAt - started);
		return peer;
	}

	/** Leaves for good: `leave`, then the socket closes. */
	leave(): void {
		this.context.counters.leaves++;
		this.shutDown(true);
		this.state = 'left';
	}

	/** Closes the socket without `leave`: the server keeps the session for its grace window. */
	drop(): void {
		this.context.counters.drops++;
		this.shutDown(false);
		this.state = 'away';
		this.droppedAt = performance.now();
	}

	/** A new connection with the resume token takes the session back; on `404`, joins afresh on it. */
	resume(): Promise<ResumeOutcome> {
		return new Promise((resolve) => {
			void this.enqueue(async () => resolve(await this.resumeNow()));
		});
	}

	/** Closes whatever is open (end of the run). */
	close(): void {
		if (this.state === 'joined' || this.state === 'connecting') this.leave();
		else this.shutDown(false);
	}

	private async resumeNow(): Promise<ResumeOutcome> {
		const { counters, latency } = this.context;
		counters.resumes.attempted++;
		this.state = 'connecting';
		const started = performance.now();
		const had = { transports: [this.sendTransportId, this.recvTransportId].filter((id): id is string => id !== undefined).sort(), producers: [...this.producerIds].sort() };
		const droppedAt = this.droppedAt ?? started;
		let outcome: ResumeOutcome | undefined;
		try {
			await this.connect(this.resumeToken);
			let response: ResumeResponse | undefined;
			try {
				response = await this.connection!.request('resume', {});
			} catch (error) {
				if (!(error instanceof RequestFailure) || error.code !== 404) throw error;
			}
			if (!response) {
				// Inside the grace window a resume must find its session.
				counters.resumes.failed++;
				counters.resumes.notFound++;
				outcome = 'not-found';
				this.context.errors.record('resume', `404 (no session) after ${Math.round(started - droppedAt)} ms away`);
				this.forgetSession();
			} else {
				outcome = this.takeBack(response, had, droppedAt);
			}
			const epoch = this.mediaEpoch;
			try {
				await this.ensureMedia();
			} catch (error) {
				this.failed('resume: rebuild', error, epoch);
			}
			if (!this.joined) throw new Error('not in session after the resume');
			this.state = 'joined';
			latency.add('resume (connect → session back)', performance.now() - started);
			return outcome;
		} catch (error) {
			if (outcome === undefined) counters.resumes.failed++;
			this.failed('resume', error, -1);
			this.shutDown(false);
			this.state = 'lost';
			return 'error';
		}
	}

	/** Compares what the server held with what this peer had, and takes the server's word. */
	private takeBack(response: ResumeResponse, had: { transports: string[]; producers: string[] }, droppedAt: number): ResumeOutcome {
		const { counters } = this.context;
		const transports = response.transports.map((transport) => transport.id).sort();
		const producers = response.producers.map((producer) => producer.id).sort();
		const same = JSON.stringify(transports) === JSON.stringify(had.transports) && JSON.stringify(producers) === JSON.stringify(had.producers);
		this.sendTransportId = response.transports.find((transport) => transport.direction === 'send')?.id;
		this.recvTransportId = response.transports.find((transport) => transport.direction === 'recv')?.id;
		this.micProducerId = response.producers.find((producer) => producer.kind === 'audio')?.id;
		if (response.resume) this.resumeToken = response.resume.token;
		if (same) {
			counters.resumes.ok++;
			return 'ok';
		}
		if (transports.length === 0 && producers.length === 0 && this.context.killsSince(droppedAt) > 0) {
			// Its worker died while it was away: the session is back, its media is to be rebuilt.
			counters.resumes.ok++;
			counters.resumes.afterMediaReset++;
			return 'after-media-reset';
		}
		counters.resumes.failed++;
		counters.resumes.mismatched++;
		this.context.errors.record('resume', `the session came back with transports [${transports.length}] and producers [${producers.length}], not the ${had.transports.length} and ${had.producers.length} it had`);
		return 'mismatched';
	}

	private forgetSession(): void {
		this.joined = false;
		this.sendTransportId = undefined;
		this.recvTransportId = undefined;
		this.micProducerId = undefined;
	}

	private connect(resumeToken?: string): Promise<void> {
		const query: Record<string, string> = { roomId: this.roomId, token: this.token.token };
		if (resumeToken) query.resume = resumeToken;
		return ProtooConnection.open(this.context.wsUrl, query, {
			onNotification: (notification) => this.onNotification(notification),
			onRequest: (request) => {
				if (request.method === 'newConsumer') this.context.counters.consumersAccepted++;
				return true;
			},
			onLost: () => this.onLost(),
		}, { timeoutMs: this.context.requestTimeoutMs, requestTimeoutMs: this.context.requestTimeoutMs }).then((connection) => {
			this.connection = connection;
			this.startPinging(connection);
		});
	}

	/** Whatever of the session is missing, in the web client's order: transports, join, microphone. */
	private async ensureMedia(): Promise<void> {
		const connection = this.connection;
		if (!connection || connection.closed) throw new Error('no connection');
		if (!this.joined) await connection.request('getRouterRtpCapabilities', {});
		if (!this.sendTransportId) this.sendTransportId = (await connection.request('createWebRtcTransport', { producing: true, consuming: false })).id;
		if (!this.recvTransportId) this.recvTransportId = (await connection.request('createWebRtcTransport', { producing: false, consuming: true })).id;
		if (!this.joined) {
			const joined = await connection.request('join', { displayName: this.displayName, device: { name: 'loadtest-soak', flag: 'node' }, rtpCapabilities: this.context.rtp.rtpCapabilities });
			this.joined = true;
			this.resumeToken = joined.resume?.token;
			if (!this.resumeToken) throw new Error('the join response has no resume credential (rooms.resumeGraceMs 0?)');
		}
		if (!this.micProducerId) {
			const transportId = this.sendTransportId;
			const { id } = await connection.request('produce', { transportId, kind: 'audio', rtpParameters: { ...structuredClone(this.context.rtp.opus), mid: '0' }, appData: { source: 'mic' } });
			// A reset meanwhile closed that transport and this producer with it.
			if (this.sendTransportId === transportId) this.micProducerId = id;
		}
	}

	private onNotification(notification: ServerNotification): void {
		const { counters } = this.context;
		counters.notifications[notification.method] = (counters.notifications[notification.method] ?? 0) + 1;
		switch (notification.method) {
			case 'mediaReset':
				this.onMediaReset();
				break;
			case 'peerClosed':
				this.hooks.peerClosed(notification.data.peerId);
				break;
			case 'reconnectRequired':
			case 'sessionEnded':
				this.closeNotice = `${notification.method} ${notification.data.reason}`;
				this.context.errors.record('notification', this.closeNotice);
				break;
			case 'sessionReplaced':
				this.closeNotice = 'sessionReplaced';
				this.context.errors.record('notification', this.closeNotice);
				break;
			default:
				break;
		}
	}

	/** The worker died: transports, producer and consumers are gone; build them again. */
	private onMediaReset(): void {
		const { counters, latency } = this.context;
		counters.mediaResets++;
		this.mediaEpoch++;
		const resetAt = performance.now();
		this.sendTransportId = undefined;
		this.recvTransportId = undefined;
		this.micProducerId = undefined;
		void this.enqueue(async () => {
			if (this.state !== 'joined' && this.state !== 'connecting') return;
			if (this.hasMedia) return;
			const epoch = this.mediaEpoch;
			try {
				await this.ensureMedia();
				counters.rebuilds++;
				this.rebuiltAt = performance.now();
				latency.add('rebuild after mediaReset', this.rebuiltAt - resetAt);
			} catch (error) {
				if (this.state === 'joined' && epoch === this.mediaEpoch) counters.rebuildFailures++;
				this.failed('rebuild', error, epoch);
			}
		});
	}

	private onLost(): void {
		this.stopPinging();
		this.connection = undefined;
		if (this.state !== 'joined' && this.state !== 'connecting') return;
		this.context.counters.unexpectedCloses++;
		this.context.errors.record('connection', this.closeNotice ? `closed by the server after ${this.closeNotice}` : 'closed by the server while in session, without reconnectRequired, sessionEnded or sessionReplaced first');
		this.state = 'lost';
		this.hooks.lost(this);
	}

	/** Records an error unless it is a consequence of something already counted: a drop, leave or lost connection, or a media reset (counted apart). */
	private failed(where: string, error: unknown, epoch: number): void {
		// After a drop or leave of its own, or a connection the server closed (recorded once, as such), a failure is a consequence.
		if (this.state === 'away' || this.state === 'left' || this.state === 'lost') return;
		if (epoch >= 0 && epoch !== this.mediaEpoch) {
			this.context.counters.requestsLostToMediaReset++;
			return;
		}
		this.context.errors.record(where, error);
	}

	private startPinging(connection: ProtooConnection): void {
		this.stopPinging();
		this.pingTimer = setInterval(() => {
			if (this.pingInFlight || connection.closed) return;
			this.pingInFlight = true;
			const started = performance.now();
			connection
				.request('ping', {})
				.then(() => {
					this.context.counters.pings++;
					this.context.latency.add('ping', performance.now() - started);
				})
				.catch((error: unknown) => {
					if (this.connection === connection && !connection.closed) this.context.errors.record('ping', error);
				})
				.finally(() => (this.pingInFlight = false));
		}, this.context.pingEveryMs);
	}

	private stopPinging(): void {
		clearInterval(this.pingTimer);
		this.pingTimer = undefined;
	}

	private shutDown(leave: boolean): void {
		this.stopPinging();
		this.connection?.close({ leave });
		this.connection = undefined;
	}

	/** Runs `operation` after the ones before it. */
	private enqueue(operation: () => Promise<void>): Promise<void> {
		const next = this.queue.then(operation);
		this.queue = next.catch(() => undefined);
		return next;
	}
}

/**
 * One audience member's signalling: a protoo session opened with a viewer
 * join token (from `POST /api/token` on an open-mode server), timed from the
 * start of the WebSocket connection to the join response. It keeps the
 * `newConsumer` requests the server sends (a WebRTC viewer needs their RTP
 * parameters) and counts `audienceChanged` notifications.
 */
import { createRequire } from 'node:module';
import type { HttpApi, JoinRequest, NewConsumerData, RequestData, RequestMethod, ResponseData } from '../../../server/signalling/protocol.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';

type ProtooRequest = { method: string; data?: unknown };
type ProtooPeerLike = {
	readonly closed: boolean;
	close(): void;
	request(method: string, data?: unknown): Promise<unknown>;
	notify(method: string, data?: unknown): Promise<void>;
	on(event: 'open' | 'close', listener: () => void): unknown;
	on(event: 'failed', listener: (attempt: number) => void): unknown;
	on(event: 'request', listener: (request: ProtooRequest, accept: (data?: unknown) => void, reject: (code: number, reason?: string) => void) => void): unknown;
	on(event: 'notification', listener: (notification: ProtooRequest) => void): unknown;
};
type ProtooClientModule = {
	WebSocketTransport: new (url: string, options?: { retry?: { retries: number }; clientConfig?: Record<string, unknown> }) => unknown;
	Peer: new (transport: unknown) => ProtooPeerLike;
};

const protooClient = createRequire(import.meta.url)('protoo-client') as ProtooClientModule;

export type ViewerToken = HttpApi['openModeToken']['response'];

/** Asks an open-mode server for a viewer token (what the web client does for `?role=viewer`). */
export function viewerToken(api: HttpApiClient, roomId: string, displayName: string): Promise<ViewerToken> {
	const body: HttpApi['openModeToken']['body'] = { roomId, role: 'viewer', displayName };
	return api.request('POST', '/api/token', 'POST token', body);
}

export type JoinTiming = {
	/** WebSocket connect started → protoo open (TLS + upgrade + token check). */
	connectMs: number;
	/** WebSocket connect started → join response. */
	joinMs: number;
	/** performance.now() when the join response arrived. */
	joinedAt: number;
};

export class ViewerConnection {
	readonly consumers: NewConsumerData[] = [];
	audienceNotifications = 0;
	lastAudienceCount: number | undefined;
	/** Notifications a viewer should never get (newPeer: the audience is not announced to itself). */
	newPeerNotifications = 0;
	private consumerWaiters: (() => void)[] = [];

	private constructor(
		private readonly peer: ProtooPeerLike,
		readonly identity: string,
		private readonly startedAt: number,
		readonly connectMs: number,
	) {
		peer.on('request', (request, accept) => {
			if (request.method === 'newConsumer') {
				this.consumers.push(request.data as NewConsumerData);
				for (const wake of this.consumerWaiters.splice(0)) wake();
			}
			accept({});
		});
		peer.on('notification', (notification) => {
			if (notification.method === 'audienceChanged') {
				this.audienceNotifications++;
				this.lastAudienceCount = (notification.data as { count: number }).count;
			} else if (notification.method === 'newPeer') {
				this.newPeerNotifications++;
			}
		});
	}

	/** Opens `wss://…/?roomId&token`; rejects after `timeoutMs`. */
	static connect(wsUrl: string, roomId: string, token: ViewerToken, timeoutMs = 10_000): Promise<ViewerConnection> {
		const url = `${wsUrl}/?roomId=${encodeURIComponent(roomId)}&token=${encodeURIComponent(token.token)}`;
		const transport = new protooClient.WebSocketTransport(url, { retry: { retries: 0 }, clientConfig: { tlsOptions: { rejectUnauthorized: false } } });
		const peer = new protooClient.Peer(transport);
		const started = performance.now();
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				peer.close();
				reject(new Error(`viewer ${token.identity}: protoo connection did not open within ${timeoutMs} ms`));
			}, timeoutMs);
			peer.on('open', () => {
				clearTimeout(timer);
				resolve(new ViewerConnection(peer, token.identity, started, performance.now() - started));
			});
			peer.on('failed', () => {
				clearTimeout(timer);
				peer.close();
				reject(new Error(`viewer ${token.identity}: protoo connection failed`));
			});
		});
	}

	request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		return this.peer.request(method, data ?? {}) as Promise<ResponseData<M>>;
	}

	/** Sends `join` and times it from the start of the connection. */
	async join(data: JoinRequest): Promise<{ response: ResponseData<'join'>; timing: JoinTiming }> {
		const response = await this.request('join', data);
		const joinedAt = performance.now();
		return { response, timing: { connectMs: this.connectMs, joinMs: joinedAt - this.startedAt, joinedAt } };
	}

	/** Resolves once the server has offered `count` consumers (bounded by `timeoutMs`). */
	async waitForConsumers(count: number, timeoutMs: number): Promise<NewConsumerData[]> {
		const deadline = performance.now() + timeoutMs;
		while (this.consumers.length < count) {
			const left = deadline - performance.now();
			if (left <= 0) throw new Error(`viewer ${this.identity}: ${this.consumers.length} of ${count} consumers offered within ${timeoutMs} ms`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.consumerWaiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
		return this.consumers.slice(0, count);
	}

	get closed(): boolean {
		return this.peer.closed;
	}

	/** Leaves (so the server closes the session at once, with no resume window), then closes the socket. */
	close(): void {
		if (!this.peer.closed) this.peer.notify('leave', {}).catch(() => undefined);
		this.peer.close();
	}
}

/**
 * One protoo WebSocket of a soak participant, typed from the protocol. Every
 * request is bounded in time; a connection that the server closes is closed
 * for good here (protoo-client would otherwise reconnect by itself, with the
 * original URL, which the server would take for a second session).
 */
import { createRequire } from 'node:module';
import type { NotificationMethod, NotificationsFromServer, RequestData, RequestMethod, RequestsFromServer, ResponseData } from '../../../server/signalling/protocol.js';

type ProtooMessage = { method: string; data?: unknown };
type ProtooPeerLike = {
	readonly closed: boolean;
	close(): void;
	request(method: string, data?: unknown): Promise<unknown>;
	notify(method: string, data?: unknown): Promise<void>;
	on(event: 'open' | 'close' | 'disconnected', listener: () => void): unknown;
	on(event: 'failed', listener: (attempt: number) => void): unknown;
	on(event: 'request', listener: (request: ProtooMessage, accept: (data?: unknown) => void, reject: (code: number, reason?: string) => void) => void): unknown;
	on(event: 'notification', listener: (notification: ProtooMessage) => void): unknown;
};
type ProtooClientModule = {
	WebSocketTransport: new (url: string, options?: { retry?: { retries: number }; clientConfig?: Record<string, unknown> }) => unknown;
	Peer: new (transport: unknown) => ProtooPeerLike;
};

const protooClient = createRequire(import.meta.url)('protoo-client') as ProtooClientModule;

export type ServerNotification = { [M in NotificationMethod]: { method: M; data: NotificationsFromServer[M] } }[NotificationMethod];
export type ServerRequest = { [M in keyof RequestsFromServer]: { method: M; data: RequestsFromServer[M]['data'] } }[keyof RequestsFromServer];

/** A request that got a protoo error response (`code`), timed out or lost its connection (no code). */
export class RequestFailure extends Error {
	constructor(
		readonly method: string,
		message: string,
		readonly code?: number,
	) {
		super(`${method}: ${message}${code !== undefined ? ` (${code})` : ''}`);
		this.name = 'RequestFailure';
	}
}

export type ConnectionHandlers = {
	onNotification: (notification: ServerNotification) => void;
	/** Answer true to accept the server's request (newConsumer…), false to refuse it. */
	onRequest: (request: ServerRequest) => boolean;
	/** The connection ended without close() from this side. */
	onLost: () => void;
};

export class ProtooConnection {
	private closedByUs = false;
	private lost = false;

	private constructor(
		private readonly peer: ProtooPeerLike,
		private readonly requestTimeoutMs: number,
	) {}

	/** Opens `wss://…/?query`; rejects after `timeoutMs` or when the upgrade is refused. */
	static open(wsUrl: string, query: Record<string, string>, handlers: ConnectionHandlers, options: { timeoutMs: number; requestTimeoutMs: number }): Promise<ProtooConnection> {
		const url = `${wsUrl}/?${new URLSearchParams(query).toString()}`;
		const transport = new protooClient.WebSocketTransport(url, { retry: { retries: 0 }, clientConfig: { tlsOptions: { rejectUnauthorized: false } } });
		const peer = new protooClient.Peer(transport);
		const connection = new ProtooConnection(peer, options.requestTimeoutMs);
		peer.on('notification', (notification) => handlers.onNotification(notification as ServerNotification));
		peer.on('request', (request, accept, reject) => {
			if (handlers.onRequest(request as ServerRequest)) accept({});
			else reject(403, 'refused by the soak client');
		});
		const lost = (): void => {
			if (connection.closedByUs || connection.lost) return;
			connection.lost = true;
			// Synchronously: protoo-client checks right after 'disconnected' whether to reconnect.
			peer.close();
			handlers.onLost();
		};
		return new Promise((resolve, reject) => {
			let opened = false;
			const timer = setTimeout(() => {
				connection.closedByUs = true;
				peer.close();
				reject(new Error(`protoo connection did not open within ${options.timeoutMs} ms`));
			}, options.timeoutMs);
			peer.on('open', () => {
				opened = true;
				clearTimeout(timer);
				resolve(connection);
			});
			peer.on('failed', () => {
				clearTimeout(timer);
				connection.closedByUs = true;
				peer.close();
				reject(new Error('protoo connection failed (upgrade refused or no server)'));
			});
			peer.on('disconnected', () => (opened ? lost() : undefined));
			peer.on('close', () => {
				if (!opened) {
					clearTimeout(timer);
					reject(new Error('protoo connection closed before it opened'));
					return;
				}
				lost();
			});
		});
	}

	get closed(): boolean {
		return this.peer.closed;
	}

	async request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new RequestFailure(method, `no response within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
		});
		try {
			return (await Promise.race([this.peer.request(method, data ?? {}), timeout])) as ResponseData<M>;
		} catch (error) {
			if (error instanceof RequestFailure) throw error;
			const { message, code } = error as Error & { code?: unknown };
			throw new RequestFailure(method, message, typeof code === 'number' ? code : undefined);
		} finally {
			clearTimeout(timer);
		}
	}

	/** Closes the WebSocket, after the `leave` notification when `leave` (otherwise the server sees a dropped connection). */
	close({ leave }: { leave: boolean }): void {
		if (this.closedByUs) return;
		this.closedByUs = true;
		if (leave && !this.peer.closed) this.peer.notify('leave', {}).catch(() => undefined);
		this.peer.close();
	}
}

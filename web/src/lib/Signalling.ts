/**
 * The protoo connection, typed by the protocol module: requests, peer
 * notifications, and dispatch of the server's requests and notifications to
 * handlers that must cover every method. Only RoomClient uses it.
 */
import { Peer, WebSocketTransport } from 'protoo-client';
import type { ProtooNotification, ProtooRequest } from 'protoo-client';
import type {
	NotificationMethod,
	NotificationsFromPeer,
	NotificationsFromServer,
	PeerNotificationMethod,
	RequestData,
	RequestMethod,
	RequestsFromServer,
	ResponseData,
} from '../../../server/signalling/protocol';

export type ServerNotificationHandlers = { [M in NotificationMethod]: (data: NotificationsFromServer[M]) => void };

export type ServerRequestHandlers = {
	[M in keyof RequestsFromServer]: (data: RequestsFromServer[M]['data']) => Promise<RequestsFromServer[M]['response']>;
};

export type SignallingEvents = {
	open: () => void;
	/** One attempt to open the WebSocket failed; protoo tries again. */
	failed: (attempt: number) => void;
	/** An open WebSocket dropped; protoo reconnects by itself. */
	disconnected: () => void;
	/** Gone for good: protoo gave up, or the server closed it. */
	closed: () => void;
};

/** A rejected request, with protoo's error code (ErrorCode in the protocol). */
export class SignallingError extends Error {
	constructor(
		readonly method: string,
		message: string,
		readonly code: number | undefined,
	) {
		super(`${method}: ${message}`);
		this.name = 'SignallingError';
	}
}

/** Attempts to open the WebSocket before 'closed' (each one emits 'failed'). */
const RETRY = { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 2000 };

export class Signalling {
	readonly #peer: Peer;
	#closed = false;

	constructor(
		url: string,
		events: SignallingEvents,
		notifications: ServerNotificationHandlers,
		requests: ServerRequestHandlers,
	) {
		this.#peer = new Peer(new WebSocketTransport(url, { retry: RETRY }));
		const live = (fn: () => void) => () => {
			if (!this.#closed) fn();
		};
		this.#peer.on('open', live(events.open));
		this.#peer.on('disconnected', live(events.disconnected));
		this.#peer.on('failed', (attempt) => {
			if (!this.#closed) events.failed(attempt);
		});
		this.#peer.on('close', () => {
			if (this.#closed) return;
			this.#closed = true;
			events.closed();
		});
		this.#peer.on('notification', (notification) => {
			if (!this.#closed) this.#dispatchNotification(notification, notifications);
		});
		this.#peer.on('request', (request, accept, reject) => {
			if (this.#closed) return;
			this.#dispatchRequest(request, requests).then(
				(response) => accept(response),
				(error: unknown) => reject(500, error instanceof Error ? error.message : String(error)),
			);
		});
	}

	get closed(): boolean {
		return this.#closed;
	}

	async request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		try {
			return (await this.#peer.request(method, data)) as ResponseData<M>;
		} catch (error) {
			const { message, code } = error as { message?: string; code?: unknown };
			throw new SignallingError(method, message ?? String(error), typeof code === 'number' ? code : undefined);
		}
	}

	/** Fire and forget; a notification lost with a dropping socket is redone after rejoining. */
	notify<M extends PeerNotificationMethod>(method: M, data: NotificationsFromPeer[M]): void {
		if (this.#closed) return;
		this.#peer.notify(method, data).catch(() => {
			// The socket is going away; the session state machine handles that.
		});
	}

	/** Closes without emitting 'closed' (the caller decided). */
	close(): void {
		this.#closed = true;
		this.#peer.close();
	}

	#dispatchNotification(notification: ProtooNotification, handlers: ServerNotificationHandlers): void {
		const method = notification.method;
		if (!Object.hasOwn(handlers, method)) {
			console.warn('unknown notification from the server', method);
			return;
		}
		// The server is typed by the same protocol module; its data is taken as declared.
		const handler = handlers[method as NotificationMethod] as (data: unknown) => void;
		handler(notification.data);
	}

	async #dispatchRequest(request: ProtooRequest, handlers: ServerRequestHandlers): Promise<unknown> {
		const method = request.method;
		if (!Object.hasOwn(handlers, method)) throw new Error(`unknown request ${method}`);
		const handler = handlers[method as keyof RequestsFromServer] as (data: unknown) => Promise<unknown>;
		return handler(request.data);
	}
}

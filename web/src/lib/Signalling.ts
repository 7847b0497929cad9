/**
 * One protoo connection, typed by the protocol module: requests, peer
 * notifications, and dispatch of the server's requests and notifications to
 * handlers that must cover every method. Only the lib's session modules use it.
 *
 * One WebSocket, one attempt: protoo-client's own retries are off, and a
 * socket that drops is not reopened here. Session.ts decides when to try
 * again and with which URL (the resume token changes it).
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
	/** The WebSocket could not be opened. */
	failed: () => void;
	/** The open WebSocket is gone: the server closed it (`closed`), or it dropped. */
	lost: (cause: 'closed' | 'dropped') => void;
	/** Something (response, notification, request) arrived: the connection is alive. */
	heard: () => void;
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

export class Signalling {
	readonly #peer: Peer;
	#closed = false;
	#opened = false;

	constructor(url: string, events: SignallingEvents, notifications: ServerNotificationHandlers, requests: ServerRequestHandlers) {
		const transport = new WebSocketTransport(url, { retry: { retries: 0 } });
		this.#peer = new Peer(transport);
		transport.on('message', () => {
			if (!this.#closed) events.heard();
		});
		this.#peer.on('open', () => {
			if (this.#closed) return;
			this.#opened = true;
			events.open();
		});
		// An open socket that closes abnormally: protoo would reopen the same URL by itself. Stop it; the session decides.
		this.#peer.on('disconnected', () => this.#end(() => events.lost('dropped')));
		// protoo closes for good on the server's close code (4000), or when an attempt failed (no retries here).
		this.#peer.on('close', () => this.#end(() => (this.#opened ? events.lost('closed') : events.failed())));
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

	/** Closed by us or gone: nothing more is sent or reported. */
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

	/** Fire and forget; what a dropped connection loses is reconciled when the session is resumed. */
	notify<M extends PeerNotificationMethod>(method: M, data: NotificationsFromPeer[M]): void {
		if (this.#closed) return;
		this.#peer.notify(method, data).catch(() => {
			// The socket is going away; the session handles that.
		});
	}

	/** Closes without reporting it (the caller decided). */
	close(): void {
		this.#closed = true;
		this.#peer.close();
	}

	#end(report: () => void): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#peer.close();
		report();
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

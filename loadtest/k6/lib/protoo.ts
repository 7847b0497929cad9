/**
 * A protoo client for k6 on `k6/experimental/websockets`: typed requests
 * (method → data → response, from the server's protocol module), a round-trip
 * time per request tagged by method, failures counted by reason, and the
 * server's `newConsumer`/`newDataConsumer` requests accepted as a real client
 * accepts them.
 */
import { WebSocket } from 'k6/experimental/websockets';
import { Counter, Rate, Trend } from 'k6/metrics';
import type {
	NotificationMethod,
	NotificationsFromServer,
	RequestData,
	RequestMethod,
	ResponseData,
} from '../../../server/signalling/protocol.ts';

export const metrics = {
	/** Round trip of every request, tagged `method`. */
	requestRtt: new Trend('protoo_request_rtt', true),
	/** Failed requests, tagged `method` and `reason` (error code, timeout, closed). */
	requestFailures: new Counter('protoo_request_failures'),
	/** Share of requests that failed (the threshold on it fails the run). */
	requestErrors: new Rate('protoo_request_errors'),
	/** From the WebSocket connect call to the open event. */
	connectTime: new Trend('join_connect_time', true),
	/** From the connect call to the `join` response. */
	joinedTime: new Trend('join_joined_time', true),
	/** From the connect call until both WebRTC transports exist (and producers, when producing). */
	readyTime: new Trend('join_ready_time', true),
	/** Connections that never opened or closed before the peer was ready. */
	joinFailures: new Counter('join_failures'),
	/** Server requests (`newConsumer`, …) this client accepted. */
	serverRequests: new Counter('protoo_server_requests'),
	notifications: new Counter('protoo_notifications'),
};

type Pending = {
	method: string;
	sentAt: number;
	timer: ReturnType<typeof setTimeout>;
	resolve: (data: unknown) => void;
	reject: (error: Error) => void;
};

type NotificationHandler = <N extends NotificationMethod>(method: N, data: NotificationsFromServer[N]) => void;

export class ProtooError extends Error {
	constructor(
		readonly method: string,
		readonly reason: string,
		message: string,
	) {
		super(`${method}: ${message}`);
		this.name = 'ProtooError';
	}
}

export type ProtooPeerOptions = {
	/** wss://host:port */
	baseUrl: string;
	roomId: string;
	peerId: string;
	/** A join token (`token` in the URL, e.g. a viewer's from POST /api/token); the peer id is then the token's identity. */
	token?: string;
	requestTimeoutMs?: number;
	/** Extra metric tags (e.g. the scenario). */
	tags?: Record<string, string>;
};

export class ProtooPeer {
	private readonly ws: WebSocket;
	private readonly pending = new Map<number, Pending>();
	private nextId = Math.floor(Math.random() * 1_000_000);
	private readonly requestTimeoutMs: number;
	private readonly tags: Record<string, string>;
	private notificationHandlers: NotificationHandler[] = [];
	private closeHandlers: (() => void)[] = [];
	readonly connectStartedAt: number;
	openedAt: number | undefined;
	closed = false;
	private readonly opened: Promise<void>;

	constructor(options: ProtooPeerOptions) {
		this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
		this.tags = options.tags ?? {};
		const credential = options.token ? `token=${encodeURIComponent(options.token)}` : `peerId=${encodeURIComponent(options.peerId)}`;
		const url = `${options.baseUrl}/?roomId=${encodeURIComponent(options.roomId)}&${credential}`;
		this.connectStartedAt = Date.now();
		this.ws = new WebSocket(url, 'protoo', { tags: this.tags });
		this.opened = new Promise<void>((resolve, reject) => {
			this.ws.onopen = () => {
				this.openedAt = Date.now();
				metrics.connectTime.add(this.openedAt - this.connectStartedAt, this.tags);
				resolve();
			};
			this.ws.onerror = (event) => {
				if (this.openedAt === undefined) reject(new ProtooError('connect', 'ws-error', String(event?.error ?? 'WebSocket error')));
			};
		});
		this.ws.onclose = () => this.onClose();
		this.ws.onmessage = (event) => {
			if (event && typeof event.data === 'string') this.onMessage(event.data);
		};
	}

	/** Resolves once the WebSocket is open; rejects if it fails first. */
	open(): Promise<void> {
		return this.opened;
	}

	onNotification(handler: NotificationHandler): void {
		this.notificationHandlers.push(handler);
	}

	onClose(handler?: () => void): void {
		if (handler) {
			this.closeHandlers.push(handler);
			return;
		}
		if (this.closed) return;
		this.closed = true;
		for (const [id, pending] of this.pending) {
			clearTimeout(pending.timer);
			this.fail(pending, 'closed', 'connection closed before the response');
			this.pending.delete(id);
		}
		for (const closeHandler of this.closeHandlers) closeHandler();
	}

	request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		if (this.closed) return Promise.reject(new ProtooError(method, 'closed', 'connection is closed'));
		const id = this.nextId++;
		return new Promise<ResponseData<M>>((resolve, reject) => {
			const pending: Pending = {
				method,
				sentAt: Date.now(),
				resolve: resolve as (data: unknown) => void,
				reject,
				timer: setTimeout(() => {
					this.pending.delete(id);
					this.fail(pending, 'timeout', `no response within ${this.requestTimeoutMs} ms`);
				}, this.requestTimeoutMs),
			};
			this.pending.set(id, pending);
			this.ws.send(JSON.stringify({ request: true, id, method, data: data ?? {} }));
		});
	}

	notify<M extends RequestMethod>(method: M, data: RequestData<M>): void {
		if (!this.closed) this.ws.send(JSON.stringify({ notification: true, method, data: data ?? {} }));
	}

	/** Leaves (the server closes the session at once, with no resume window), then closes the socket. */
	close(): void {
		if (!this.closed) {
			this.notify('leave', {});
			this.ws.close();
		}
		this.onClose();
	}

	private fail(pending: Pending, reason: string, message: string): void {
		const tags = { ...this.tags, method: pending.method, reason };
		metrics.requestFailures.add(1, tags);
		metrics.requestErrors.add(true, { ...this.tags, method: pending.method });
		pending.reject(new ProtooError(pending.method, reason, message));
	}

	private onMessage(text: string): void {
		let message: Record<string, unknown>;
		try {
			message = JSON.parse(text) as Record<string, unknown>;
		} catch {
			return;
		}
		if (message.response === true) {
			const id = message.id as number;
			const pending = this.pending.get(id);
			if (!pending) return;
			this.pending.delete(id);
			clearTimeout(pending.timer);
			if (message.ok === true) {
				metrics.requestRtt.add(Date.now() - pending.sentAt, { ...this.tags, method: pending.method });
				metrics.requestErrors.add(false, { ...this.tags, method: pending.method });
				pending.resolve(message.data);
			} else {
				this.fail(pending, String(message.errorCode ?? 'error'), String(message.errorReason ?? 'request rejected'));
			}
		} else if (message.request === true) {
			// newConsumer / newDataConsumer: accept, as a client does once its consumer exists.
			metrics.serverRequests.add(1, { ...this.tags, method: String(message.method) });
			this.ws.send(JSON.stringify({ response: true, id: message.id, ok: true, data: {} }));
		} else if (message.notification === true) {
			metrics.notifications.add(1, { ...this.tags, method: String(message.method) });
			const method = message.method as NotificationMethod;
			for (const handler of this.notificationHandlers) handler(method, message.data as NotificationsFromServer[typeof method]);
		}
	}
}

/**
 * A protoo client for tests, typed from the protocol: it records what the
 * server sends and answers `newConsumer`/`newDataConsumer` as a real client
 * would (accept by default; or refuse, or never answer).
 */
import protooClient from 'protoo-client';
import type {
	NotificationMethod,
	NotificationsFromServer,
	RequestData,
	RequestMethod,
	RequestsFromServer,
	ResponseData,
} from '../../server/signalling/protocol.js';
import { waitFor } from './server.js';

export type ServerRequest = { [M in keyof RequestsFromServer]: { method: M; data: RequestsFromServer[M]['data'] } }[keyof RequestsFromServer];
export type ServerNotification = { [M in NotificationMethod]: { method: M; data: NotificationsFromServer[M] } }[NotificationMethod];

/** A rejected request: the protoo error code and reason. */
export type RequestFailure = Error & { code?: number };

export type ServerRequestPolicy = 'accept' | 'reject' | 'ignore';

export class TestPeer {
	readonly notifications: ServerNotification[] = [];
	readonly serverRequests: ServerRequest[] = [];
	onServerRequest: ServerRequestPolicy = 'accept';
	readonly #peer: protooClient.Peer;
	#closed = false;

	private constructor(peer: protooClient.Peer) {
		this.#peer = peer;
		peer.on('notification', (notification) => this.notifications.push({ method: notification.method, data: notification.data } as ServerNotification));
		peer.on('request', (request, accept, reject) => {
			this.serverRequests.push({ method: request.method, data: request.data } as ServerRequest);
			if (this.onServerRequest === 'accept') accept();
			else if (this.onServerRequest === 'reject') reject(403, 'refused by the test');
		});
		peer.on('close', () => (this.#closed = true));
		peer.on('disconnected', () => (this.#closed = true));
	}

	/**
	 * Connects as `peerId` without a token (a server in open mode), or with `{ token }` (then peerId may be omitted: '');
	 * with `{ resume }`, as a dropped connection taking its session back.
	 */
	static async connect(wsUrl: string, roomId: string, peerId: string, { token, resume }: { token?: string; resume?: string } = {}): Promise<TestPeer> {
		const query = new URLSearchParams({ roomId });
		if (peerId !== '') query.set('peerId', peerId);
		if (token !== undefined) query.set('token', token);
		if (resume !== undefined) query.set('resume', resume);
		const url = `${wsUrl}/?${query.toString()}`;
		const transport = new protooClient.WebSocketTransport(url, {
			retry: { retries: 0 },
			clientConfig: { tlsOptions: { rejectUnauthorized: false } },
		});
		const peer = new protooClient.Peer(transport);
		await new Promise<void>((resolve, reject) => {
			peer.on('open', () => resolve());
			peer.on('failed', () => reject(new Error(`cannot connect to ${url}`)));
			peer.on('close', () => reject(new Error(`connection to ${url} closed`)));
		});
		return new TestPeer(peer);
	}

	get closed(): boolean {
		return this.#closed || this.#peer.closed;
	}

	request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		return this.#peer.request(method, data) as Promise<ResponseData<M>>;
	}

	/** Any method and data, for testing what the server does with bad input. */
	rawRequest(method: string, data?: unknown): Promise<unknown> {
		return this.#peer.request(method, data);
	}

	notify(method: string, data?: unknown): Promise<void> {
		return this.#peer.notify(method, data);
	}

	/** The error a request ends with; fails the test if it succeeds. */
	async requestError(method: string, data?: unknown): Promise<RequestFailure> {
		try {
			await this.#peer.request(method, data);
		} catch (error) {
			return error as RequestFailure;
		}
		throw new Error(`expected ${method} to be rejected`);
	}

	received<M extends NotificationMethod>(method: M): NotificationsFromServer[M][] {
		return this.notifications.filter((n) => n.method === method).map((n) => n.data as NotificationsFromServer[M]);
	}

	async waitForNotification<M extends NotificationMethod>(
		method: M,
		predicate: (data: NotificationsFromServer[M]) => boolean = () => true,
		timeoutMs = 15_000,
	): Promise<NotificationsFromServer[M]> {
		return waitFor(`notification ${method}`, () => this.received(method).find(predicate), { timeoutMs });
	}

	serverRequestsOf<M extends keyof RequestsFromServer>(method: M): RequestsFromServer[M]['data'][] {
		return this.serverRequests.filter((r) => r.method === method).map((r) => r.data as RequestsFromServer[M]['data']);
	}

	/** Leaves as a client does when its user leaves (`leave`, then the socket closes): closed at once on the server. */
	close(): void {
		if (!this.#peer.closed) this.#peer.notify('leave', {}).catch(() => {});
		this.#peer.close();
	}

	/** Closes the socket without leaving: a dropped connection, whose session the server keeps for a resume. */
	drop(): void {
		this.#peer.close();
	}
}

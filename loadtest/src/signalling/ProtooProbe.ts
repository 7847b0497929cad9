/**
 * Signalling latency under media load: a peer that joins a room the way the
 * web client does (protoo over WSS: getRouterRtpCapabilities, two
 * createWebRtcTransport, join), asks for transport stats, and leaves, timing
 * every request. protoo-client is loaded through createRequire with the small
 * typed surface below, so no ambient module declaration is shared with tests.
 */
import { createRequire } from 'node:module';
import type { RequestData, RequestMethod, ResponseData } from '../../../server/signalling/protocol.js';
import type { LatencySamples } from '../stats/percentiles.js';

type ProtooPeerLike = {
	readonly closed: boolean;
	close(): void;
	request(method: string, data?: unknown): Promise<unknown>;
	notify(method: string, data?: unknown): Promise<void>;
	on(event: 'open' | 'close', listener: () => void): unknown;
	on(event: 'failed', listener: (attempt: number) => void): unknown;
	on(event: 'request', listener: (request: { method: string }, accept: (data?: unknown) => void, reject: (code: number, reason?: string) => void) => void): unknown;
};
type ProtooClientModule = {
	WebSocketTransport: new (url: string, options?: { retry?: { retries: number }; clientConfig?: Record<string, unknown> }) => unknown;
	Peer: new (transport: unknown) => ProtooPeerLike;
};

const protooClient = createRequire(import.meta.url)('protoo-client') as ProtooClientModule;

export class ProtooClient {
	private constructor(
		private readonly peer: ProtooPeerLike,
		private readonly latency: LatencySamples | undefined,
	) {
		// The server offers consumers to joined peers with rtpCapabilities; accept like a client.
		peer.on('request', (_request, accept) => accept({}));
	}

	/** Opens a protoo connection to `wsUrl` (wss://host:port) for `peerId` in `roomId`. */
	static connect(wsUrl: string, roomId: string, peerId: string, options: { latency?: LatencySamples; timeoutMs?: number } = {}): Promise<ProtooClient> {
		const url = `${wsUrl}/?roomId=${encodeURIComponent(roomId)}&peerId=${encodeURIComponent(peerId)}`;
		const transport = new protooClient.WebSocketTransport(url, { retry: { retries: 0 }, clientConfig: { tlsOptions: { rejectUnauthorized: false } } });
		const peer = new protooClient.Peer(transport);
		const started = performance.now();
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				peer.close();
				reject(new Error(`protoo connection to ${url} did not open within ${options.timeoutMs ?? 10_000} ms`));
			}, options.timeoutMs ?? 10_000);
			peer.on('open', () => {
				clearTimeout(timer);
				options.latency?.add('ws connect', performance.now() - started);
				resolve(new ProtooClient(peer, options.latency));
			});
			peer.on('failed', () => {
				clearTimeout(timer);
				peer.close();
				reject(new Error(`protoo connection to ${url} failed`));
			});
		});
	}

	async request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		const started = performance.now();
		const response = (await this.peer.request(method, data ?? {})) as ResponseData<M>;
		this.latency?.add(method, performance.now() - started);
		return response;
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

/**
 * One join cycle as the web client runs it; records each request and the
 * whole join ("join total") in `latency`. Returns the number of peers the
 * join response listed.
 */
export async function probeJoin(wsUrl: string, roomId: string, peerId: string, latency: LatencySamples, statsRequests = 2): Promise<number> {
	const started = performance.now();
	const client = await ProtooClient.connect(wsUrl, roomId, peerId, { latency });
	try {
		await client.request('getRouterRtpCapabilities', {});
		const send = await client.request('createWebRtcTransport', { producing: true, consuming: false });
		await client.request('createWebRtcTransport', { producing: false, consuming: true });
		// No rtpCapabilities: the probe measures signalling, it must not add consumers to the media load.
		const joined = await client.request('join', { displayName: peerId, device: { name: 'loadtest-probe' } });
		latency.add('join total', performance.now() - started);
		for (let i = 0; i < statsRequests; i++) await client.request('getTransportStats', { transportId: send.id });
		return joined.peers.length;
	} finally {
		client.close();
	}
}

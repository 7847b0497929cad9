/**
 * A typed client of the server's HTTP API (broadcasters, rooms, health),
 * over HTTPS with keep-alive. The server's certificate is self-signed on
 * loopback, so it is not verified. Every request is timed per route.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { HealthReport, HttpApi, HttpError } from '../../../server/signalling/protocol.js';
import type { LatencySamples } from '../stats/percentiles.js';

export class HttpApiError extends Error {
	constructor(
		readonly status: number,
		readonly route: string,
		message: string,
	) {
		super(`${route} → HTTP ${status}: ${message}`);
		this.name = 'HttpApiError';
	}
}

type Method = 'GET' | 'POST' | 'DELETE';

export type HttpApiClientOptions = {
	/** https://127.0.0.1:port */
	baseUrl: string;
	/** Concurrent connections kept open. */
	maxSockets?: number;
	timeoutMs?: number;
	latency?: LatencySamples;
	/** Sent as `Authorization: Bearer <apiKey>`: a key of the server's auth.serviceApiKeys (and adminApiKeys, for room listing). */
	apiKey?: string;
};

export class HttpApiClient {
	private readonly agent: Agent;
	private readonly base: URL;
	private readonly timeoutMs: number;
	private readonly latency: LatencySamples | undefined;
	private readonly authorization: Record<string, string>;

	constructor(options: HttpApiClientOptions) {
		this.authorization = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
		this.base = new URL(options.baseUrl);
		this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8, rejectUnauthorized: false });
		this.timeoutMs = options.timeoutMs ?? 15_000;
		this.latency = options.latency;
	}

	close(): void {
		this.agent.destroy();
	}

	/** Sends one request; `route` names it in errors and latency figures (e.g. "POST consume"). */
	request<T>(method: Method, path: string, route: string, body?: unknown): Promise<T> {
		const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
		const started = performance.now();
		return new Promise<T>((resolve, reject) => {
			const req = httpsRequest(
				{
					agent: this.agent,
					host: this.base.hostname,
					port: this.base.port,
					method,
					path,
					timeout: this.timeoutMs,
					headers: { ...this.authorization, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
				},
				(res) => {
					const chunks: Buffer[] = [];
					res.on('data', (chunk: Buffer) => chunks.push(chunk));
					res.on('end', () => {
						this.latency?.add(route, performance.now() - started);
						const text = Buffer.concat(chunks).toString('utf8');
						let parsed: unknown;
						try {
							parsed = text === '' ? {} : JSON.parse(text);
						} catch {
							reject(new HttpApiError(res.statusCode ?? 0, route, `response is not JSON: ${text.slice(0, 200)}`));
							return;
						}
						const status = res.statusCode ?? 0;
						if (status < 200 || status >= 300) {
							const reason = (parsed as Partial<HttpError>).error ?? text.slice(0, 200);
							reject(new HttpApiError(status, route, reason));
							return;
						}
						resolve(parsed as T);
					});
					res.on('error', reject);
				},
			);
			req.on('timeout', () => req.destroy(new HttpApiError(0, route, `no response within ${this.timeoutMs} ms`)));
			req.on('error', reject);
			req.end(payload);
		});
	}

	health(): Promise<HealthReport> {
		return this.request('GET', '/healthz', 'GET healthz');
	}

	metrics(): Promise<string> {
		return this.requestText('/metrics');
	}

	private requestText(path: string): Promise<string> {
		return new Promise((resolve, reject) => {
			const req = httpsRequest({ agent: this.agent, host: this.base.hostname, port: this.base.port, path, timeout: this.timeoutMs }, (res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
				res.on('error', reject);
			});
			req.on('timeout', () => req.destroy(new Error(`GET ${path}: no response within ${this.timeoutMs} ms`)));
			req.on('error', reject);
			req.end();
		});
	}

	listRooms(): Promise<HttpApi['listRooms']['response']> {
		return this.request('GET', '/api/rooms', 'GET rooms');
	}

	getRoom(roomId: string): Promise<HttpApi['getRoom']['response']> {
		return this.request('GET', `/api/rooms/${encodeURIComponent(roomId)}`, 'GET room');
	}

	createBroadcaster(roomId: string, body: HttpApi['createBroadcaster']['body']): Promise<HttpApi['createBroadcaster']['response']> {
		return this.request('POST', `${roomPath(roomId)}/broadcasters`, 'POST broadcaster', body);
	}

	deleteBroadcaster(roomId: string, broadcasterId: string): Promise<HttpApi['deleteBroadcaster']['response']> {
		return this.request('DELETE', `${broadcasterPath(roomId, broadcasterId)}`, 'DELETE broadcaster');
	}

	createPlainTransport(
		roomId: string,
		broadcasterId: string,
		body: HttpApi['createPlainTransport']['body'],
	): Promise<HttpApi['createPlainTransport']['response']> {
		return this.request('POST', `${broadcasterPath(roomId, broadcasterId)}/transports`, 'POST transport', body);
	}

	connectPlainTransport(
		roomId: string,
		broadcasterId: string,
		transportId: string,
		body: HttpApi['connectPlainTransport']['body'],
	): Promise<HttpApi['connectPlainTransport']['response']> {
		return this.request('POST', `${transportPath(roomId, broadcasterId, transportId)}/connect`, 'POST connect', body);
	}

	createProducer(
		roomId: string,
		broadcasterId: string,
		transportId: string,
		body: HttpApi['createProducer']['body'],
	): Promise<HttpApi['createProducer']['response']> {
		return this.request('POST', `${transportPath(roomId, broadcasterId, transportId)}/producers`, 'POST producer', body);
	}

	createConsumer(
		roomId: string,
		broadcasterId: string,
		transportId: string,
		producerId: string,
		body: HttpApi['createConsumer']['body'] = {},
	): Promise<HttpApi['createConsumer']['response']> {
		const query = `?producerId=${encodeURIComponent(producerId)}`;
		return this.request('POST', `${transportPath(roomId, broadcasterId, transportId)}/consume${query}`, 'POST consume', body);
	}
}

function roomPath(roomId: string): string {
	return `/api/rooms/${encodeURIComponent(roomId)}`;
}

function broadcasterPath(roomId: string, broadcasterId: string): string {
	return `${roomPath(roomId)}/broadcasters/${encodeURIComponent(broadcasterId)}`;
}

function transportPath(roomId: string, broadcasterId: string, transportId: string): string {
	return `${broadcasterPath(roomId, broadcasterId)}/transports/${encodeURIComponent(transportId)}`;
}

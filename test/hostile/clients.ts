/**
 * The hostile side's wire clients, each bound to a chosen loopback source
 * address (127.0.0.x), so the per-address limits a flood trips are not the
 * bystander's: a protoo connection, a raw WebSocket upgrade, and HTTPS calls.
 * Every call ends within a timeout; none retries.
 */
import { Agent, request as httpsRequest } from 'node:https';
import websocket, { type connection as wsConnection } from 'websocket';

const WebSocketClient = websocket.client;

/** What the server answered to one hostile message. */
export type Answer =
	| { kind: 'error'; code: number; reason: string }
	| { kind: 'ok'; data: unknown }
	/** The server closed the connection instead of answering (with this WebSocket close code, when it closed it). */
	| { kind: 'closed'; reason: string; closeCode?: number }
	| { kind: 'timeout'; afterMs: number }
	| { kind: 'failed'; reason: string };

const DEFAULT_TIMEOUT_MS = 10_000;

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<T>((resolve) => {
		timer = setTimeout(() => resolve(onTimeout()), ms);
	});
	return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

type ProtooResponse = { response: true; id: number; ok: boolean; data?: unknown; errorCode?: number; errorReason?: string };

/**
 * One protoo connection, spoken by hand (protoo's JSON messages over
 * websocket-node) so a case can send what no client library would: any
 * text, data too deep for JSON.stringify, from a chosen source address. It
 * never reconnects, accepts what the server asks (newConsumer), and turns
 * every outcome of a request into an Answer.
 */
export class HostileSocket {
	readonly serverRequests: { method: string; data: Record<string, unknown> }[] = [];
	/** The WebSocket close code, once closed. */
	closeCode: number | undefined;
	readonly #connection: wsConnection;
	readonly #pending = new Map<number, (answer: Answer) => void>();
	#nextId = 1;
	#closed = false;
	#closing = false;
	#closedByServer = false;

	private constructor(connection: wsConnection) {
		this.#connection = connection;
		connection.on('message', (message) => {
			if (message.type === 'utf8') this.#onMessage(message.utf8Data);
		});
		connection.on('error', () => undefined);
		connection.on('close', (code, description) => {
			this.#closed = true;
			if (!this.#closing) this.#closedByServer = true;
			this.closeCode = code;
			for (const settle of this.#pending.values()) settle({ kind: 'closed', reason: `the server closed the connection (${code} ${description})`, closeCode: code });
			this.#pending.clear();
		});
	}

	static open(wsUrl: string, query: Record<string, string>, localAddress: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HostileSocket> {
		const url = `${wsUrl}/?${new URLSearchParams(query).toString()}`;
		const client = new WebSocketClient({ tlsOptions: { rejectUnauthorized: false } });
		const opened = new Promise<HostileSocket>((resolve, reject) => {
			client.on('connect', (connection) => resolve(new HostileSocket(connection)));
			client.on('connectFailed', (error) => reject(new Error(`WebSocket refused: ${error.message.split('\n')[0]} (${url.slice(0, 120)})`)));
		});
		client.connect(url, 'protoo', undefined, undefined, { localAddress });
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_resolve, reject) => {
			timer = setTimeout(() => {
				client.abort();
				reject(new Error(`WebSocket not open within ${timeoutMs} ms: ${url.slice(0, 120)}`));
			}, timeoutMs);
		});
		return Promise.race([opened, timeout]).finally(() => clearTimeout(timer));
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** The server ended the connection (it was not us). */
	get closedByServer(): boolean {
		return this.#closedByServer;
	}

	/** A protoo request with this method and data (`undefined` data is left out, as protoo-client does). */
	request(method: string, data?: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer> {
		const id = this.#nextId++;
		return this.requestRaw(id, JSON.stringify({ request: true, id, method, data }), timeoutMs);
	}

	/** A request whose text the caller wrote (its id must be `id`, from nextRequestId()). */
	requestRaw(id: number, text: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer> {
		if (this.#closed) return Promise.resolve({ kind: 'closed', reason: 'connection already closed' });
		const answered = new Promise<Answer>((resolve) => this.#pending.set(id, resolve));
		// A failed write ends in the connection's close, which settles every pending request.
		this.#connection.sendUTF(text, () => undefined);
		return withTimeout(answered, timeoutMs, () => {
			this.#pending.delete(id);
			return { kind: 'timeout', afterMs: timeoutMs };
		});
	}

	nextRequestId(): number {
		return this.#nextId++;
	}

	notify(method: string, data?: unknown): void {
		if (!this.#closed) this.#connection.sendUTF(JSON.stringify({ notification: true, method, data }));
	}

	close(): void {
		this.#closing = true;
		if (!this.#closed) this.#connection.close();
	}

	#settle(id: number, answer: Answer): void {
		const settle = this.#pending.get(id);
		this.#pending.delete(id);
		settle?.(answer);
	}

	#onMessage(text: string): void {
		let message: Record<string, unknown>;
		try {
			message = JSON.parse(text) as Record<string, unknown>;
		} catch {
			return;
		}
		if (message.response === true) {
			const response = message as ProtooResponse;
			this.#settle(response.id, response.ok ? { kind: 'ok', data: response.data } : { kind: 'error', code: response.errorCode ?? 0, reason: response.errorReason ?? '' });
		} else if (message.request === true) {
			this.serverRequests.push({ method: String(message.method), data: (message.data ?? {}) as Record<string, unknown> });
			this.#connection.sendUTF(JSON.stringify({ response: true, id: message.id, ok: true, data: {} }));
		}
	}
}

/** The HTTP status a WebSocket upgrade to `path` gets (101 when accepted; the socket is then dropped). */
export function upgradeStatus(baseUrl: string, path: string, localAddress: string, { protocol = 'protoo', timeoutMs = DEFAULT_TIMEOUT_MS } = {}): Promise<Answer> {
	const work = new Promise<Answer>((resolve) => {
		const req = httpsRequest(`${baseUrl}${path}`, {
			rejectUnauthorized: false,
			localAddress,
			headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': protocol },
		});
		req.on('response', (res) => {
			let text = '';
			res.on('data', (chunk: Buffer) => (text += chunk.toString()));
			const header = res.headers['x-websocket-reject-reason'];
			res.on('end', () => resolve({ kind: 'error', code: res.statusCode ?? 0, reason: [typeof header === 'string' ? header : '', res.statusMessage ?? '', text].filter(Boolean).join(' | ') }));
		});
		req.on('upgrade', (res, socket) => {
			socket.destroy();
			resolve({ kind: 'ok', data: { status: res.statusCode } });
		});
		req.on('error', (error) => resolve({ kind: 'failed', reason: error.message }));
		req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
		req.end();
	});
	return withTimeout(work, timeoutMs + 500, () => ({ kind: 'timeout', afterMs: timeoutMs }));
}

export type HttpCall = {
	method: 'GET' | 'POST' | 'DELETE' | 'PUT';
	path: string;
	/** An object is sent as JSON; a string as it is. */
	body?: unknown;
	/** The Authorization header; undefined sends none. */
	authorization?: string;
};

/** HTTPS calls from one source address, over kept-alive connections. */
export class HttpClient {
	readonly #agent: Agent;

	constructor(readonly baseUrl: string, readonly localAddress: string, maxSockets = 8) {
		this.#agent = new Agent({ keepAlive: true, maxSockets, rejectUnauthorized: false });
	}

	call({ method, path, body, authorization }: HttpCall, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer & { status?: number; headers?: Record<string, unknown> }> {
		const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
		const headers: Record<string, string | number> = {};
		if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
		if (authorization !== undefined) headers.authorization = authorization;
		const work = new Promise<Answer & { headers?: Record<string, unknown> }>((resolve) => {
			const req = httpsRequest(`${this.baseUrl}${path}`, { method, agent: this.#agent, localAddress: this.localAddress, headers }, (res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () => {
					const text = Buffer.concat(chunks).toString('utf8');
					let json: { error?: unknown } | undefined;
					try {
						json = JSON.parse(text) as { error?: unknown };
					} catch {
						json = undefined;
					}
					const status = res.statusCode ?? 0;
					if (status >= 200 && status < 300) resolve({ kind: 'ok', data: json ?? text, headers: res.headers });
					else resolve({ kind: 'error', code: status, reason: typeof json?.error === 'string' ? json.error : text.slice(0, 300), headers: res.headers });
				});
				res.on('error', (error) => resolve({ kind: 'failed', reason: error.message }));
			});
			req.on('error', (error) => resolve({ kind: 'failed', reason: error.message }));
			req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
			req.end(payload);
		});
		return withTimeout(work, timeoutMs + 500, () => ({ kind: 'timeout', afterMs: timeoutMs }));
	}

	close(): void {
		this.#agent.destroy();
	}
}

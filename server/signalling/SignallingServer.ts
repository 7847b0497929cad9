/**
 * protoo over WebSocket: checks each connection at upgrade (ids, capacity),
 * then validates every request against its schema before its handler runs.
 * A bad request gets an error response with a reason; the peer stays
 * connected and the room keeps working.
 */
import { randomUUID } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import protoo, { type AcceptFn, type ProtooNotification, type ProtooRequest, type RejectFn, type WebSocketServer, type WebSocketTransport } from 'protoo-server';
import type { Config } from '../config.js';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../log.js';
import type { Peer } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import { RoomLimitError, type RoomRegistry } from '../rooms/RoomRegistry.js';
import { RequestError, toRequestError } from './errors.js';
import { handlers, type Handler, type HandlerContext } from './handlers.js';
import { ErrorCode, ID_PATTERN_SOURCE, type RequestMethod } from './protocol.js';
import { describeIssues, notificationMethods, requestSchemas, type RequestSchemas } from './schemas.js';

const idPattern = new RegExp(ID_PATTERN_SOURCE);

/** Messages this much larger than signalling.maxMessageBytes close the connection instead of getting an error. */
const HARD_LIMIT_FACTOR = 4;

/** How long a refused connection stays open to answer its requests with the reason. */
const REFUSED_SESSION_MS = 10_000;

export type ConnectionCheck = { ok: true; roomId: string; peerId: string } | { ok: false; status: number; reason: string };

/** Validates the ids in the WebSocket URL (`/?roomId=…&peerId=…`). */
export function checkConnectionUrl(url: string | undefined): ConnectionCheck {
	const params = new URL(url ?? '/', 'http://localhost').searchParams;
	for (const name of ['roomId', 'peerId'] as const) {
		const value = params.get(name);
		if (value === null) return { ok: false, status: 400, reason: `missing ${name} in the URL query` };
		if (!idPattern.test(value)) return { ok: false, status: 400, reason: `invalid ${name}: use 1 to 64 characters of A-Z a-z 0-9 _ . ~ -` };
	}
	return { ok: true, roomId: params.get('roomId')!, peerId: params.get('peerId')! };
}

/** Closes what a request created after its client was told it failed (it would otherwise retry and get a second one). */
function releaseLateResult(peer: Peer, method: string, result: unknown): void {
	const id = typeof result === 'object' && result !== null && 'id' in result && typeof result.id === 'string' ? result.id : undefined;
	if (id === undefined) return;
	const created = method === 'createWebRtcTransport' ? peer.transports.get(id) : method === 'produce' ? peer.producers.get(id) : method === 'produceData' ? peer.dataProducers.get(id) : undefined;
	if (!created) return;
	peer.logger.info({ event: 'late-result-released', method, id }, 'closed what a timed-out request created');
	created.close();
}

export class SignallingServer {
	readonly #ws: WebSocketServer;
	readonly #rooms: RoomRegistry;
	readonly #config: Config;
	readonly #logger: Logger;
	readonly #metrics: Metrics;
	readonly #schemas: RequestSchemas;
	#accepting = true;

	constructor(httpServer: HttpsServer, rooms: RoomRegistry, config: Config, metrics: Metrics, logger: Logger) {
		this.#rooms = rooms;
		this.#config = config;
		this.#metrics = metrics;
		this.#logger = logger.child({ module: 'signalling' });
		this.#schemas = requestSchemas(config.signalling);
		const hardLimit = config.signalling.maxMessageBytes * HARD_LIMIT_FACTOR;
		this.#ws = new protoo.WebSocketServer(httpServer, {
			maxReceivedFrameSize: hardLimit,
			maxReceivedMessageSize: hardLimit,
			keepaliveInterval: config.signalling.keepaliveIntervalMs,
		});
		this.#ws.on('connectionrequest', (info, accept, reject) => {
			void this.#onConnectionRequest(info.request.url, info.socket.remoteAddress, accept, reject);
		});
	}

	/** Refuse new connections (shutdown); existing ones are closed by their rooms. */
	stop(): void {
		this.#accepting = false;
		this.#ws.stop();
	}

	async #onConnectionRequest(
		url: string | undefined,
		remoteAddress: string | undefined,
		accept: () => WebSocketTransport,
		reject: (code?: number, reason?: string) => void,
	): Promise<void> {
		const refuse = (status: number, reason: string, label: string) => {
			this.#metrics.connectionsRejected.inc({ reason: label });
			this.#logger.info({ event: 'connection-rejected', status, reason, remoteAddress }, 'connection rejected');
			reject(status, reason);
		};
		if (!this.#accepting) return refuse(503, 'server is shutting down', 'shutdown');
		const check = checkConnectionUrl(url);
		if (!check.ok) return refuse(check.status, check.reason, 'bad-url');

		// Browsers cannot read the status of a refused WebSocket upgrade, so from here on a refusal is
		// an accepted connection that answers every request with the reason, then closes.
		const refuseInSession = (code: number, reason: string, label: string) => {
			this.#metrics.connectionsRejected.inc({ reason: label });
			this.#logger.info({ event: 'connection-refused', code, reason, remoteAddress, roomId: check.roomId }, 'connection refused');
			this.#answerWithRefusal(accept, code, reason);
		};
		let room: Room;
		try {
			room = await this.#rooms.getOrCreate(check.roomId);
		} catch (error) {
			if (error instanceof RoomLimitError) return refuseInSession(ErrorCode.unavailable, error.message, 'max-rooms');
			this.#logger.error({ err: error, roomId: check.roomId }, 'cannot create room');
			return refuseInSession(ErrorCode.unavailable, 'cannot create the room now (no media worker available)', 'no-worker');
		}
		// Joined peers are limited at `join`; this bounds connections that never join.
		const { maxPeersPerRoom } = this.#config.rooms;
		if (!room.peers.has(check.peerId) && room.peers.size >= maxPeersPerRoom * 2) {
			return refuseInSession(ErrorCode.limitReached, `room is full (rooms.maxPeersPerRoom is ${maxPeersPerRoom})`, 'room-full');
		}

		let transport: WebSocketTransport;
		try {
			transport = accept();
		} catch (error) {
			this.#logger.debug({ err: error }, 'client went away before the connection was accepted');
			return;
		}
		if (room.closed) {
			transport.close();
			return;
		}
		const peer = room.connectPeer(check.peerId, transport);
		peer.logger.debug({ remoteAddress }, 'connection accepted');
		this.#attach(room, peer);
	}

	/** Accepts the connection only to reject each of its requests with `reason`, and closes it after a while. */
	#answerWithRefusal(accept: () => WebSocketTransport, code: number, reason: string): void {
		let transport: WebSocketTransport;
		try {
			transport = accept();
		} catch {
			return;
		}
		const session = new protoo.Room();
		const channel = session.createPeer(`refused-${randomUUID()}`, transport);
		channel.on('request', (_request, _accept, reject) => reject(code, reason));
		const timer = setTimeout(() => session.close(), REFUSED_SESSION_MS);
		timer.unref();
		channel.on('close', () => {
			clearTimeout(timer);
			session.close();
		});
	}

	#attach(room: Room, peer: Peer): void {
		const channel = peer.channel!;
		const context: HandlerContext = { room, peer, config: this.#config };
		channel.on('request', (request, accept, reject) => {
			void peer.serialize(() => this.#handleRequest(context, request, accept, reject));
		});
		channel.on('notification', (notification) => {
			void peer.serialize(() => this.#handleNotification(context, notification));
		});
	}

	/** Validates, runs, answers. Every failure becomes an error response; nothing escapes. */
	async #handleRequest(context: HandlerContext, request: ProtooRequest, accept: AcceptFn, reject: RejectFn): Promise<void> {
		const { method } = request;
		const started = process.hrtime.bigint();
		try {
			const response = await this.#runTimeBoxed(context, method, request.data);
			accept(response);
			this.#metrics.signallingRequests.inc({ method, outcome: 'ok' });
		} catch (thrown) {
			const error = toRequestError(thrown);
			reject(error.code, error.message);
			this.#metrics.signallingRequests.inc({ method: this.#known(method) ? method : 'unknown', outcome: String(error.code) });
			const fields = { event: 'request-rejected', method, code: error.code, reason: error.message };
			if (error.code >= 500) context.peer.logger.error({ ...fields, err: thrown }, 'request failed');
			else context.peer.logger.info(fields, 'request rejected');
		} finally {
			if (this.#known(method)) this.#metrics.signallingDuration.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
		}
	}

	async #handleNotification(context: HandlerContext, notification: ProtooNotification): Promise<void> {
		const { method } = notification;
		try {
			if (!(notificationMethods as string[]).includes(method)) throw new RequestError(ErrorCode.unknownMethod, `unknown notification "${method}"`);
			await this.#runTimeBoxed(context, method, notification.data);
			this.#metrics.signallingRequests.inc({ method, outcome: 'ok' });
		} catch (thrown) {
			const error = toRequestError(thrown);
			this.#metrics.signallingRequests.inc({ method: this.#known(method) ? method : 'unknown', outcome: String(error.code) });
			context.peer.logger.info({ event: 'notification-rejected', method, code: error.code, reason: error.message }, 'notification rejected');
		}
	}

	/**
	 * Runs a request, but gives up after signalling.requestTimeoutMs: a
	 * saturated worker can leave its channel unanswered for many seconds, and
	 * the client should hear so (and the peer's next requests not queue
	 * behind it). What the worker creates after that is released.
	 */
	async #runTimeBoxed(context: HandlerContext, method: string, data: unknown): Promise<unknown> {
		const work = this.#run(context, method, data);
		const { requestTimeoutMs } = this.#config.signalling;
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_resolve, reject) => {
			timer = setTimeout(() => reject(new RequestError(ErrorCode.unavailable, `the media worker did not answer within ${requestTimeoutMs} ms (signalling.requestTimeoutMs); try again`)), requestTimeoutMs);
		});
		try {
			return await Promise.race([work, timeout]);
		} catch (error) {
			if (error instanceof RequestError && error.code === ErrorCode.unavailable) {
				context.peer.logger.warn({ event: 'request-timeout', method, timeoutMs: requestTimeoutMs }, 'media worker did not answer in time');
				work.then((late) => releaseLateResult(context.peer, method, late), () => {});
			}
			throw error;
		} finally {
			clearTimeout(timer);
		}
	}

	#known(method: string): method is RequestMethod {
		return Object.hasOwn(handlers, method);
	}

	async #run(context: HandlerContext, method: string, data: unknown): Promise<unknown> {
		if (!this.#known(method)) throw new RequestError(ErrorCode.unknownMethod, `unknown method "${method}"`);
		const size = data === undefined ? 0 : Buffer.byteLength(JSON.stringify(data));
		if (size > this.#config.signalling.maxMessageBytes) {
			throw new RequestError(ErrorCode.tooLarge, `request data is ${size} bytes; the limit is ${this.#config.signalling.maxMessageBytes} (signalling.maxMessageBytes)`);
		}
		if (context.peer.closed) throw new RequestError(ErrorCode.conflict, 'peer is closed');
		const parsed = this.#schemas[method].safeParse(data);
		if (!parsed.success) throw new RequestError(ErrorCode.badRequest, `invalid ${method} request: ${describeIssues(parsed.error)}`);
		// The schema of `method` produced data of `method`'s type; TypeScript cannot correlate the two through the lookup.
		const handler = handlers[method] as Handler<RequestMethod>;
		return handler(context, parsed.data as never);
	}
}

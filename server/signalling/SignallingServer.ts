/**
 * protoo over WebSocket: checks each connection at upgrade (address limits,
 * ids, join token, capacity) before any room exists, then passes every
 * request through the same gates: rate, queue, size, schema, permission,
 * and only then its handler. A bad request gets an error response with a
 * reason; the peer stays connected and the room keeps working.
 */
import { randomUUID } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import protoo, { type AcceptFn, type ProtooNotification, type ProtooRequest, type RejectFn, type WebSocketServer, type WebSocketTransport } from 'protoo-server';
import { ConnectionCounter, KeyFrameThrottle, normalizeAddress, TokenBucket } from '../auth/limits.js';
import { Access, authorize } from '../auth/roles.js';
import type { Authenticator } from '../auth/Authenticator.js';
import type { Grant } from '../auth/tokens.js';
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

/** No request of the protocol nests deeper; deeper data is refused before anything walks it recursively. */
const MAX_NESTING = 32;

/** Whether `value` has objects or arrays more than `limit` levels deep (iterative: no stack to overflow). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
	const stack: [unknown, number][] = [[value, 0]];
	while (stack.length > 0) {
		const [item, depth] = stack.pop()!;
		if (typeof item !== 'object' || item === null) continue;
		if (depth >= limit) return true;
		for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
	}
	return false;
}

/** How long a refused connection stays open to answer its requests with the reason. */
const REFUSED_SESSION_MS = 10_000;

export type ConnectionCheck = { ok: true; roomId: string; peerId: string | undefined; token: string | undefined; resume: string | undefined } | { ok: false; status: number; reason: string };

/** A resume token as the server makes them (24 random bytes, base64url). */
const RESUME_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** Validates the WebSocket URL (`/?roomId=…&token=…`, or `/?roomId=…&peerId=…` in open mode). */
export function checkConnectionUrl(url: string | undefined): ConnectionCheck {
	const params = new URL(url ?? '/', 'http://localhost').searchParams;
	const roomId = params.get('roomId');
	const peerId = params.get('peerId') ?? undefined;
	const token = params.get('token') ?? undefined;
	const resume = params.get('resume') ?? undefined;
	if (roomId === null) return { ok: false, status: 400, reason: 'missing roomId in the URL query' };
	for (const [name, value] of [['roomId', roomId], ['peerId', peerId]] as const) {
		if (value !== undefined && !idPattern.test(value)) return { ok: false, status: 400, reason: `invalid ${name}: use 1 to 64 characters of A-Z a-z 0-9 _ . ~ -` };
	}
	if (peerId === undefined && token === undefined) return { ok: false, status: 400, reason: 'missing token (or, on a server in open mode, peerId) in the URL query' };
	if (resume !== undefined && !RESUME_TOKEN_PATTERN.test(resume)) return { ok: false, status: 400, reason: 'invalid resume: use the resume token of the join response' };
	return { ok: true, roomId, peerId, token, resume };
}

/** Who a verified connection is. */
type Identity = { peerId: string; access: Access; grant: Grant | undefined };

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
	readonly #auth: Authenticator;
	readonly #connections: ConnectionCounter;
	#accepting = true;

	constructor(httpServer: HttpsServer, rooms: RoomRegistry, auth: Authenticator, config: Config, metrics: Metrics, logger: Logger) {
		this.#rooms = rooms;
		this.#auth = auth;
		this.#connections = new ConnectionCounter(config.limits.maxConnectionsPerIp);
		this.#config = config;
		this.#metrics = metrics;
		this.#logger = logger.child({ module: 'signalling' });
		this.#schemas = requestSchemas(config.signalling);
		const hardLimit = config.signalling.maxMessageBytes * HARD_LIMIT_FACTOR;
		this.#ws = new protoo.WebSocketServer(httpServer, {
			maxReceivedFrameSize: hardLimit,
			maxReceivedMessageSize: hardLimit,
			keepaliveInterval: config.signalling.keepaliveIntervalMs,
			keepaliveGracePeriod: config.signalling.keepaliveGraceMs,
			dropConnectionOnKeepaliveTimeout: true,
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
		rawAddress: string | undefined,
		accept: () => WebSocketTransport,
		reject: (code?: number, reason?: string) => void,
	): Promise<void> {
		const remoteAddress = normalizeAddress(rawAddress ?? 'unknown');
		const refuse = (status: number, reason: string, label: string) => {
			this.#metrics.connectionsRejected.inc({ reason: label });
			this.#logger.info({ event: 'connection-rejected', status, reason, remoteAddress }, 'connection rejected');
			reject(status, reason);
		};
		if (!this.#accepting) return refuse(503, 'server is shutting down', 'shutdown');
		// Counted from here until the socket closes (or is refused): every path below releases it once.
		if (!this.#connections.tryOpen(remoteAddress)) {
			return refuse(429, `too many connections from ${remoteAddress} (limits.maxConnectionsPerIp is ${this.#config.limits.maxConnectionsPerIp})`, 'per-ip-limit');
		}
		let released = false;
		const release = () => {
			if (released) return;
			released = true;
			this.#connections.close(remoteAddress);
		};
		const check = checkConnectionUrl(url);
		if (!check.ok) {
			release();
			return refuse(check.status, check.reason, 'bad-url');
		}

		// Browsers cannot read the status of a refused WebSocket upgrade, so from here on a refusal is
		// an accepted connection that answers every request with the reason, then closes.
		const refuseInSession = (code: number, reason: string, label: string) => {
			this.#metrics.connectionsRejected.inc({ reason: label });
			this.#logger.info({ event: 'connection-refused', code, reason, remoteAddress, roomId: check.roomId }, 'connection refused');
			this.#answerWithRefusal(accept, code, reason, release);
		};

		// Identity first: no room is created for a connection that cannot prove who it is.
		const identity = await this.#identify(check);
		if (!identity.ok) return refuseInSession(identity.code, identity.reason, identity.label);
		const { peerId, access, grant } = identity.value;

		const existing = this.#rooms.get(check.roomId);
		if (existing?.moderation.isRemoved(peerId)) return refuseInSession(ErrorCode.forbidden, 'you were removed from this room by a host', 'removed');

		// A dropped connection coming back: its resume token (with its identity) takes the session over.
		// Otherwise (no such session, a wrong token) it is a fresh connection, and its `resume` gets 404.
		if (check.resume !== undefined && existing?.canResume(peerId, check.resume)) {
			let transport: WebSocketTransport;
			try {
				transport = accept();
			} catch {
				release();
				return;
			}
			transport.on('close', release);
			this.#attach(existing, existing.resumeSession(peerId, check.resume, transport));
			return;
		}
		// Without a token a connection proves nothing, so it cannot take over a session that exists.
		if (!grant && existing?.peers.has(peerId)) {
			return refuseInSession(ErrorCode.conflict, `peerId "${peerId}" is in use in this room; reconnecting as it needs its join token`, 'id-in-use');
		}

		let room: Room;
		try {
			room = await this.#rooms.getOrCreate(check.roomId);
		} catch (error) {
			if (error instanceof RoomLimitError) return refuseInSession(ErrorCode.unavailable, error.message, this.#rooms.draining ? 'draining' : 'max-rooms');
			this.#logger.error({ err: error, roomId: check.roomId }, 'cannot create room');
			return refuseInSession(ErrorCode.unavailable, 'cannot create the room now (no media worker available)', 'no-worker');
		}
		// Joined peers are limited at `join`; this bounds connections that never join.
		const { maxPeersPerRoom } = this.#config.rooms;
		if (!room.peers.has(peerId) && room.peers.size >= maxPeersPerRoom * 2) {
			return refuseInSession(ErrorCode.limitReached, `room is full (rooms.maxPeersPerRoom is ${maxPeersPerRoom})`, 'room-full');
		}

		let transport: WebSocketTransport;
		try {
			transport = accept();
		} catch (error) {
			release();
			this.#logger.debug({ err: error }, 'client went away before the connection was accepted');
			return;
		}
		transport.on('close', release);
		if (room.closed) {
			transport.close();
			return;
		}
		const assignedName = grant?.name?.trim().slice(0, this.#config.signalling.maxDisplayNameLength) || undefined;
		// A host's decisions (admitted, muted, another role) outlast a reload: they win over the token.
		const decided = room.moderation.decidedAccess(peerId);
		const peer = room.connectPeer(peerId, transport, { access: decided ?? access, credentialExpiresAt: grant?.expiresAt, assignedName });
		peer.logger.debug({ remoteAddress, role: peer.access.role }, 'connection accepted');
		this.#attach(room, peer);
	}

	/** The peer's identity and role: from its token, or, in open mode, the URL's peerId as a participant. */
	async #identify(check: Extract<ConnectionCheck, { ok: true }>): Promise<{ ok: true; value: Identity } | { ok: false; code: number; reason: string; label: string }> {
		if (check.token === undefined) {
			if (!this.#auth.open) return { ok: false, code: ErrorCode.unauthorized, reason: 'this server needs a join token: connect with ?roomId=…&token=…', label: 'no-token' };
			return { ok: true, value: { peerId: check.peerId!, access: new Access('participant'), grant: undefined } };
		}
		const verified = await this.#auth.verify(check.token, check.roomId);
		if (!verified.ok) return { ok: false, code: ErrorCode.unauthorized, reason: verified.reason, label: 'bad-token' };
		const { grant } = verified;
		if (check.peerId !== undefined && check.peerId !== grant.identity) {
			return { ok: false, code: ErrorCode.forbidden, reason: `peerId "${check.peerId}" is not the token's identity`, label: 'identity-mismatch' };
		}
		if (grant.role === 'service') return { ok: false, code: ErrorCode.forbidden, reason: 'a service token is for the HTTP broadcaster API, not for joining over WebSocket', label: 'service-token' };
		return { ok: true, value: { peerId: grant.identity, access: new Access(grant.role, grant.overrides), grant } };
	}

	/** Accepts the connection only to reject each of its requests with `reason`, and closes it after a while. */
	#answerWithRefusal(accept: () => WebSocketTransport, code: number, reason: string, release: () => void): void {
		let transport: WebSocketTransport;
		try {
			transport = accept();
		} catch {
			release();
			return;
		}
		transport.on('close', release);
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
		const { limits } = this.#config;
		const context: HandlerContext = { room, peer, config: this.#config, keyFrames: new KeyFrameThrottle(limits.keyFrameRequestIntervalMs) };
		const rate = new TokenBucket(limits.requestsPerSecond, limits.requestBurst);
		// Checked before a request is queued, so a flood costs a rejection each and delays nobody else.
		const admit = (): RequestError | undefined => {
			if (!rate.take()) return new RequestError(ErrorCode.limitReached, `too many requests: at most ${limits.requestsPerSecond}/s, bursts of ${limits.requestBurst} (limits.requestsPerSecond, limits.requestBurst)`);
			if (peer.queued >= limits.maxQueuedRequests) return new RequestError(ErrorCode.limitReached, `too many requests waiting (${peer.queued}; limits.maxQueuedRequests): wait for answers before sending more`);
			return undefined;
		};
		// Liveness: a client that pings is expected to keep doing so; silence past the timeout is a dead connection.
		let liveness: NodeJS.Timeout | undefined;
		const heard = (method: string) => {
			if (liveness) liveness.refresh();
			else if (method === 'ping') {
				liveness = setTimeout(() => {
					peer.logger.info({ event: 'liveness-timeout', timeoutMs: this.#config.signalling.livenessTimeoutMs }, 'no message from a pinging client in time: dropping its connection');
					channel.close();
				}, this.#config.signalling.livenessTimeoutMs);
				liveness.unref();
			}
		};
		channel.on('close', () => clearTimeout(liveness));
		channel.on('request', (request, accept, reject) => {
			heard(request.method);
			const refused = admit();
			if (refused) {
				reject(refused.code, refused.message);
				this.#metrics.signallingRequests.inc({ method: this.#known(request.method) ? request.method : 'unknown', outcome: String(refused.code) });
				return;
			}
			void peer.serialize(() => this.#handleRequest(context, request, accept, reject));
		});
		channel.on('notification', (notification) => {
			heard(notification.method);
			// At once, not queued: the socket's close follows right behind, and must not start a resume window.
			if (notification.method === 'leave') {
				this.#metrics.signallingRequests.inc({ method: 'leave', outcome: 'ok' });
				room.leave(peer);
				return;
			}
			if (admit()) {
				this.#metrics.signallingRequests.inc({ method: this.#known(notification.method) ? notification.method : 'unknown', outcome: String(ErrorCode.limitReached) });
				return;
			}
			void peer.serialize(() => this.#handleNotification(context, notification));
		});
		// A connection that does not join (or enter the lobby) in time is closed: sockets are not free.
		const joinTimer = setTimeout(() => {
			if (peer.closed || peer.joined || room.moderation.waiting().some((entry) => entry.id === peer.id)) return;
			peer.logger.info({ event: 'join-timeout', timeoutMs: limits.joinTimeoutMs }, 'closed a connection that did not join in time');
			room.closePeer(peer);
		}, limits.joinTimeoutMs);
		joinTimer.unref();
		channel.on('close', () => clearTimeout(joinTimer));
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
		if (nestedDeeperThan(data, MAX_NESTING)) throw new RequestError(ErrorCode.badRequest, `request data is nested deeper than ${MAX_NESTING} levels`);
		const size = data === undefined ? 0 : Buffer.byteLength(JSON.stringify(data));
		if (size > this.#config.signalling.maxMessageBytes) {
			throw new RequestError(ErrorCode.tooLarge, `request data is ${size} bytes; the limit is ${this.#config.signalling.maxMessageBytes} (signalling.maxMessageBytes)`);
		}
		if (context.peer.closed) throw new RequestError(ErrorCode.conflict, 'peer is closed');
		const parsed = this.#schemas[method].safeParse(data);
		if (!parsed.success) throw new RequestError(ErrorCode.badRequest, `invalid ${method} request: ${describeIssues(parsed.error)}`);
		const { peer } = context;
		authorize(peer.access, method, parsed.data as never, (producerId) => {
			const producer = peer.producers.get(producerId);
			return producer && { kind: producer.kind, source: producer.appData.source };
		});
		// The schema of `method` produced data of `method`'s type; TypeScript cannot correlate the two through the lookup.
		const handler = handlers[method] as Handler<RequestMethod>;
		return handler(context, parsed.data as never);
	}
}

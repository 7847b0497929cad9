/**
 * Assembles the server: workers, rooms, HTTPS (express) and WebSocket
 * signalling (protoo) on one port. Used by main.ts and, in-process on
 * ephemeral ports, by the integration tests.
 */
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Authenticator } from './auth/Authenticator.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { createMetrics } from './http/metrics.js';
import { loadTls } from './http/tls.js';
import { createLogger, type Logger } from './log.js';
import { WorkerPool } from './media/WorkerPool.js';
import { RoomRegistry } from './rooms/RoomRegistry.js';
import { SignallingServer } from './signalling/SignallingServer.js';

export type SfuServer = {
	readonly config: Config;
	readonly logger: Logger;
	readonly pool: WorkerPool;
	readonly rooms: RoomRegistry;
	readonly auth: Authenticator;
	readonly port: number;
	/** https://host:port */
	readonly url: string;
	/** wss://host:port */
	readonly wsUrl: string;
	/** Tells peers, closes rooms and workers, stops listening. Idempotent. */
	close(): Promise<void>;
	/**
	 * Drains (SIGTERM, `POST /api/drain`): no new rooms, `/healthz` says
	 * `draining`, the meetings run on until they end or `drainTimeoutMs`
	 * passes; then their peers are told to reconnect elsewhere
	 * (`reconnectRequired` `server-draining`) and the server closes.
	 */
	drain(): Promise<void>;
	/** Resolves once the server has closed (by `close` or at the end of `drain`). */
	readonly closed: Promise<void>;
};

export async function startServer(config: Config, options: { logger?: Logger; onClosing?: () => void } = {}): Promise<SfuServer> {
	const logger = options.logger ?? createLogger(config.log.level);
	const startedAt = Date.now();
	const tls = await loadTls(config.http.tls, logger);
	const auth = await Authenticator.create(config, logger);
	const pool = await WorkerPool.start(config.mediasoup, logger);
	const rooms = new RoomRegistry(pool, config, logger);
	const metrics = createMetrics(pool, rooms);
	let shuttingDown = false;
	// Bound below, once close/drain exist; the app only calls it on an admin's request.
	let drainNow = (): Promise<void> => Promise.resolve();

	const app = createApp({ config, pool, rooms, auth, metrics, logger, startedAt, isShuttingDown: () => shuttingDown, drain: () => void drainNow() });
	const httpsServer: HttpsServer = createServer({ cert: tls.cert, key: tls.key }, app);
	const signalling = new SignallingServer(httpsServer, rooms, auth, config, metrics, logger);

	try {
		await new Promise<void>((resolve, reject) => {
			httpsServer.once('error', reject);
			httpsServer.listen(config.http.listenPort, config.http.listenHost, () => {
				httpsServer.off('error', reject);
				resolve();
			});
		});
	} catch (error) {
		pool.close();
		throw new Error(`cannot listen on ${config.http.listenHost}:${config.http.listenPort} (http.listenHost / http.listenPort): ${(error as Error).message}`);
	}
	const { port } = httpsServer.address() as AddressInfo;
	const host = config.http.listenHost === '0.0.0.0' || config.http.listenHost === '::' ? 'localhost' : config.http.listenHost;
	const hostPart = host.includes(':') ? `[${host}]` : host;
	logger.info(
		{ event: 'server-ready', url: `https://${hostPart}:${port}`, workers: pool.size, workerPids: pool.workers.map((w) => w.pid), selfSignedTls: tls.selfSigned, authMode: auth.open ? 'open' : 'tokens' },
		'server ready',
	);

	let closing: Promise<void> | undefined;
	let markClosed = () => {};
	const closed = new Promise<void>((resolve) => (markClosed = resolve));
	const close = (reason: 'server-shutdown' | 'server-draining' = 'server-shutdown') => {
		closing ??= (async () => {
			shuttingDown = true;
			options.onClosing?.();
			logger.info({ event: 'server-stopping', rooms: rooms.size, peers: rooms.peerCount(), reason }, 'server stopping');
			signalling.stop();
			rooms.closeAll(reason);
			await new Promise<void>((resolve) => {
				httpsServer.close(() => resolve());
				httpsServer.closeAllConnections();
			});
			pool.close();
			logger.info({ event: 'server-stopped' }, 'server stopped');
			logger.flush();
			markClosed();
		})();
		return closing;
	};

	let draining: Promise<void> | undefined;
	const drain = () => {
		draining ??= (async () => {
			if (closing) return closing;
			rooms.stopCreating();
			const deadline = Date.now() + config.drainTimeoutMs;
			logger.info({ event: 'server-draining', rooms: rooms.size, peers: rooms.peerCount(), timeoutMs: config.drainTimeoutMs }, 'draining: no new rooms; the meetings here run on until they end');
			// Bounded by the deadline; rooms end when their last peer leaves.
			while (rooms.size > 0 && !closing && Date.now() < deadline) await sleep(Math.min(500, deadline - Date.now()));
			logger.info({ event: 'server-drained', roomsLeft: rooms.size, peersLeft: rooms.peerCount() }, rooms.size > 0 ? 'drain timeout: telling the remaining peers to reconnect elsewhere' : 'drained: every meeting has ended');
			return close('server-draining');
		})();
		return draining;
	};
	drainNow = drain;

	return { config, logger, pool, rooms, auth, port, url: `https://${hostPart}:${port}`, wsUrl: `wss://${hostPart}:${port}`, close: () => close(), drain, closed };
}

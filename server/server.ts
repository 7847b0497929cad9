/**
 * Assembles the server: workers, rooms, HTTPS (express) and WebSocket
 * signalling (protoo) on one port. Used by main.ts and, in-process on
 * ephemeral ports, by the integration tests.
 */
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
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
};

export async function startServer(config: Config, options: { logger?: Logger } = {}): Promise<SfuServer> {
	const logger = options.logger ?? createLogger(config.log.level);
	const startedAt = Date.now();
	const tls = await loadTls(config.http.tls, logger);
	const auth = await Authenticator.create(config, logger);
	const pool = await WorkerPool.start(config.mediasoup, logger);
	const rooms = new RoomRegistry(pool, config, logger);
	const metrics = createMetrics(pool, rooms);
	let shuttingDown = false;

	const app = createApp({ config, pool, rooms, auth, metrics, logger, startedAt, isShuttingDown: () => shuttingDown });
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
	const close = () => {
		closing ??= (async () => {
			shuttingDown = true;
			logger.info({ event: 'server-stopping', rooms: rooms.size, peers: rooms.peerCount() }, 'server stopping');
			signalling.stop();
			rooms.closeAll('server-shutdown');
			await new Promise<void>((resolve) => {
				httpsServer.close(() => resolve());
				httpsServer.closeAllConnections();
			});
			pool.close();
			logger.info({ event: 'server-stopped' }, 'server stopped');
			logger.flush();
		})();
		return closing;
	};

	return { config, logger, pool, rooms, auth, port, url: `https://${hostPart}:${port}`, wsUrl: `wss://${hostPart}:${port}`, close };
}

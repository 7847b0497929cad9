/**
 * The express app: health, metrics, the REST API, and the web client.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Authenticator } from '../auth/Authenticator.js';
import { KeyedBuckets, normalizeAddress } from '../auth/limits.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { RoomLimitError } from '../rooms/RoomRegistry.js';
import { RequestError, toRequestError } from '../signalling/errors.js';
import type { HealthReport, HttpApi, HttpError } from '../signalling/protocol.js';
import { describeIssues, httpSchemas } from '../signalling/schemas.js';
import { broadcasterRoutes } from './broadcasters.js';
import { whipRoutes } from './whip/routes.js';
import type { Metrics } from './metrics.js';

export type AppContext = {
	config: Config;
	pool: WorkerPool;
	rooms: RoomRegistry;
	auth: Authenticator;
	metrics: Metrics;
	logger: Logger;
	startedAt: number;
	isShuttingDown: () => boolean;
	/** Starts draining the server (an admin's `POST /api/drain`). */
	drain: () => void;
};

export function healthReport({ pool, rooms, startedAt, isShuttingDown }: Pick<AppContext, 'pool' | 'rooms' | 'startedAt' | 'isShuttingDown'>): HealthReport {
	const workers = pool.loads().map((load) => {
		const worker = pool.worker(load.index);
		return { pid: worker?.pid ?? 0, alive: load.alive, routers: load.routers, consumers: load.consumers };
	});
	const allAlive = workers.every((worker) => worker.alive);
	return {
		status: isShuttingDown() ? 'shutting-down' : rooms.draining ? 'draining' : allAlive ? 'ok' : 'degraded',
		workers,
		expectedWorkers: pool.size,
		rooms: rooms.size,
		peers: rooms.peerCount(),
		uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
	};
}

export function createApp(context: AppContext): express.Express {
	const { config, logger } = context;
	const app = express();
	app.disable('x-powered-by');
	app.set('trust proxy', false);

	app.get('/healthz', (_req, res) => {
		const report = healthReport(context);
		res.status(report.status === 'ok' ? 200 : 503).json(report);
	});

	app.get('/metrics', async (_req, res) => {
		res.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics());
	});

	// Every API call costs a token of its address's bucket, before its body is read.
	const perAddress = new KeyedBuckets(config.limits.httpRequestsPerSecondPerIp, config.limits.httpRequestBurstPerIp);
	const rateLimit: RequestHandler = (req, res, next) => {
		if (perAddress.take(normalizeAddress(req.socket.remoteAddress ?? 'unknown'))) return next();
		const body: HttpError = { error: `too many requests from this address (limits.httpRequestsPerSecondPerIp is ${config.limits.httpRequestsPerSecondPerIp}, bursts of ${config.limits.httpRequestBurstPerIp})` };
		res.status(429).setHeader('Retry-After', '1').json(body);
	};
	const api = broadcasterRoutes(context);
	const json = express.json({ limit: config.http.maxBodyBytes, strict: true });
	const tokenBody = httpSchemas(config.signalling).openModeToken;
	app.post('/api/token', rateLimit, json, async (req, res) => {
		if (!context.auth.open) {
			const body: HttpError = { error: 'this server is not in open mode: join tokens come from your application (see README, "Deploying safely")' };
			res.status(403).json(body);
			return;
		}
		const parsed = tokenBody.safeParse(req.body ?? {});
		if (!parsed.success) throw new RequestError(400, `invalid token request: ${describeIssues(parsed.error)}`);
		const role = parsed.data.role ?? 'participant';
		const identity = `p-${randomUUID().slice(0, 18)}`;
		const { token, expiresAt } = await context.auth.mintForOpenMode(parsed.data.roomId, role, identity, parsed.data.displayName);
		const body: HttpApi['openModeToken']['response'] = { token, identity, role, expiresAt };
		res.json(body);
	});
	app.post('/api/drain', rateLimit, (req, res) => {
		context.auth.admin(req.headers.authorization);
		context.drain();
		const body: HttpApi['drain']['response'] = { status: 'draining', rooms: context.rooms.size, peers: context.rooms.peerCount(), drainTimeoutMs: config.drainTimeoutMs };
		res.status(202).json(body);
	});
	const { whip, whep } = whipRoutes(context);
	app.use('/whip', rateLimit, whip);
	app.use('/whep', rateLimit, whep);
	// The API's router checks credentials before it parses a body.
	app.use('/api/rooms', rateLimit, api);
	// mediasoup-demo's broadcaster tools use these paths.
	app.use('/rooms', rateLimit, api);
	app.use('/api', (req, res) => {
		const body: HttpError = { error: `no API route ${req.method} ${req.originalUrl}` };
		res.status(404).json(body);
	});

	if (existsSync(config.http.webDistDir)) {
		app.use(express.static(config.http.webDistDir, { index: 'index.html', maxAge: '1h', setHeaders: (res, path) => {
			if (path.endsWith('index.html')) res.setHeader('Cache-Control', 'no-cache');
		} }));
	} else {
		logger.warn({ webDistDir: config.http.webDistDir }, 'web client not built: only the API is served (npm start builds it)');
	}

	const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
		let status: number;
		let message: string;
		const bodyError = error as { type?: string; status?: number; message?: string };
		if (bodyError.type === 'entity.parse.failed') [status, message] = [400, 'request body is not valid JSON'];
		else if (bodyError.type === 'entity.too.large') [status, message] = [413, `request body exceeds ${config.http.maxBodyBytes} bytes (http.maxBodyBytes)`];
		else if (error instanceof RoomLimitError) [status, message] = [503, error.message];
		else {
			const requestError = error instanceof RequestError ? error : toRequestError(error);
			[status, message] = [requestError.code, requestError.message];
		}
		const fields = { event: 'http-error', method: req.method, path: req.path, status, reason: message };
		if (status >= 500) logger.error({ ...fields, err: error }, 'HTTP request failed');
		else logger.info(fields, 'HTTP request rejected');
		const body: HttpError = { error: message };
		res.status(status).json(body);
	};
	app.use(onError);
	return app;
}

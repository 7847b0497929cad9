/**
 * The server as its own process (`node dist/server/main.js`, what `npm start`
 * runs), configured through SFU_* environment variables, so its CPU and
 * memory are measured apart from the load generator's.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { HealthReport } from '../../../server/signalling/protocol.js';
import { HttpApiClient } from '../signalling/HttpApiClient.js';

export type ServerSettings = {
	numWorkers: number;
	routerConsumerSoftLimit: number;
	/** Extra SFU_* variables. */
	env?: Record<string, string>;
};

/** A free TCP port on loopback (the server's HTTPS/WSS port). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}

/** Servers this process started and has not stopped: killed if this process exits first, so none is left behind. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.once('exit', () => {
		for (const child of running) child.kill('SIGKILL');
	});
	// Default SIGINT/SIGTERM handling would exit without the 'exit' event's cleanup reaching the children.
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
	}
}

export class ServerProcess {
	private exited = false;
	private readonly stderrTail: string[] = [];

	private constructor(
		private readonly child: ChildProcess,
		readonly port: number,
		readonly api: HttpApiClient,
		/** The service and admin API key this server was started with. */
		readonly apiKey: string,
	) {
		running.add(child);
		child.once('exit', () => {
			this.exited = true;
			running.delete(child);
		});
		child.stderr?.on('data', (chunk: Buffer) => this.remember(chunk));
		child.stdout?.on('data', (chunk: Buffer) => this.remember(chunk));
	}

	private remember(chunk: Buffer): void {
		this.stderrTail.push(chunk.toString('utf8'));
		if (this.stderrTail.length > 50) this.stderrTail.shift();
	}

	get pid(): number {
		return this.child.pid!;
	}

	get url(): string {
		return `https://127.0.0.1:${this.port}`;
	}

	get wsUrl(): string {
		return `wss://127.0.0.1:${this.port}`;
	}

	get alive(): boolean {
		return !this.exited;
	}

	/** Output the server printed last (for error messages). */
	get outputTail(): string {
		return this.stderrTail.join('').slice(-4000);
	}

	static async start(rootDir: string, settings: ServerSettings, timeoutMs = 30_000): Promise<ServerProcess> {
		const main = join(rootDir, 'dist', 'server', 'main.js');
		if (!existsSync(main)) throw new Error(`${main} does not exist: build the server first (node scripts/setup.mjs --for start)`);
		const port = await freePort();
		// The generator drives broadcasters over the HTTP API, which needs a credential; this run's own.
		const apiKey = randomBytes(24).toString('base64url');
		const env: NodeJS.ProcessEnv = {
			...process.env,
			SFU_AUTH_SERVICE_API_KEYS: apiKey,
			SFU_AUTH_ADMIN_API_KEYS: apiKey,
			// One address (loopback) stands for every simulated client: the per-address limits would count them as one abuser.
			SFU_LIMITS_MAX_CONNECTIONS_PER_IP: '100000',
			SFU_LIMITS_HTTP_REQUESTS_PER_SECOND_PER_IP: '100000',
			SFU_LIMITS_HTTP_REQUEST_BURST_PER_IP: '100000',
			SFU_HTTP_LISTEN_HOST: '127.0.0.1',
			SFU_HTTP_LISTEN_PORT: String(port),
			SFU_MEDIASOUP_NUM_WORKERS: String(settings.numWorkers),
			SFU_MEDIASOUP_LISTEN_IP: '127.0.0.1',
			SFU_MEDIASOUP_ANNOUNCED_ADDRESS: '127.0.0.1',
			SFU_MEDIASOUP_PLAIN_TRANSPORT_LISTEN_IP: '127.0.0.1',
			// 0: each worker's WebRtcServer takes a free port (Chromium subscribers get it from ICE candidates).
			SFU_MEDIASOUP_WEB_RTC_SERVER_PORT: '0',
			SFU_MEDIASOUP_ROUTER_CONSUMER_SOFT_LIMIT: String(settings.routerConsumerSoftLimit),
			SFU_MEDIASOUP_WORKER_LOG_LEVEL: 'error',
			SFU_LOG_LEVEL: 'warn',
			...settings.env,
		};
		installExitHook();
		const child = spawn(process.execPath, [main], { cwd: rootDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
		const server = new ServerProcess(child, port, new HttpApiClient({ baseUrl: `https://127.0.0.1:${port}`, maxSockets: 8, apiKey }), apiKey);
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			if (!server.alive) throw new Error(`the server exited during start-up:\n${server.outputTail}`);
			try {
				const health = await server.api.health();
				if (health.status === 'ok' && health.workers.length === settings.numWorkers) return server;
			} catch {
				// not listening yet
			}
			if (Date.now() > deadline) {
				await server.stop();
				throw new Error(`the server did not report healthy within ${timeoutMs} ms:\n${server.outputTail}`);
			}
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}

	health(): Promise<HealthReport> {
		return this.api.health();
	}

	/** SIGTERM (graceful shutdown), then SIGKILL after `graceMs`. */
	async stop(graceMs = 8000): Promise<void> {
		this.api.close();
		if (this.exited) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		this.child.kill('SIGTERM');
		const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
		await exited;
		clearTimeout(timer);
	}
}

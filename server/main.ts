/**
 * Entry point: configuration → workers → HTTPS/WebSocket → ready. SIGTERM
 * drains (meetings run on until they end or drainTimeoutMs, no new rooms),
 * SIGINT stops at once; either closes everything gracefully and exits 0. A
 * second signal, or a close that overruns shutdownTimeoutMs, exits at once.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { startServer, type SfuServer } from './server.js';

async function main(): Promise<void> {
	let config: Config;
	try {
		config = loadConfig();
	} catch (error) {
		const logger = createLogger('info');
		logger.fatal({ event: 'config-invalid' }, error instanceof ConfigError ? error.message : String(error));
		logger.flush();
		process.exitCode = 1;
		return;
	}
	const logger = createLogger(config.log.level);
	let server: SfuServer;
	// However the server ends up closing (a signal, an admin's drain), closing is bounded in time.
	const onClosing = () => {
		setTimeout(() => {
			logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting');
			process.exit(1);
		}, config.shutdownTimeoutMs).unref();
	};
	try {
		server = await startServer(config, { logger, onClosing });
	} catch (error) {
		logger.fatal({ event: 'start-failed', err: error }, (error as Error).message);
		logger.flush();
		process.exit(1);
	}
	void server.closed.then(() => process.exit(0));

	let signalled = false;
	const stop = (signal: NodeJS.Signals) => {
		if (signalled) {
			logger.warn({ signal }, 'second signal: exiting now');
			process.exit(1);
		}
		signalled = true;
		// SIGTERM (a process manager, a rolling restart) drains; SIGINT (Ctrl-C) stops now.
		const drain = signal === 'SIGTERM' && config.drainTimeoutMs > 0;
		logger.info({ event: 'signal', signal }, drain ? 'draining, then shutting down' : 'shutting down');
		void (drain ? server.drain() : server.close());
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	process.on('unhandledRejection', (reason) => logger.error({ event: 'unhandled-rejection', err: reason }, 'unhandled promise rejection'));
}

void main();

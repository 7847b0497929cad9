/**
 * Entry point: configuration → workers → HTTPS/WebSocket → ready. SIGINT or
 * SIGTERM closes everything gracefully and exits 0; a second signal, or a
 * shutdown that overruns shutdownTimeoutMs, exits at once.
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
	try {
		server = await startServer(config, { logger });
	} catch (error) {
		logger.fatal({ event: 'start-failed', err: error }, (error as Error).message);
		logger.flush();
		process.exit(1);
	}

	let stopping = false;
	const stop = (signal: NodeJS.Signals) => {
		if (stopping) {
			logger.warn({ signal }, 'second signal: exiting now');
			process.exit(1);
		}
		stopping = true;
		logger.info({ event: 'signal', signal }, 'shutting down');
		setTimeout(() => {
			logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting');
			process.exit(1);
		}, config.shutdownTimeoutMs).unref();
		void server.close().then(() => process.exit(0));
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	process.on('unhandledRejection', (reason) => logger.error({ event: 'unhandled-rejection', err: reason }, 'unhandled promise rejection'));
}

void main();

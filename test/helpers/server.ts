/** The real server, in-process, on ephemeral ports, with real mediasoup workers. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigInput, type DeepPartial } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { startServer, type SfuServer } from '../../server/server.js';

type Overrides = DeepPartial<ConfigInput>;

function merge<T extends Record<string, unknown>>(base: T, override: Record<string, unknown>): T {
	const result: Record<string, unknown> = { ...base };
	for (const [key, value] of Object.entries(override)) {
		const current = result[key];
		result[key] =
			typeof current === 'object' && current !== null && typeof value === 'object' && value !== null && !Array.isArray(value)
				? merge(current as Record<string, unknown>, value as Record<string, unknown>)
				: value;
	}
	return result as T;
}

/** The test servers' service and admin API key (the HTTP helpers send it unless told otherwise). */
export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export const testDefaults: Overrides = {
	http: { listenHost: '127.0.0.1', listenPort: 0, tls: { selfSignedDir: join(tmpdir(), 'sfu-server-test-tls') } },
	auth: { serviceApiKeys: [TEST_API_KEY], adminApiKeys: [TEST_API_KEY], openModeSecretFile: join(tmpdir(), 'sfu-server-test-open-mode-secret') },
	mediasoup: { numWorkers: 1, webRtcServerPort: 0, listenIp: '127.0.0.1', announcedAddress: '', workerLogLevel: 'error', loadSampleIntervalMs: 500 },
	rooms: { emptyRoomGraceMs: 100 },
	log: { level: 'silent' },
};

export async function startTestServer(overrides: Overrides = {}): Promise<SfuServer> {
	const config = loadConfig({ env: {}, file: null, overrides: merge(testDefaults as Record<string, unknown>, overrides as Record<string, unknown>) });
	const level = process.env.TEST_LOG_LEVEL ?? config.log.level;
	return startServer(config, { logger: createLogger(level) });
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Polls `check` until it returns a truthy value; fails after `timeoutMs` with `what`. Never a fixed sleep. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, { timeoutMs = 20_000, intervalMs = 50 } = {}): Promise<Truthy<T>> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value) return value as Truthy<T>;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}

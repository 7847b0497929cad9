/**
 * The k6 scenarios against the real server, at a tiny load, where a `k6`
 * binary is on the PATH (it is not an npm package; see loadtest/README.md).
 * Elsewhere they are only type-checked (test/unit/loadtest/typecheck.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { startServer, type SfuServer } from '../../server/server.js';

const root = join(import.meta.dirname, '..', '..');
const k6Available = spawnSync('k6', ['version'], { encoding: 'utf8' }).status === 0;

type K6Summary = { metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }> };

describe.skipIf(!k6Available)('k6 signalling scenarios against the real server (k6 on PATH)', () => {
	let server: SfuServer;
	const summaryDir = mkdtempSync(join(tmpdir(), 'k6-summary-'));

	beforeAll(async () => {
		const config = loadConfig({
			env: {},
			overrides: {
				http: { listenHost: '127.0.0.1', listenPort: 0, tls: { selfSignedDir: join(tmpdir(), 'sfu-loadtest-k6-tls') } },
				mediasoup: { numWorkers: 1, webRtcServerPort: 0, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', workerLogLevel: 'error' },
				// Every k6 virtual user comes from loopback: one address for the per-address limits.
				limits: { maxConnectionsPerIp: 10_000 },
				log: { level: 'silent' },
			},
		});
		server = await startServer(config, { logger: createLogger('silent') });
	});

	afterAll(async () => {
		await server?.close();
	});

	/** Runs k6 as a child process; asynchronously, since the server answers from this very event loop. */
	async function run(scenario: string, env: Record<string, string>): Promise<K6Summary> {
		const child = spawn('k6', ['run', '--quiet', join('loadtest', 'k6', `${scenario}.ts`)], {
			cwd: root,
			env: { ...process.env, ...env, SFU_URL: server.wsUrl, SUMMARY_DIR: summaryDir },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let output = '';
		child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
		const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
		const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
		clearTimeout(timer);
		expect(code, output).toBe(0);
		const file = readdirSync(summaryDir).filter((name) => name.startsWith(`${scenario}-`)).sort().pop();
		expect(file, `no ${scenario} summary JSON in ${summaryDir}`).toBeDefined();
		return JSON.parse(readFileSync(join(summaryDir, file!), 'utf8')) as K6Summary;
	}

	it('join churn: peers join, produce, and leave at a fixed arrival rate', async () => {
		const summary = await run('join-churn', { RATE: '2', DURATION: '4s', HOLD_S: '1', ROOMS: '2' });
		expect(summary.metrics.join_ready_time?.values.count).toBeGreaterThanOrEqual(6);
		expect(summary.metrics['protoo_request_rtt{method:produce}']?.values.count).toBeGreaterThan(0);
		expect(summary.metrics.protoo_request_errors?.values.rate).toBe(0);
	});

	it('many rooms held: peers hold their sessions and ask for stats', async () => {
		const summary = await run('many-rooms', { ROOMS: '2', PEERS: '2', HOLD_S: '3', RAMP_S: '1', STATS_INTERVAL_S: '1' });
		expect(summary.metrics.join_ready_time?.values.count).toBe(4);
		expect(summary.metrics['protoo_request_rtt{method:getTransportStats}']?.values.count).toBeGreaterThanOrEqual(8);
	});

	it('one big room: every join reaches everyone already there as newPeer', async () => {
		const summary = await run('big-room', { TARGET: '8', JOIN_INTERVAL_MS: '50', HOLD_S: '1', BUCKET: '4' });
		// Peer i sees the 7 − i peers that join after it: 28 newPeer notifications in all.
		expect(summary.metrics.newpeer_delivery_time?.values.count).toBe(28);
		expect(summary.metrics['join_ready_time{room_size:4-7}']?.values.count).toBe(4);
		expect(summary.metrics['join_ready_time{room_size:0-3}']?.values.count).toBe(4);
	});

	it('a stream\'s audience: viewers with viewer tokens join at a constant rate, counted and never announced', async () => {
		const summary = await run('stream-audience', { VIEWERS: '6', RATE: '3', HOLD_S: '1' });
		expect(summary.metrics.join_joined_time?.values.count).toBe(6);
		expect(summary.metrics.viewer_new_peer_notifications?.values.count ?? 0).toBe(0);
		expect(summary.metrics.viewer_audience_notifications?.values.count).toBeGreaterThan(0);
		expect(summary.metrics.join_failures?.values.count ?? 0).toBe(0);
	});
});

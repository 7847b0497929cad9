/**
 * The load generator against the real server at a tiny load: one synthetic
 * publisher (Opus + 3-encoding VP8 simulcast over SRTP), ten SRTP
 * PlainTransport subscribers, ten seconds. Asserts delivery and loss < 1%
 * only: performance is measured by `npm run loadtest:capacity`, never here.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { startServer, type SfuServer } from '../../server/server.js';
import { MediaClock } from '../../loadtest/src/media/MediaClock.js';
import { Publisher } from '../../loadtest/src/media/Publisher.js';
import { SubscriberPool } from '../../loadtest/src/media/SubscriberPool.js';
import { PROFILES } from '../../loadtest/src/media/profile.js';
import { readRtpHeader } from '../../loadtest/src/rtp/rtp.js';
import { parseVp8Descriptor } from '../../loadtest/src/rtp/vp8.js';
import { HttpApiClient } from '../../loadtest/src/signalling/HttpApiClient.js';
import { TEST_API_KEY } from '../helpers/server.js';
import { probeJoin } from '../../loadtest/src/signalling/ProtooProbe.js';
import { LatencySamples } from '../../loadtest/src/stats/percentiles.js';

const SUBSCRIBERS = 10;
const MEASURE_MS = 10_000;
const ROOM = 'loadtest-smoke';

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

describe('load generator smoke test (1 publisher, 10 SRTP subscribers, 10 s)', () => {
	let server: SfuServer;
	let api: HttpApiClient;
	let publisher: Publisher | undefined;
	let pool: SubscriberPool | undefined;
	const clock = new MediaClock();

	beforeAll(async () => {
		const config = loadConfig({
			env: {},
			overrides: {
				http: { listenHost: '127.0.0.1', listenPort: 0, tls: { selfSignedDir: join(tmpdir(), 'sfu-loadtest-smoke-tls') } },
				mediasoup: { numWorkers: 1, webRtcServerPort: 0, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', workerLogLevel: 'error' },
				auth: { serviceApiKeys: [TEST_API_KEY], openModeSecretFile: join(tmpdir(), 'sfu-server-test-open-mode-secret') },
				// The generator's subscribers all come from loopback.
				limits: { httpRequestsPerSecondPerIp: 10_000, httpRequestBurstPerIp: 10_000 },
				log: { level: 'warn' },
			},
		});
		server = await startServer(config, { logger: createLogger('warn') });
		api = new HttpApiClient({ baseUrl: server.url, apiKey: TEST_API_KEY });
	});

	afterAll(async () => {
		clock.stop();
		await pool?.close().catch(() => undefined);
		await publisher?.close().catch(() => undefined);
		api?.close();
		await server?.close();
	});

	it('delivers every stream to every subscriber with loss under 1%, over real SRTP', async () => {
		publisher = await Publisher.start({ api, roomId: ROOM, id: 'smoke-publisher', profile: PROFILES['camera-720p'], seed: 1 });
		clock.add(publisher);
		await publisher.allLayersReported();
		pool = await SubscriberPool.create({ api, sockets: 2, verifyEvery: 25 });
		for (let i = 0; i < SUBSCRIBERS; i++) await pool.add(ROOM, `smoke-subscriber-${i}`, publisher.producerIds);

		const streams = pool.streams;
		expect(streams).toHaveLength(SUBSCRIBERS * 2);
		await until('every consumer to receive its first packet', () => streams.every((s) => s.stats.packets > 0), 15_000);

		// Look inside a sample of what arrives: SRTP that decrypts with the transport's keys, VP8 descriptors intact.
		const videoSsrcs = new Set(streams.filter((s) => s.kind === 'video').map((s) => s.ssrc));
		const seen = { decrypted: 0, video: 0, keyFrames: 0, pictureIds: 0 };
		const untap = pool.tap((message, port) => {
			if (seen.video >= 20_000 || (message[1]! >= 192 && message[1]! <= 223)) return;
			const clear = pool!.decrypt(message, port);
			seen.decrypted++;
			const header = readRtpHeader(clear);
			if (!header || !videoSsrcs.has(header.ssrc)) return;
			seen.video++;
			const descriptor = parseVp8Descriptor(clear.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength));
			if (descriptor?.pictureId !== undefined) seen.pictureIds++;
			if (descriptor?.isKeyFrame) seen.keyFrames++;
		});
		const before = new Map(streams.map((s) => [s, s.stats.counters()]));
		await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
		untap();

		for (const stream of streams) {
			const start = before.get(stream)!;
			const end = stream.stats.counters();
			const expected = end.expected - start.expected;
			const received = end.packets - start.packets;
			const loss = expected > 0 ? Math.max(0, expected - received) / expected : 1;
			// Audio: 50 packets/s; video (top layer): well over 50/s. Both for 10 s.
			expect(received, `${stream.subscriberId} ${stream.kind}`).toBeGreaterThan(stream.kind === 'audio' ? 400 : 800);
			expect(loss, `${stream.subscriberId} ${stream.kind} loss`).toBeLessThan(0.01);
			expect(stream.authFailures).toBe(0);
		}
		expect(seen.video).toBeGreaterThan(100);
		expect(seen.pictureIds).toBe(seen.video);
		expect(seen.keyFrames).toBeGreaterThan(0);
		// The SFU asked the publisher for key frames over SRTCP, and the publisher could read them.
		expect(publisher.stats.keyFrameRequests).toBeGreaterThan(0);
		expect(publisher.stats.rtcpErrors).toBe(0);
	});

	it('answers protoo joins while media flows', async () => {
		const latency = new LatencySamples();
		const peers = await probeJoin(server.wsUrl, ROOM, 'smoke-probe', latency);
		expect(peers).toBeGreaterThanOrEqual(1);
		expect(latency.labels()).toEqual(expect.arrayContaining(['join', 'createWebRtcTransport', 'getTransportStats', 'join total']));
	});
});

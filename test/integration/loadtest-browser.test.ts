/**
 * The load generator's real-frame publisher seen by a real browser: VP8
 * frames encoded once by Chromium's WebCodecs encoder, sent as three-layer
 * simulcast over SRTP by the synthetic publisher, forwarded by the server, and
 * decoded by a headless Chromium subscriber (mediasoup-client over
 * WebRTC). Asserts delivery, decoding and loss < 1% only.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { startServer, type SfuServer } from '../../server/server.js';
import { BrowserSubscribers, type BrowserInboundStats } from '../../loadtest/src/browser/BrowserSubscribers.js';
import { MediaClock } from '../../loadtest/src/media/MediaClock.js';
import { Publisher } from '../../loadtest/src/media/Publisher.js';
import { vp8Clips } from '../../loadtest/src/media/clips.js';
import { PROFILES } from '../../loadtest/src/media/profile.js';
import { HttpApiClient } from '../../loadtest/src/signalling/HttpApiClient.js';
import { TEST_API_KEY } from '../helpers/server.js';

const root = join(import.meta.dirname, '..', '..');
const ROOM = 'loadtest-browser';

function video(stats: BrowserInboundStats[][]): BrowserInboundStats | undefined {
	return stats[0]?.find((stream) => stream.kind === 'video');
}

describe('real VP8 frames from the load generator, decoded by Chromium', () => {
	let server: SfuServer;
	let api: HttpApiClient;
	let publisher: Publisher | undefined;
	let browsers: BrowserSubscribers | undefined;
	const clock = new MediaClock();

	beforeAll(async () => {
		const config = loadConfig({
			env: {},
			overrides: {
				http: { listenHost: '127.0.0.1', listenPort: 0, tls: { selfSignedDir: join(tmpdir(), 'sfu-loadtest-browser-tls') } },
				mediasoup: { numWorkers: 1, webRtcServerPort: 0, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', workerLogLevel: 'error' },
				auth: { serviceApiKeys: [TEST_API_KEY], openModeSecretFile: join(tmpdir(), 'sfu-server-test-open-mode-secret') },
				// The generator's subscribers all come from loopback.
				limits: { httpRequestsPerSecondPerIp: 10_000, httpRequestBurstPerIp: 10_000 },
				log: { level: 'silent' },
			},
		});
		server = await startServer(config, { logger: createLogger('silent') });
		api = new HttpApiClient({ baseUrl: server.url, apiKey: TEST_API_KEY });
	});

	afterAll(async () => {
		await browsers?.close().catch(() => undefined);
		clock.stop();
		await publisher?.close().catch(() => undefined);
		api?.close();
		await server?.close();
	});

	it('a browser subscriber decodes the stream at its frame rate without loss', async () => {
		const profile = PROFILES['camera-360p'];
		const clips = await vp8Clips(root, profile);
		expect(clips.map((clip) => clip.frames[0]?.key)).toEqual([true, true, true]);
		publisher = await Publisher.start({ api, roomId: ROOM, id: 'clip-publisher', profile, clips, seed: 3 });
		clock.add(publisher);
		await publisher.allLayersReported();
		browsers = await BrowserSubscribers.start({ rootDir: root, serverUrl: server.url, wsUrl: server.wsUrl, roomId: ROOM, count: 1 });

		const deadline = Date.now() + 20_000;
		while ((video(await browsers.stats())?.framesDecoded ?? 0) < 10) {
			if (Date.now() > deadline) throw new Error(`the browser decoded no video: ${JSON.stringify(await browsers.stats())}`);
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
		const before = video(await browsers.stats())!;
		const requestsBefore = publisher.stats.keyFrameRequests;
		await new Promise((resolve) => setTimeout(resolve, 5000));
		const after = video(await browsers.stats())!;

		const frames = (after.framesDecoded ?? 0) - (before.framesDecoded ?? 0);
		const received = after.packetsReceived - before.packetsReceived;
		const lost = after.packetsLost - before.packetsLost;
		// Layers are 15 or 30 fps; over 5 s at least 15 fps must have been decoded, whatever layer BWE picked.
		expect(frames).toBeGreaterThanOrEqual(75);
		expect(received).toBeGreaterThan(100);
		expect(lost / (received + lost)).toBeLessThan(0.01);
		// A decoder that fails asks for key frames again and again; one that decodes does not.
		expect(publisher.stats.keyFrameRequests - requestsBefore).toBeLessThanOrEqual(3);
	});
});

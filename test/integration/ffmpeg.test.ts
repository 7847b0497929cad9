/**
 * The README's ingest example, run for real: examples/ffmpeg-broadcast.sh
 * streams VP8 and Opus from ffmpeg into a room; a WebRTC peer is offered
 * both, and an RTP subscriber receives the packets through the SFU.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/config.js';
import type { SfuServer } from '../../server/server.js';
import type { HttpApi } from '../../server/signalling/protocol.js';
import { joinRoom } from '../helpers/fixtures.js';
import { http, post as postJson } from '../helpers/http.js';
import { rtpReceiver } from '../helpers/rtp.js';
import { startTestServer, TEST_API_KEY, waitFor } from '../helpers/server.js';

let server: SfuServer;

beforeAll(async () => {
	server = await startTestServer();
});

afterAll(async () => {
	await server.close();
});

const post = <K extends keyof HttpApi>(path: string, body: unknown) => postJson<K>(server, path, body);

describe('examples/ffmpeg-broadcast.sh', () => {
	it('streams VP8 and Opus from ffmpeg to the room, and cleans up when it ends', async () => {
		const watcher = await joinRoom(server, 'ffmpeg', 'watcher');
		const script = spawn('bash', [join(projectRoot(), 'examples', 'ffmpeg-broadcast.sh')], {
			env: { ...process.env, SFU_API_KEY: TEST_API_KEY, SERVER_URL: server.url, ROOM_ID: 'ffmpeg', BROADCASTER_ID: 'ffmpeg', DURATION: '8' },
			stdio: ['ignore', 'ignore', 'pipe'],
		});
		let stderr = '';
		script.stderr.on('data', (chunk) => (stderr += chunk));
		const exited = new Promise<number | null>((resolve) => script.on('exit', resolve));

		const offers = await waitFor('watcher offered ffmpeg audio and video', () => {
			const fromFfmpeg = watcher.peer.serverRequestsOf('newConsumer').filter((o) => o.peerId === 'ffmpeg');
			return fromFfmpeg.length === 2 && fromFfmpeg;
		});
		expect(offers.map((o) => o.appData.source).sort()).toEqual(['mic', 'webcam']);

		const receiver = await rtpReceiver();
		await post<'createBroadcaster'>('/api/rooms/ffmpeg/broadcasters', { id: 'recorder', displayName: 'recorder' });
		const egress = await post<'createPlainTransport'>('/api/rooms/ffmpeg/broadcasters/recorder/transports', { comedia: false, enableSrtp: true });
		await post<'connectPlainTransport'>(`/api/rooms/ffmpeg/broadcasters/recorder/transports/${egress.id}/connect`, {
			ip: '127.0.0.1',
			port: receiver.port,
			srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') },
		});
		const ssrcs: Record<string, number> = {};
		for (const offer of offers) {
			const consumer = await post<'createConsumer'>(`/api/rooms/ffmpeg/broadcasters/recorder/transports/${egress.id}/consume?producerId=${offer.producerId}`, {});
			ssrcs[consumer.kind] = consumer.rtpParameters.encodings![0]!.ssrc!;
		}
		// About 1 Mbit/s of VP8 and 50 Opus packets per second: a couple of seconds of each.
		await waitFor('video from ffmpeg through the SFU', () => (receiver.streams.get(ssrcs.video!)?.packets ?? 0) > 100);
		await waitFor('audio from ffmpeg through the SFU', () => (receiver.streams.get(ssrcs.audio!)?.packets ?? 0) > 50);
		receiver.close();

		expect(await exited, stderr).toBe(0);
		await watcher.peer.waitForNotification('peerClosed', (p) => p.peerId === 'ffmpeg');
		expect(server.rooms.get('ffmpeg')?.peers.has('ffmpeg')).toBe(false);
		watcher.peer.close();
	}, 60_000);
});

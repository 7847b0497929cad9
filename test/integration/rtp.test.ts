/**
 * Real RTP through the SFU: the test sends Opus and VP8 over UDP into one
 * broadcaster's PlainTransport; another broadcaster consumes them over a
 * PlainTransport with SRTP, and the test counts what arrives on its socket.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types as ms } from 'mediasoup';
import type { SfuServer } from '../../server/server.js';
import type { HttpApi } from '../../server/signalling/protocol.js';
import { chromium, joinRoom } from '../helpers/fixtures.js';
import { http, post as postJson } from '../helpers/http.js';
import { rtpPacket, rtpReceiver, vp8Payload } from '../helpers/rtp.js';
import { startTestServer, waitFor } from '../helpers/server.js';

let server: SfuServer;

beforeAll(async () => {
	server = await startTestServer();
});

afterAll(async () => {
	await server.close();
});

const AUDIO_SSRC = 11111111;
const VIDEO_SSRC = 22222222;
const PACKETS = 150;

const opusParameters: ms.RtpParameters = {
	codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { 'sprop-stereo': 1 } }],
	encodings: [{ ssrc: AUDIO_SSRC }],
};
const vp8Parameters: ms.RtpParameters = {
	codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }],
	encodings: [{ ssrc: VIDEO_SSRC }],
};

const post = <K extends keyof HttpApi>(path: string, body: unknown) => postJson<K>(server, path, body);

describe('RTP through broadcaster PlainTransports', () => {
	it('forwards every packet from an ingest transport to an SRTP egress transport and to WebRTC peers', async () => {
		const room = '/api/rooms/rtp';
		const watcher = await joinRoom(server, 'rtp', 'watcher');

		await post<'createBroadcaster'>(`${room}/broadcasters`, { id: 'ingest', displayName: 'ffmpeg', device: { name: 'ffmpeg' } });
		await watcher.peer.waitForNotification('newPeer', (p) => p.id === 'ingest');
		const ingest = await post<'createPlainTransport'>(`${room}/broadcasters/ingest/transports`, { type: 'plain', comedia: true, rtcpMux: true });
		const audio = await post<'createProducer'>(`${room}/broadcasters/ingest/transports/${ingest.id}/producers`, { kind: 'audio', rtpParameters: opusParameters, appData: { source: 'mic' } });
		const video = await post<'createProducer'>(`${room}/broadcasters/ingest/transports/${ingest.id}/producers`, { kind: 'video', rtpParameters: vp8Parameters, appData: { source: 'webcam' } });

		// WebRTC peers of the room are offered the broadcaster's producers like any other peer's.
		await waitFor('watcher offered both producers', () => watcher.peer.serverRequestsOf('newConsumer').filter((o) => o.peerId === 'ingest').length === 2);

		const receiver = await rtpReceiver();
		const created = await post<'createBroadcaster'>(`${room}/broadcasters`, { id: 'egress', displayName: 'recorder', rtpCapabilities: chromium.rtpCapabilities });
		expect(created.peers.find((p) => p.id === 'ingest')?.producers.map((p) => p.id).sort()).toEqual([audio.id, video.id].sort());
		const egress = await post<'createPlainTransport'>(`${room}/broadcasters/egress/transports`, { comedia: false, rtcpMux: true, enableSrtp: true, srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' });
		expect(egress.srtpParameters?.cryptoSuite).toBe('AES_CM_128_HMAC_SHA1_80');
		await post<'connectPlainTransport'>(`${room}/broadcasters/egress/transports/${egress.id}/connect`, {
			ip: '127.0.0.1',
			port: receiver.port,
			srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') },
		});
		const audioConsumer = await post<'createConsumer'>(`${room}/broadcasters/egress/transports/${egress.id}/consume?producerId=${audio.id}`, {});
		const videoConsumer = await post<'createConsumer'>(`${room}/broadcasters/egress/transports/${egress.id}/consume`, { producerId: video.id });
		const outAudioSsrc = audioConsumer.rtpParameters.encodings![0]!.ssrc!;
		const outVideoSsrc = videoConsumer.rtpParameters.encodings![0]!.ssrc!;

		const sender = createSocket('udp4');
		const send = (packet: Buffer) => new Promise<void>((resolve, reject) => sender.send(packet, ingest.port, ingest.ip, (error) => (error ? reject(error) : resolve())));
		const AUDIO_PAYLOAD = 120;
		for (let i = 0; i < PACKETS; i++) {
			await send(rtpPacket({ payloadType: 100, sequenceNumber: 1000 + i, timestamp: i * 960, ssrc: AUDIO_SSRC, payload: Buffer.alloc(AUDIO_PAYLOAD, i & 0xff) }));
			await send(rtpPacket({ payloadType: 101, sequenceNumber: 5000 + i, timestamp: i * 3000, ssrc: VIDEO_SSRC, marker: true, payload: vp8Payload(i, i % 30 === 0) }));
			if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 10));
		}
		sender.close();

		await waitFor('all audio packets at the subscriber', () => (receiver.streams.get(outAudioSsrc)?.packets ?? 0) >= PACKETS);
		await waitFor('all video packets at the subscriber', () => (receiver.streams.get(outVideoSsrc)?.packets ?? 0) >= PACKETS);
		const audioIn = receiver.streams.get(outAudioSsrc)!;
		expect(audioIn.packets).toBe(PACKETS);
		// SRTP (AES_CM_128_HMAC_SHA1_80) adds a 10-byte authentication tag to each packet.
		expect([...audioIn.sizes].every((size) => size >= 12 + AUDIO_PAYLOAD + 10)).toBe(true);

		const consumer = server.rooms.get('rtp')!.peers.get('egress')!.consumers.get(audioConsumer.id)!;
		const stats = await consumer.getStats();
		expect(stats.find((s) => s.type === 'outbound-rtp')?.packetCount).toBe(PACKETS);
		const producerStats = await server.rooms.get('rtp')!.peers.get('ingest')!.producers.get(video.id)!.getStats();
		expect(producerStats[0]?.packetCount).toBe(PACKETS);

		expect((await http(server, 'DELETE', `${room}/broadcasters/ingest`)).status).toBe(200);
		await watcher.peer.waitForNotification('peerClosed', (p) => p.peerId === 'ingest');
		await waitFor('egress consumers closed with the producers', () => server.rooms.get('rtp')!.peers.get('egress')!.consumers.size === 0);
		receiver.close();
		await http(server, 'DELETE', `${room}/broadcasters/egress`);
		watcher.peer.close();
	});
});

describe('speaker detection', () => {
	it('reports the dominant speaker (activeSpeaker) and who speaks, loudest first (speakingPeers)', { timeout: 120_000 }, async () => {
		const room = '/api/rooms/speakers';
		const listener = await joinRoom(server, 'speakers', 'listener');
		const sender = createSocket('udp4');
		const speakers: { id: string; ip: string; port: number; ssrc: number; level: number }[] = [];
		const addSpeaker = async (id: string, ssrc: number, level: number) => {
			await post<'createBroadcaster'>(`${room}/broadcasters`, { id, displayName: id });
			const transport = await post<'createPlainTransport'>(`${room}/broadcasters/${id}/transports`, { comedia: true });
			await post<'createProducer'>(`${room}/broadcasters/${id}/transports/${transport.id}/producers`, {
				kind: 'audio',
				rtpParameters: {
					codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
					headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 }],
					encodings: [{ ssrc }],
				},
			});
			speakers.push({ id, ip: transport.ip, port: transport.port, ssrc, level });
		};
		// 20 ms Opus frames with their audio level from every speaker, until `done` (at most 3000 frames or 60 s).
		let sequenceNumber = 0;
		const speakUntil = async (done: () => boolean) => {
			const deadline = Date.now() + 60_000;
			for (let frames = 0; frames < 3000 && Date.now() < deadline && !done(); frames++, sequenceNumber++) {
				for (const speaker of speakers) {
					sender.send(rtpPacket({ payloadType: 100, sequenceNumber, timestamp: sequenceNumber * 960, ssrc: speaker.ssrc, audioLevel: speaker.level, payload: Buffer.alloc(60, 7) }), speaker.port, speaker.ip);
				}
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		};

		// The first speaker of a room is its dominant speaker.
		await addSpeaker('loud', 31313131, 20);
		await speakUntil(() => listener.peer.received('activeSpeaker').some((n) => n.peerId === 'loud'));
		await listener.peer.waitForNotification('activeSpeaker', (n) => n.peerId === 'loud');

		// With a second, quieter speaker, both are reported, loudest first, with their levels in dBov.
		await addSpeaker('quiet', 42424242, 60);
		await speakUntil(() => listener.peer.received('speakingPeers').some((n) => n.peerVolumes.length === 2));
		const volumes = await listener.peer.waitForNotification('speakingPeers', (n) => n.peerVolumes.length === 2);
		expect(volumes.peerVolumes).toEqual([{ peerId: 'loud', volume: -20 }, { peerId: 'quiet', volume: -60 }]);

		// Silence once the audio stops; no dominant speaker once the dominant one leaves.
		await listener.peer.waitForNotification('speakingPeers', (n) => n.peerVolumes.length === 0);
		await http(server, 'DELETE', `${room}/broadcasters/loud`);
		await listener.peer.waitForNotification('activeSpeaker', (n) => n.peerId === null);
		sender.close();
		listener.peer.close();
	});
});

describe('simulcast through the broadcaster API', () => {
	it('consumes a simulcast producer and sets the consumer\'s preferred layers', async () => {
		const room = '/api/rooms/simulcast';
		await post<'createBroadcaster'>(`${room}/broadcasters`, { id: 'cam', displayName: 'cam' });
		const ingest = await post<'createPlainTransport'>(`${room}/broadcasters/cam/transports`, { comedia: true });
		const { id: producerId } = await post<'createProducer'>(`${room}/broadcasters/cam/transports/${ingest.id}/producers`, {
			kind: 'video',
			rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: 1001 }, { ssrc: 1002 }, { ssrc: 1003 }] },
		});
		await post<'createBroadcaster'>(`${room}/broadcasters`, { id: 'rec', displayName: 'rec' });
		const egress = await post<'createPlainTransport'>(`${room}/broadcasters/rec/transports`, { comedia: true });
		const consumer = await post<'createConsumer'>(`${room}/broadcasters/rec/transports/${egress.id}/consume`, { producerId });
		expect(consumer.type).toBe('simulcast');
		expect(await post<'setPreferredLayers'>(`${room}/broadcasters/rec/consumers/${consumer.id}/preferred-layers`, { spatialLayer: 0 })).toEqual({});
		const serverConsumer = server.rooms.get('simulcast')!.peers.get('rec')!.consumers.get(consumer.id)!;
		expect(serverConsumer.preferredLayers?.spatialLayer).toBe(0);
		const bad = await http(server, 'POST', `${room}/broadcasters/rec/consumers/${consumer.id}/preferred-layers`, { spatialLayer: -1 });
		expect(bad.status).toBe(400);
		await http(server, 'DELETE', `${room}/broadcasters/cam`);
		await http(server, 'DELETE', `${room}/broadcasters/rec`);
	});
});

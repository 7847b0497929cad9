/**
 * The baseline protocol end to end: real server, real mediasoup worker, real
 * WebSocket, RTP parameters captured from Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import { chromium, joinRoom, sctpCapabilities, withMid } from '../helpers/fixtures.js';
import { startTestServer, waitFor } from '../helpers/server.js';
import { TestPeer } from '../helpers/TestPeer.js';

let server: SfuServer;

beforeAll(async () => {
	server = await startTestServer();
});

afterAll(async () => {
	await server.close();
});

const serverPeer = (roomId: string, peerId: string) => server.rooms.get(roomId)?.peers.get(peerId);

describe('joining a room', () => {
	it('tells peers about each other with newPeer and peerClosed, with device info', async () => {
		const a = await joinRoom(server, 'join', 'a');
		expect(a.peers).toEqual([]);
		const b = await joinRoom(server, 'join', 'b');
		expect(b.peers).toEqual([{ id: 'a', displayName: 'Peer a', device: { flag: 'chrome', name: 'Chrome', version: '156' }, role: 'participant' }]);
		expect(await a.peer.waitForNotification('newPeer', (p) => p.id === 'b')).toMatchObject({ displayName: 'Peer b', device: { flag: 'chrome' } });

		const c = await joinRoom(server, 'join', 'c');
		expect(c.peers.map((p) => p.id).sort()).toEqual(['a', 'b']);
		await a.peer.waitForNotification('newPeer', (p) => p.id === 'c');
		await b.peer.waitForNotification('newPeer', (p) => p.id === 'c');

		c.peer.close();
		await a.peer.waitForNotification('peerClosed', (p) => p.peerId === 'c');
		await b.peer.waitForNotification('peerClosed', (p) => p.peerId === 'c');
		a.peer.close();
		b.peer.close();
	});

	it('creates WebRTC transports on the worker\'s WebRtcServer ports', async () => {
		const { peer, send, recv } = await joinRoom(server, 'ports', 'a');
		const worker = server.pool.workers[0]!;
		const dump = (await worker.webRtcServer.dump()) as unknown as { udpSockets: { port: number }[]; tcpServers: { port: number }[] };
		const udpPort = dump.udpSockets[0]!.port;
		const tcpPort = dump.tcpServers[0]!.port;
		for (const transport of [send, recv]) {
			const ports = transport.iceCandidates.map((c) => `${c.protocol}:${c.port}`).sort();
			expect(ports).toEqual([`tcp:${tcpPort}`, `udp:${udpPort}`]);
			expect(transport.sctpParameters?.port).toBe(5000);
		}
		peer.close();
	});

	it('gives TURN servers with time-limited credentials when configured', async () => {
		const withTurn = await startTestServer({ turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: 'shared', credentialTtlSeconds: 600 } });
		try {
			const peer = await TestPeer.connect(withTurn.wsUrl, 'turn', 'alice');
			const transport = await peer.request('createWebRtcTransport', { producing: true, consuming: false });
			const [server] = transport.iceServers!;
			expect(server!.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
			const [expiry, peerId] = server!.username.split(':');
			expect(peerId).toBe('alice');
			expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(590);
			peer.close();
		} finally {
			await withTurn.close();
		}
		const { peer, send } = await joinRoom(server, 'no-turn', 'a');
		expect(send.iceServers).toBeUndefined();
		peer.close();
	});

	it('answers restartIce with the ICE parameters object itself', async () => {
		const { peer, send } = await joinRoom(server, 'ice', 'a');
		const iceParameters = await peer.request('restartIce', { transportId: send.id });
		expect(iceParameters.usernameFragment).toEqual(expect.any(String));
		expect(iceParameters.password).not.toBe(send.iceParameters.password);
		peer.close();
	});

	it('replaces an older session when the same identity connects again with its token', async () => {
		const a = await joinRoom(server, 'replace', 'a');
		const b1 = await joinRoom(server, 'replace', 'b', { role: 'participant' });
		const b2 = await joinRoom(server, 'replace', 'b', { token: b1.token });
		await b1.peer.waitForNotification('sessionReplaced');
		await waitFor('old session closed', () => b1.peer.closed);
		expect(b2.peers.map((p) => p.id)).toEqual(['a']);
		await a.peer.waitForNotification('peerClosed', (p) => p.peerId === 'b');
		await waitFor('new b announced', () => a.peer.received('newPeer').filter((p) => p.id === 'b').length === 2);
		expect(server.rooms.get('replace')?.peers.size).toBe(2);
		a.peer.close();
		b2.peer.close();
	});
});

describe('producing and consuming', () => {
	it('gives every other peer a paused consumer, and resumes it once the peer accepts newConsumer', async () => {
		const a = await joinRoom(server, 'media', 'a');
		const b = await joinRoom(server, 'media', 'b');
		const audio = await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const video = await a.peer.request('produce', { transportId: a.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1), appData: { source: 'webcam' } });

		const offers = await waitFor('two newConsumer requests', () => (b.peer.serverRequestsOf('newConsumer').length === 2 ? b.peer.serverRequestsOf('newConsumer') : undefined));
		const videoOffer = offers.find((o) => o.kind === 'video')!;
		const audioOffer = offers.find((o) => o.kind === 'audio')!;
		expect(videoOffer).toMatchObject({ peerId: 'a', producerId: video.id, type: 'simulcast', producerPaused: false, appData: { source: 'webcam', peerId: 'a' } });
		expect(audioOffer).toMatchObject({ peerId: 'a', producerId: audio.id, type: 'simple', appData: { source: 'mic', peerId: 'a' } });
		expect(videoOffer.rtpParameters.codecs[0]!.mimeType).toBe('video/VP8');
		expect(videoOffer.rtpParameters.encodings).toHaveLength(1);

		const consumer = () => serverPeer('media', 'b')?.consumers.get(videoOffer.id);
		await waitFor('consumer resumed after accept', () => consumer() && !consumer()!.paused);
		await b.peer.waitForNotification('consumerScore', (s) => s.consumerId === videoOffer.id);

		// The peer that joins later gets consumers for what already exists.
		const c = await joinRoom(server, 'media', 'c');
		await waitFor('late joiner gets both consumers', () => c.peer.serverRequestsOf('newConsumer').length === 2);
		for (const peer of [a, b, c]) peer.peer.close();
	});

	it('applies layer, priority and key frame requests, sent as notifications or as requests', async () => {
		const a = await joinRoom(server, 'layers', 'a');
		const b = await joinRoom(server, 'layers', 'b');
		await a.peer.request('produce', { transportId: a.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0), appData: { source: 'webcam' } });
		const [offer] = await waitFor('newConsumer', () => b.peer.serverRequestsOf('newConsumer').length === 1 && b.peer.serverRequestsOf('newConsumer'));
		const consumerId = offer!.id;
		const consumer = () => serverPeer('layers', 'b')!.consumers.get(consumerId)!;
		await waitFor('consumer resumed', () => !consumer().paused);

		await b.peer.notify('setConsumerPreferredLayers', { consumerId, spatialLayer: 0, temporalLayer: 1 });
		await waitFor('preferred layers set by notification', () => consumer().preferredLayers?.spatialLayer === 0 && consumer().preferredLayers?.temporalLayer === 1);
		expect(await b.peer.request('setConsumerPreferredLayers', { consumerId, spatialLayer: 1 })).toEqual({});
		expect(consumer().preferredLayers?.spatialLayer).toBe(1);

		expect(await b.peer.request('setConsumerPriority', { consumerId, priority: 7 })).toEqual({});
		expect(consumer().priority).toBe(7);
		await b.peer.notify('setConsumerPriority', { consumerId, priority: 9 });
		await waitFor('priority set by notification', () => consumer().priority === 9);

		expect(await b.peer.request('requestConsumerKeyFrame', { consumerId })).toEqual({});
		expect(await b.peer.request('pauseConsumer', { consumerId })).toEqual({});
		expect(consumer().paused).toBe(true);
		await b.peer.notify('resumeConsumer', { consumerId });
		await waitFor('consumer resumed by notification', () => !consumer().paused);

		const stats = await b.peer.request('getConsumerStats', { consumerId });
		expect(stats.some((s) => s.type === 'outbound-rtp')).toBe(true);
		const transportStats = await b.peer.request('getTransportStats', { transportId: b.recv.id });
		expect(transportStats[0]).toMatchObject({ type: 'webrtc-transport', transportId: b.recv.id });
		a.peer.close();
		b.peer.close();
	});

	it('forwards producer pause, resume and close to consumers', async () => {
		const a = await joinRoom(server, 'pause', 'a');
		const b = await joinRoom(server, 'pause', 'b');
		const { id: producerId } = await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const [offer] = await waitFor('newConsumer', () => b.peer.serverRequestsOf('newConsumer').length === 1 && b.peer.serverRequestsOf('newConsumer'));
		await a.peer.request('pauseProducer', { producerId });
		await b.peer.waitForNotification('consumerPaused', (n) => n.consumerId === offer!.id);
		await a.peer.notify('resumeProducer', { producerId });
		await b.peer.waitForNotification('consumerResumed', (n) => n.consumerId === offer!.id);
		expect((await a.peer.request('getProducerStats', { producerId }))).toEqual(expect.any(Array));
		await a.peer.request('closeProducer', { producerId });
		await b.peer.waitForNotification('consumerClosed', (n) => n.consumerId === offer!.id);
		expect(serverPeer('pause', 'b')!.consumers.size).toBe(0);
		a.peer.close();
		b.peer.close();
	});

	it('starts a producer paused when asked (a muted microphone)', async () => {
		const a = await joinRoom(server, 'muted', 'a');
		const b = await joinRoom(server, 'muted', 'b');
		await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' }, paused: true });
		const [offer] = await waitFor('newConsumer', () => b.peer.serverRequestsOf('newConsumer').length === 1 && b.peer.serverRequestsOf('newConsumer'));
		expect(offer!.producerPaused).toBe(true);
		a.peer.close();
		b.peer.close();
	});

	it('routes H.264 from a browser that sends it', async () => {
		const a = await joinRoom(server, 'h264', 'a');
		const b = await joinRoom(server, 'h264', 'b');
		await a.peer.request('produce', { transportId: a.send.id, kind: 'video', rtpParameters: withMid(chromium.h264, 0), appData: { source: 'webcam' } });
		const [offer] = await waitFor('newConsumer', () => b.peer.serverRequestsOf('newConsumer').length === 1 && b.peer.serverRequestsOf('newConsumer'));
		expect(offer!.rtpParameters.codecs[0]).toMatchObject({ mimeType: 'video/H264', parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } });
		a.peer.close();
		b.peer.close();
	});

	it('closes a consumer the peer refuses, instead of leaving it paused forever', async () => {
		const a = await joinRoom(server, 'refuse', 'a');
		const b = await joinRoom(server, 'refuse', 'b');
		b.peer.onServerRequest = 'reject';
		await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const [offer] = await waitFor('newConsumer offered', () => b.peer.serverRequestsOf('newConsumer').length === 1 && b.peer.serverRequestsOf('newConsumer'));
		await waitFor('refused consumer closed', () => serverPeer('refuse', 'b')!.consumers.size === 0);
		// The client is told, in case it created its side before refusing; a refusal is not re-offered.
		await b.peer.waitForNotification('consumerClosed', (n) => n.consumerId === offer!.id);
		expect(b.peer.serverRequestsOf('newConsumer')).toHaveLength(1);
		a.peer.close();
		b.peer.close();
	});

	it('supports clients that join first and create transports afterwards (mediasoup-demo TypeScript order)', async () => {
		const a = await joinRoom(server, 'order', 'a');
		await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const b = await TestPeer.connect(server.wsUrl, 'order', 'b');
		await b.request('join', { displayName: 'B', device: { name: 'test' }, rtpCapabilities: chromium.rtpCapabilities, sctpCapabilities });
		expect(b.serverRequestsOf('newConsumer')).toHaveLength(0);
		await b.request('createWebRtcTransport', { appData: { direction: 'producer' } });
		await b.request('createWebRtcTransport', { appData: { direction: 'consumer' }, sctpCapabilities });
		await waitFor('consumer after the consuming transport exists', () => b.serverRequestsOf('newConsumer').length === 1);
		a.peer.close();
		b.close();
	});

	it('announces display name changes', async () => {
		const a = await joinRoom(server, 'names', 'a');
		const b = await joinRoom(server, 'names', 'b');
		expect(await b.peer.request('changeDisplayName', { displayName: 'Bea' })).toEqual({});
		expect(await a.peer.waitForNotification('peerDisplayNameChanged')).toEqual({ peerId: 'b', displayName: 'Bea', oldDisplayName: 'Peer b' });
		a.peer.close();
		b.peer.close();
	});
});

describe('data channels', () => {
	it('gives other peers a data consumer for each data producer', async () => {
		const a = await joinRoom(server, 'data', 'a');
		const b = await joinRoom(server, 'data', 'b');
		const { id: dataProducerId } = await a.peer.request('produceData', {
			transportId: a.send.id,
			sctpStreamParameters: { streamId: 0, ordered: true },
			label: 'chat',
			protocol: 'json',
			appData: { channel: 'chat' },
		});
		const [offer] = await waitFor('newDataConsumer', () => b.peer.serverRequestsOf('newDataConsumer').length === 1 && b.peer.serverRequestsOf('newDataConsumer'));
		expect(offer).toMatchObject({ peerId: 'a', dataProducerId, label: 'chat', protocol: 'json', appData: { channel: 'chat', peerId: 'a' } });
		expect(offer!.sctpStreamParameters.streamId).toEqual(expect.any(Number));
		expect(await a.peer.request('getDataProducerStats', { dataProducerId })).toEqual([expect.objectContaining({ type: 'data-producer', label: 'chat' })]);
		a.peer.close();
		await b.peer.waitForNotification('dataConsumerClosed', (n) => n.dataConsumerId === offer!.id);
		b.peer.close();
	});
});

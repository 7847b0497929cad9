/**
 * Bad input gets a clear error and hurts nobody else: after every rejected
 * request the peer is still connected, the room still routes media, and no
 * transport, producer or consumer is left behind.
 */
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import { chromium, joinRoom, withMid, type JoinedPeer } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';
import { TestPeer } from '../helpers/TestPeer.js';

let server: SfuServer;
let a: JoinedPeer;
let b: JoinedPeer;

const limits = { maxPeersPerRoom: 3, maxProducersPerPeer: 2, maxTransportsPerPeer: 3, maxDataProducersPerPeer: 1 };

beforeAll(async () => {
	server = await startTestServer({ rooms: limits, signalling: { maxMessageBytes: 8192 }, http: { maxBodyBytes: 4096 } });
	a = await joinRoom(server, 'bad', 'a');
	b = await joinRoom(server, 'bad', 'b');
});

afterAll(async () => {
	a.peer.close();
	b.peer.close();
	await server.close();
});

/** The room still routes media between a and b, and nothing was left behind by the failed requests. */
async function roomStillWorks(): Promise<void> {
	expect(a.peer.closed).toBe(false);
	const before = b.peer.serverRequestsOf('newConsumer').length;
	const { id } = await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 90), appData: { source: 'mic' } });
	await waitFor('b consumes the new producer', () => b.peer.serverRequestsOf('newConsumer').length === before + 1);
	await a.peer.request('closeProducer', { producerId: id });
	const room = server.rooms.get('bad')!;
	await waitFor('b consumer released', () => room.peers.get('b')!.consumers.size === 0);
	const dump = await room.routers[0]!.router.dump();
	expect(dump.transportIds).toHaveLength(4);
	expect(Object.keys(dump.mapProducerIdConsumerIds)).toHaveLength(0);
	expect(Object.keys(dump.mapConsumerIdProducerId)).toHaveLength(0);
}

describe('signalling requests', () => {
	it('rejects an unknown method with 405', async () => {
		const error = await a.peer.requestError('dropTables', {});
		expect(error.code).toBe(405);
		expect(error.message).toContain('unknown method "dropTables"');
	});

	it('rejects missing and wrongly typed fields with 400, naming the field', async () => {
		const missing = await a.peer.requestError('produce', { kind: 'audio', rtpParameters: chromium.opus });
		expect(missing.code).toBe(400);
		expect(missing.message).toMatch(/transportId/);

		const wrongType = await a.peer.requestError('setConsumerPriority', { consumerId: 'x', priority: 'high' });
		expect(wrongType.code).toBe(400);
		expect(wrongType.message).toMatch(/priority/);

		const badKind = await a.peer.requestError('produce', { transportId: a.send.id, kind: 'smell', rtpParameters: chromium.opus });
		expect(badKind.code).toBe(400);
		expect(badKind.message).toMatch(/kind/);

		const badCodecs = await a.peer.requestError('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: { codecs: [] } });
		expect(badCodecs.code).toBe(400);
		expect(badCodecs.message).toMatch(/rtpParameters\.codecs/);

		const notAnObject = await a.peer.requestError('join', 'hello');
		expect(notAnObject.code).toBe(400);

		const emptyName = await a.peer.requestError('changeDisplayName', { displayName: '   ' });
		expect(emptyName.code).toBe(400);
		await roomStillWorks();
	});

	it('rejects ids that belong to another peer with 403, and unknown ids with 404', async () => {
		const foreign = await a.peer.requestError('connectWebRtcTransport', { transportId: b.send.id, dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] } });
		expect(foreign.code).toBe(403);
		expect(foreign.message).toContain('belongs to another peer');

		const { id: producerId } = await b.peer.request('produce', { transportId: b.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: {} });
		expect((await a.peer.requestError('closeProducer', { producerId })).code).toBe(403);
		expect((await a.peer.requestError('pauseProducer', { producerId })).code).toBe(403);
		const [offer] = await waitFor('a gets a consumer', () => a.peer.serverRequestsOf('newConsumer').find((o) => o.producerId === producerId) && a.peer.serverRequestsOf('newConsumer').filter((o) => o.producerId === producerId));
		expect((await b.peer.requestError('pauseConsumer', { consumerId: offer!.id })).code).toBe(403);
		expect((await b.peer.requestError('getConsumerStats', { consumerId: offer!.id })).code).toBe(403);
		await b.peer.request('closeProducer', { producerId });

		const unknown = await a.peer.requestError('resumeConsumer', { consumerId: 'no-such-consumer' });
		expect(unknown.code).toBe(404);
		expect(unknown.message).toContain('consumer "no-such-consumer" not found');
		await roomStillWorks();
	});

	it('rejects media mediasoup cannot accept with 422 and its reason', async () => {
		const unsupported = structuredClone(withMid(chromium.opus, 5));
		unsupported.codecs[0]!.mimeType = 'audio/G722';
		const error = await a.peer.requestError('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: unsupported });
		expect(error.code).toBe(422);
		expect(error.message.length).toBeGreaterThan(10);
		await roomStillWorks();
	});

	it('rejects requests in the wrong state with 409', async () => {
		const joinAgain = await a.peer.requestError('join', { displayName: 'again' });
		expect(joinAgain.code).toBe(409);

		const early = await TestPeer.connect(server.wsUrl, 'bad', 'early');
		const transport = await early.request('createWebRtcTransport', { producing: true, consuming: false });
		const produce = await early.requestError('produce', { transportId: transport.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0) });
		expect(produce.code).toBe(409);
		expect(produce.message).toContain('join the room');
		const recvOnly = await early.request('createWebRtcTransport', { producing: false, consuming: true });
		const data = await early.requestError('produceData', { transportId: recvOnly.id, sctpStreamParameters: { streamId: 1 } });
		expect(data.code).toBe(409);
		early.close();
		await roomStillWorks();
	});

	it('rejects an oversize request with 413 and keeps the peer connected', async () => {
		const error = await a.peer.requestError('changeDisplayName', { displayName: 'x'.repeat(10_000) });
		expect(error.code).toBe(413);
		expect(error.message).toContain('signalling.maxMessageBytes');
		await roomStillWorks();
	});

	it('enforces the configured limits with 429', async () => {
		const c = await joinRoom(server, 'bad', 'c');
		const d = await TestPeer.connect(server.wsUrl, 'bad', 'd');
		const full = await d.requestError('join', { displayName: 'D' });
		expect(full.code).toBe(429);
		expect(full.message).toContain('room is full');
		d.close();

		await c.peer.request('createWebRtcTransport', {});
		const transports = await c.peer.requestError('createWebRtcTransport', {});
		expect(transports.code).toBe(429);
		expect(transports.message).toContain('rooms.maxTransportsPerPeer');

		await c.peer.request('produce', { transportId: c.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0) });
		await c.peer.request('produce', { transportId: c.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1) });
		const producers = await c.peer.requestError('produce', { transportId: c.send.id, kind: 'video', rtpParameters: withMid(chromium.h264, 2) });
		expect(producers.code).toBe(429);
		expect(producers.message).toContain('rooms.maxProducersPerPeer');

		await c.peer.request('produceData', { transportId: c.send.id, sctpStreamParameters: { streamId: 0 }, label: 'chat' });
		const dataProducers = await c.peer.requestError('produceData', { transportId: c.send.id, sctpStreamParameters: { streamId: 1 }, label: 'chat' });
		expect(dataProducers.code).toBe(429);

		c.peer.close();
		await a.peer.waitForNotification('peerClosed', (p) => p.peerId === 'c');
		await roomStillWorks();
	});

	it('ignores bad notifications without disconnecting', async () => {
		await a.peer.notify('pauseConsumer', { consumerId: 42 });
		await a.peer.notify('noSuchNotification', {});
		await a.peer.notify('closeProducer', { producerId: 'nope' });
		await roomStillWorks();
	});
});

/** The HTTP status of a WebSocket upgrade to `path`. */
function upgradeStatus(path: string, protocol = 'protoo'): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = httpsRequest(`${server.url}${path}`, {
			rejectUnauthorized: false,
			headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': protocol },
		});
		req.on('response', (res) => {
			res.resume();
			resolve(res.statusCode ?? 0);
		});
		req.on('upgrade', (res, socket) => {
			socket.destroy();
			resolve(res.statusCode ?? 0);
		});
		req.on('error', reject);
		req.end();
	});
}

describe('connections the server cannot take', () => {
	it('answers requests with the reason (429) when a room has too many connections, and keeps the room working', async () => {
		// a and b are joined; four more connections fill twice rooms.maxPeersPerRoom (3).
		const idle = await Promise.all(['i1', 'i2', 'i3', 'i4'].map((id) => TestPeer.connect(server.wsUrl, 'bad', id)));
		const extra = await TestPeer.connect(server.wsUrl, 'bad', 'i5');
		const error = await extra.requestError('getRouterRtpCapabilities', {});
		expect(error.code).toBe(429);
		expect(error.message).toContain('room is full');
		expect(server.rooms.get('bad')!.peers.has('i5')).toBe(false);
		extra.close();
		for (const peer of idle) peer.close();
		await waitFor('idle connections gone', () => server.rooms.get('bad')!.peers.size === 2);
		await roomStillWorks();
	});

	it('answers requests with 503 when the server holds rooms.maxRooms rooms', async () => {
		const small = await startTestServer({ rooms: { maxRooms: 1 } });
		try {
			const first = await TestPeer.connect(small.wsUrl, 'one', 'p');
			expect(await first.request('getRouterRtpCapabilities', {})).toHaveProperty('codecs');
			const second = await TestPeer.connect(small.wsUrl, 'two', 'p');
			const error = await second.requestError('join', { displayName: 'P' });
			expect(error.code).toBe(503);
			expect(error.message).toContain('rooms.maxRooms');
			expect(small.rooms.size).toBe(1);
			first.close();
			second.close();
		} finally {
			await small.close();
		}
	});
});

describe('WebSocket upgrade', () => {
	it('refuses invalid or missing roomId and peerId with a 4xx', async () => {
		expect(await upgradeStatus('/?roomId=ok&peerId=ok')).toBe(101);
		expect(await upgradeStatus('/?peerId=p1')).toBe(400);
		expect(await upgradeStatus('/?roomId=r1')).toBe(400);
		expect(await upgradeStatus('/?roomId=bad%20room&peerId=p1')).toBe(400);
		expect(await upgradeStatus(`/?roomId=${'r'.repeat(65)}&peerId=p1`)).toBe(400);
		expect(await upgradeStatus('/?roomId=r1&peerId=%3Cscript%3E')).toBe(400);
		expect(await upgradeStatus('/?roomId=r1&peerId=p1', 'chat')).toBe(403);
		await waitFor('probe rooms closed', () => !server.rooms.get('ok'));
		expect(server.rooms.get('r1')).toBeUndefined();
		await roomStillWorks();
	});
});

describe('HTTP API bodies', () => {
	it('rejects malformed, invalid and oversize bodies with a reason', async () => {
		const notJson = await http(server, 'POST', '/api/rooms/bad/broadcasters', '{"id": ');
		expect(notJson.status).toBe(400);
		expect(notJson.json).toEqual({ error: 'request body is not valid JSON' });

		const invalid = await http(server, 'POST', '/api/rooms/bad/broadcasters', JSON.stringify({ id: 'has space', displayName: 'x' }));
		expect(invalid.status).toBe(400);
		expect(invalid.json.error).toMatch(/^invalid broadcaster: id: /);

		const huge = await http(server, 'POST', '/api/rooms/bad/broadcasters', JSON.stringify({ id: 'big', displayName: 'x'.repeat(5000) }));
		expect(huge.status).toBe(413);

		const taken = await http(server, 'POST', '/api/rooms/bad/broadcasters', JSON.stringify({ id: 'a', displayName: 'impostor' }));
		expect(taken.status).toBe(409);

		expect((await http(server, 'DELETE', '/api/rooms/bad/broadcasters/a')).status).toBe(403);
		expect((await http(server, 'DELETE', '/api/rooms/bad/broadcasters/nobody')).status).toBe(404);
		expect((await http(server, 'POST', '/api/rooms/nowhere/broadcasters/x/transports', '{}')).status).toBe(404);

		expect((await http(server, 'POST', '/api/rooms/bad/broadcasters', JSON.stringify({ id: 'bc', displayName: 'Broadcaster' }))).status).toBe(200);
		const transport = await http(server, 'POST', '/api/rooms/bad/broadcasters/bc/transports', JSON.stringify({ comedia: 'yes' }));
		expect(transport.status).toBe(400);
		expect(transport.json.error).toMatch(/comedia/);
		const noProducer = await http(server, 'POST', '/api/rooms/bad/broadcasters/bc/transports/none/consume?producerId=x', '{}');
		expect(noProducer.status).toBe(404);
		expect((await http(server, 'DELETE', '/api/rooms/bad/broadcasters/bc')).status).toBe(200);
		await a.peer.waitForNotification('peerClosed', (p) => p.peerId === 'bc');
		expect((await http(server, 'GET', '/api/nothing-here')).status).toBe(404);
		await roomStillWorks();
	});
});

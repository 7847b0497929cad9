/**
 * A stream's audience against the real server with two workers: viewers
 * with viewer tokens join a presenter's room, spread over both workers, each
 * is offered the stage, and presence costs the presenter a few batched
 * counts instead of one notification per viewer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import { chromium, joinRoom, withMid, type JoinedPeer } from '../helpers/fixtures.js';
import { http, post } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';

const VIEWERS = 24;

let server: SfuServer;

beforeAll(async () => {
	server = await startTestServer({ mediasoup: { numWorkers: 2, routerConsumerSoftLimit: 10 }, auth: { secret: 'stream-test-secret-0123456789abcdefghijk' } });
});

afterAll(async () => {
	await server.close();
});

describe('a stream\'s audience', () => {
	it('spreads over every worker, is offered the stage, and is counted rather than announced', async () => {
		const presenter = await joinRoom(server, 'live', 'presenter', { role: 'presenter' });
		const mic = await presenter.peer.request('produce', { transportId: presenter.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const cam = await presenter.peer.request('produce', { transportId: presenter.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1), appData: { source: 'webcam' } });

		const viewers: JoinedPeer[] = [];
		for (let i = 0; i < VIEWERS; i++) viewers.push(await joinRoom(server, 'live', `viewer-${i}`, { role: 'viewer' }));
		for (const viewer of viewers) {
			expect(viewer.peers.map((p) => p.id)).toEqual(['presenter']);
			await waitFor('a viewer offered the stage', () => {
				const offered = viewer.peer.serverRequestsOf('newConsumer').map((o) => o.producerId).sort();
				return offered.length === 2 && offered.join() === [mic.id, cam.id].sort().join();
			});
		}

		const room = server.rooms.get('live')!;
		const workers = new Set(viewers.map((_viewer, i) => room.peers.get(`viewer-${i}`)?.router?.workerPid));
		expect(workers.size, 'viewers on both workers').toBe(2);
		expect(room.audience.count).toBe(VIEWERS);

		await presenter.peer.waitForNotification('audienceChanged', (a) => a.count === VIEWERS);
		expect(presenter.peer.received('newPeer')).toEqual([]);
		// One count per batch window, not one per viewer: the joins above took many windows, so this bounds, not pins.
		expect(presenter.peer.received('audienceChanged').length).toBeLessThan(VIEWERS);
		for (const viewer of viewers) expect(viewer.peer.received('newPeer')).toEqual([]);

		for (const viewer of viewers.slice(0, VIEWERS / 2)) viewer.peer.close();
		await presenter.peer.waitForNotification('audienceChanged', (a) => a.count === VIEWERS / 2);
		expect(presenter.peer.received('peerClosed')).toEqual([]);
		for (const viewer of viewers.slice(VIEWERS / 2)) viewer.peer.close();
		presenter.peer.close();
		await waitFor('room closed', () => server.rooms.get('live') === undefined);
	});

	it('has RTP players too: a broadcaster created with viewer access consumes, is counted, never announced, and may not publish', async () => {
		const presenter = await joinRoom(server, 'rtp-live', 'presenter', { role: 'presenter' });
		const cam = await presenter.peer.request('produce', { transportId: presenter.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1), appData: { source: 'webcam' } });
		const api = '/api/rooms/rtp-live/broadcasters';
		const created = await post<'createBroadcaster'>(server, api, { id: 'player', displayName: 'RTP player', role: 'viewer', rtpCapabilities: server.rooms.get('rtp-live')!.rtpCapabilities });
		expect(created.peers.map((p) => [p.id, p.producers.map((producer) => producer.id)])).toEqual([['presenter', [cam.id]]]);

		await presenter.peer.waitForNotification('audienceChanged', (a) => a.count === 1);
		expect(presenter.peer.received('newPeer')).toEqual([]);

		const transport = await post<'createPlainTransport'>(server, `${api}/player/transports`, { comedia: false });
		await post<'connectPlainTransport'>(server, `${api}/player/transports/${transport.id}/connect`, { ip: '127.0.0.1', port: 9 });
		const consumer = await post<'createConsumer'>(server, `${api}/player/transports/${transport.id}/consume`, { producerId: cam.id });
		expect(consumer.kind).toBe('video');

		const refused = await http(server, 'POST', `${api}/player/transports/${transport.id}/producers`, { kind: 'audio', rtpParameters: chromium.opus });
		expect(refused.status).toBe(403);
		expect(refused.json.error).toMatch(/publishAudio/);
		expect(server.rooms.get('rtp-live')!.peers.get('player')!.producers.size).toBe(0);

		const badRole = await http(server, 'POST', api, { id: 'boss', displayName: 'boss', role: 'host' });
		expect(badRole.status).toBe(400);
		expect(badRole.json.error).toMatch(/role/);

		expect((await http(server, 'DELETE', `${api}/player`)).status).toBe(200);
		await presenter.peer.waitForNotification('audienceChanged', (a) => a.count === 0);
		expect(presenter.peer.received('peerClosed')).toEqual([]);
		presenter.peer.close();
		await waitFor('room closed', () => server.rooms.get('rtp-live') === undefined);
	});
});

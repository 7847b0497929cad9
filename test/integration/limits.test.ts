/**
 * Each limit of `limits.*` against the real server: set low, pushed past,
 * answered with its status and reason, and the server still serving others.
 */
import { request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import { chromium, joinRoom, tokenFor, withMid } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';
import { TestPeer } from '../helpers/TestPeer.js';

const servers: SfuServer[] = [];
const peers: TestPeer[] = [];

async function serverWith(overrides: Parameters<typeof startTestServer>[0]): Promise<SfuServer> {
	const server = await startTestServer(overrides);
	servers.push(server);
	return server;
}

afterEach(async () => {
	for (const peer of peers.splice(0)) peer.close();
	await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A WebSocket upgrade by hand, to read the HTTP status of a refusal. */
function upgradeStatus(server: SfuServer, path: string): Promise<{ status: number; reason: string }> {
	return new Promise((resolve, reject) => {
		const req = request(`${server.url}${path}`, {
			rejectUnauthorized: false,
			headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'protoo' },
		});
		req.on('response', (res) => {
			resolve({ status: res.statusCode ?? 0, reason: String(res.headers['x-websocket-reject-reason'] ?? '') });
			res.resume();
		});
		req.on('upgrade', (_res, socket) => {
			socket.destroy();
			resolve({ status: 101, reason: '' });
		});
		req.on('error', reject);
		req.end();
	});
}

describe('limits', () => {
	it('limits.maxConnectionsPerIp: refuses the next connection at upgrade with 429, and admits again once one closes', async () => {
		const server = await serverWith({ limits: { maxConnectionsPerIp: 3 } });
		for (const id of ['a', 'b', 'c']) peers.push(await TestPeer.connect(server.wsUrl, 'ip', id));
		const refused = await upgradeStatus(server, '/?roomId=ip&peerId=d');
		expect(refused.status).toBe(429);
		expect(refused.reason).toMatch(/limits\.maxConnectionsPerIp/);
		peers.shift()!.close();
		await waitFor('a slot free again', async () => {
			const attempt = await upgradeStatus(server, '/?roomId=ip&peerId=e');
			return attempt.status === 101;
		});
	});

	it('limits.joinTimeoutMs: closes a connection that does not join in time, not one that did', async () => {
		const server = await serverWith({ limits: { joinTimeoutMs: 600 } });
		const idle = await TestPeer.connect(server.wsUrl, 'idle', 'lurker');
		const member = await joinRoom(server, 'idle', 'member');
		peers.push(idle, member.peer);
		await waitFor('the idle connection closed', () => idle.closed, { timeoutMs: 5000 });
		// Past the member's own deadline too: what is checked here is that nothing happens.
		await new Promise((resolve) => setTimeout(resolve, 700));
		expect(member.peer.closed).toBe(false);
		expect(await member.peer.request('getRouterRtpCapabilities', {})).toHaveProperty('codecs');
	});

	it('limits.requestsPerSecond / requestBurst: a burst beyond the bucket gets 429, the rate comes back', async () => {
		const server = await serverWith({ limits: { requestsPerSecond: 5, requestBurst: 10 } });
		const peer = await TestPeer.connect(server.wsUrl, 'rate', 'flooder');
		peers.push(peer);
		const results = await Promise.allSettled(Array.from({ length: 30 }, () => peer.request('getRouterRtpCapabilities', {})));
		const refused = results.filter((r) => r.status === 'rejected');
		expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(11);
		expect(refused.length).toBeGreaterThanOrEqual(19);
		for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 429, message: expect.stringMatching(/too many requests/) });
		await waitFor('the bucket refilled', async () => (await peer.request('getRouterRtpCapabilities', {}).then(() => true, () => false)), { timeoutMs: 5000, intervalMs: 300 });
	});

	it('limits.maxQueuedRequests: requests beyond the queue get 429 at once, the queued ones are answered', async () => {
		const server = await serverWith({ limits: { maxQueuedRequests: 2 } });
		const peer = await TestPeer.connect(server.wsUrl, 'queue', 'eager');
		peers.push(peer);
		const transport = await peer.request('createWebRtcTransport', { producing: false, consuming: true });
		// Each stats request waits for the worker, so they pile up behind one another.
		const results = await Promise.allSettled(Array.from({ length: 30 }, () => peer.request('getTransportStats', { transportId: transport.id })));
		const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
		expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
		expect(refused.length).toBeGreaterThan(0);
		for (const r of refused) expect(r.reason).toMatchObject({ code: 429, message: expect.stringMatching(/limits\.maxQueuedRequests/) });
		expect(await peer.request('getTransportStats', { transportId: transport.id })).toHaveLength(1);
	});

	it('limits.keyFrameRequestIntervalMs: one key frame request per consumer per interval', async () => {
		const server = await serverWith({ limits: { keyFrameRequestIntervalMs: 60_000 } });
		const sender = await joinRoom(server, 'pli', 'sender');
		const receiver = await joinRoom(server, 'pli', 'receiver');
		peers.push(sender.peer, receiver.peer);
		await sender.peer.request('produce', { transportId: sender.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0), appData: { source: 'webcam' } });
		const offer = await waitFor('consumer offered', () => receiver.peer.serverRequestsOf('newConsumer')[0]);
		await receiver.peer.request('requestConsumerKeyFrame', { consumerId: offer.id });
		const second = await receiver.peer.requestError('requestConsumerKeyFrame', { consumerId: offer.id });
		expect(second).toMatchObject({ code: 429, message: expect.stringMatching(/limits\.keyFrameRequestIntervalMs/) });
	});

	it('limits.httpRequestsPerSecondPerIp: API calls beyond the burst get 429 with Retry-After', async () => {
		const server = await serverWith({ limits: { httpRequestsPerSecondPerIp: 1, httpRequestBurstPerIp: 3 } });
		const statuses: number[] = [];
		let retryAfter: string | string[] | undefined;
		for (let i = 0; i < 6; i++) {
			const result = await http(server, 'GET', '/api/rooms');
			statuses.push(result.status);
			if (result.status === 429) retryAfter = result.headers['retry-after'];
		}
		expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
		expect(statuses.slice(3)).toContain(429);
		expect(retryAfter).toBe('1');
		// The web client and health checks are not API calls.
		expect((await http(server, 'GET', '/healthz')).status).toBe(200);
	});

	it('a full server (rooms.maxRooms) refuses new rooms but still admits a valid token to an existing one', async () => {
		const server = await serverWith({ auth: { secret: 'limits-test-secret-0123456789abcdefghijk' }, rooms: { maxRooms: 1 } });
		const first = await joinRoom(server, 'only', 'first', { role: 'participant' });
		peers.push(first.peer);
		const elsewhere = await TestPeer.connect(server.wsUrl, 'other', '', { token: await tokenFor(server, 'other', 'x', 'participant') });
		peers.push(elsewhere);
		expect(await elsewhere.requestError('getRouterRtpCapabilities', {})).toMatchObject({ code: 503, message: expect.stringMatching(/rooms\.maxRooms/) });
		const second = await joinRoom(server, 'only', 'second', { role: 'participant' });
		peers.push(second.peer);
		expect(second.peers.map((p) => p.id)).toEqual(['first']);
	});
});

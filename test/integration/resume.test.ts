/**
 * Sessions that survive a dropped connection, against the real server:
 * the room keeps a dropped peer's transports, producers and consumers for
 * rooms.resumeGraceMs, the others see only `peerReconnecting`, and a new
 * connection with the resume token gets the session back; `leave` closes at
 * once; a pinging client that falls silent is dropped; a draining server
 * takes no new rooms and lets its meetings run on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import { chromium, joinRoom, sctpCapabilities, tokenFor, withMid, type JoinedPeer } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { startTestServer, TEST_API_KEY, waitFor } from '../helpers/server.js';
import { TestPeer } from '../helpers/TestPeer.js';

const GRACE_MS = 2000;
const LIVENESS_MS = 1000;

let server: SfuServer;

beforeAll(async () => {
	server = await startTestServer({
		rooms: { resumeGraceMs: GRACE_MS },
		signalling: { livenessTimeoutMs: LIVENESS_MS },
		auth: { secret: 'resume-test-secret-0123456789abcdefghijk' },
	});
});

afterAll(async () => {
	await server.close();
});

async function produceAv(joined: JoinedPeer): Promise<{ audio: string; video: string }> {
	const audio = await joined.peer.request('produce', { transportId: joined.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
	const video = await joined.peer.request('produce', { transportId: joined.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1), appData: { source: 'webcam' } });
	return { audio: audio.id, video: video.id };
}

/** Reconnects with the same join token and the session's resume token. */
function reconnect(roomId: string, joined: JoinedPeer, resume = joined.joined.resume!.token): Promise<TestPeer> {
	return TestPeer.connect(server.wsUrl, roomId, '', { token: joined.token, resume });
}

describe('resuming a session', () => {
	it('keeps a dropped peer for the grace window: the others see it reconnecting, not leaving, and it gets its session back', async () => {
		const alice = await joinRoom(server, 'resume', 'alice', { role: 'participant' });
		const bob = await joinRoom(server, 'resume', 'bob', { role: 'participant' });
		expect(alice.joined.resume).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), graceMs: GRACE_MS });
		const produced = await produceAv(alice);
		const bobsMic = await bob.peer.request('produce', { transportId: bob.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const room = server.rooms.get('resume')!;
		await waitFor('alice consumes bob', () => room.peers.get('alice')!.consumers.size === 1);
		await waitFor('bob consumes alice', () => room.peers.get('bob')!.consumers.size === 2);
		const alicesConsumer = [...room.peers.get('alice')!.consumers.values()][0]!;

		alice.peer.drop();
		await bob.peer.waitForNotification('peerReconnecting', (n) => n.peerId === 'alice' && n.reconnecting);
		const held = room.peers.get('alice')!;
		expect(held.connected).toBe(false);
		expect((await http(server, 'GET', '/metrics')).text).toMatch(/^sfu_sessions_reconnecting 1$/m);
		expect([...held.producers.keys()].sort()).toEqual([produced.audio, produced.video].sort());
		expect(room.peers.get('bob')!.consumers.size).toBe(2);

		// While alice is away: carol joins and publishes, bob's microphone goes.
		const carol = await joinRoom(server, 'resume', 'carol', { role: 'participant' });
		const carolsMic = await carol.peer.request('produce', { transportId: carol.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		await bob.peer.request('closeProducer', { producerId: bobsMic.id });
		await waitFor('alice\'s consumer of bob closed', () => alicesConsumer.closed);
		expect(held.consumers.size, 'nothing offered to a peer that is away').toBe(0);

		const back = await reconnect('resume', alice);
		const resumed = await back.request('resume', {});
		expect(resumed.role).toBe('participant');
		expect(resumed.peers.map((p) => p.id).sort()).toEqual(['bob', 'carol']);
		expect(resumed.resume?.token).toBe(alice.joined.resume!.token);
		expect(resumed.transports.map((t) => [t.id, t.direction]).sort()).toEqual([[alice.send.id, 'send'], [alice.recv.id, 'recv']].sort());
		expect(resumed.producers.map((p) => p.id).sort()).toEqual([produced.audio, produced.video].sort());
		expect(resumed.producers.find((p) => p.id === produced.video)).toMatchObject({ kind: 'video', paused: false, source: 'webcam' });
		expect(resumed.consumers, 'the consumer of the closed producer is gone').toEqual([]);
		await bob.peer.waitForNotification('peerReconnecting', (n) => n.peerId === 'alice' && !n.reconnecting);
		// What appeared meanwhile is offered on the new connection.
		await waitFor('carol\'s microphone offered after the resume', () => back.serverRequestsOf('newConsumer').some((offer) => offer.producerId === carolsMic.id));
		expect(room.peers.get('alice')).toBe(held);
		expect(held.connected).toBe(true);
		const metrics = (await http(server, 'GET', '/metrics')).text;
		expect(metrics).toMatch(/^sfu_sessions_reconnecting 0$/m);
		expect(metrics).toMatch(/^sfu_signalling_requests_total\{method="resume",outcome="ok"\} 1$/m);

		// The session works on its new connection.
		const stats = await back.request('getProducerStats', { producerId: produced.audio });
		expect(Array.isArray(stats)).toBe(true);
		await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 300));
		expect(room.peers.get('alice'), 'no grace timer left running').toBe(held);
		expect(bob.peer.received('peerClosed')).toEqual([]);
		expect(carol.peer.received('peerClosed')).toEqual([]);

		for (const peer of [back, bob.peer, carol.peer]) peer.close();
		await waitFor('room closed', () => server.rooms.get('resume') === undefined);
	});

	it('closes the peer when the grace window ends; a late resume gets 404 and joins afresh on the same connection', async () => {
		const alice = await joinRoom(server, 'late', 'alice', { role: 'participant' });
		const bob = await joinRoom(server, 'late', 'bob', { role: 'participant' });
		alice.peer.drop();
		const dropped = Date.now();
		await bob.peer.waitForNotification('peerClosed', (n) => n.peerId === 'alice');
		expect(Date.now() - dropped).toBeGreaterThanOrEqual(GRACE_MS - 100);
		expect(server.rooms.get('late')!.peers.has('alice')).toBe(false);

		const late = await reconnect('late', alice);
		const error = await late.requestError('resume', {});
		expect(error.code).toBe(404);
		expect(error.message).toMatch(/no session to resume/);
		await late.request('getRouterRtpCapabilities', {});
		const joined = await late.request('join', { displayName: 'Alice again', rtpCapabilities: chromium.rtpCapabilities, sctpCapabilities });
		expect(joined.peers.map((p) => p.id)).toEqual(['bob']);
		expect(joined.resume?.token).not.toBe(alice.joined.resume!.token);
		await bob.peer.waitForNotification('newPeer', (n) => n.id === 'alice');
		late.close();
		bob.peer.close();
		await waitFor('room closed', () => server.rooms.get('late') === undefined);
	});

	it('closes a peer that leaves at once, without a grace window', async () => {
		const alice = await joinRoom(server, 'leave', 'alice', { role: 'participant' });
		const bob = await joinRoom(server, 'leave', 'bob', { role: 'participant' });
		const left = Date.now();
		alice.peer.close();
		await bob.peer.waitForNotification('peerClosed', (n) => n.peerId === 'alice', GRACE_MS - 500);
		expect(Date.now() - left).toBeLessThan(GRACE_MS - 500);
		expect(bob.peer.received('peerReconnecting')).toEqual([]);
		bob.peer.close();
		await waitFor('room closed', () => server.rooms.get('leave') === undefined);
	});

	it('takes a session over from a connection the server still holds open; a wrong resume token is a fresh session instead', async () => {
		const alice = await joinRoom(server, 'takeover', 'alice', { role: 'participant' });
		const bob = await joinRoom(server, 'takeover', 'bob', { role: 'participant' });
		const { audio } = await produceAv(alice);
		const held = server.rooms.get('takeover')!.peers.get('alice')!;

		// The old socket is still open (a half-dead network the server has not noticed yet).
		const second = await reconnect('takeover', alice);
		await waitFor('the old connection closed by the server', () => alice.peer.closed);
		expect(alice.peer.received('sessionReplaced')).toEqual([]);
		const resumed = await second.request('resume', {});
		expect(resumed.producers.map((p) => p.id)).toContain(audio);
		expect(server.rooms.get('takeover')!.peers.get('alice')).toBe(held);
		expect(bob.peer.received('peerClosed')).toEqual([]);

		// Someone with alice's join token but not her resume token: a new session, which replaces hers.
		const wrong = await reconnect('takeover', alice, 'A'.repeat(32));
		expect((await wrong.requestError('resume', {})).code).toBe(404);
		await second.waitForNotification('sessionReplaced');
		await bob.peer.waitForNotification('peerClosed', (n) => n.peerId === 'alice');

		const malformed = await wrong.requestError('no-such-method');
		expect(malformed.code).toBe(405);
		wrong.close();
		bob.peer.close();
		await waitFor('room closed', () => server.rooms.get('takeover') === undefined);
	});

	it('refuses a malformed resume token at the upgrade', async () => {
		const token = await tokenFor(server, 'bad-resume', 'alice', 'participant');
		await expect(TestPeer.connect(server.wsUrl, 'bad-resume', '', { token, resume: 'short' })).rejects.toThrow();
		expect(server.rooms.get('bad-resume')).toBeUndefined();
	});

	it('drops a client that pinged and then fell silent; its session waits for a resume', async () => {
		const alice = await joinRoom(server, 'silent', 'alice', { role: 'participant' });
		const bob = await joinRoom(server, 'silent', 'bob', { role: 'participant' });
		expect(await alice.peer.request('ping', {})).toEqual({ serverTime: expect.any(Number) });
		const silentSince = Date.now();
		await bob.peer.waitForNotification('peerReconnecting', (n) => n.peerId === 'alice' && n.reconnecting, 5000);
		expect(Date.now() - silentSince).toBeGreaterThanOrEqual(LIVENESS_MS - 100);
		await waitFor('alice\'s socket closed by the server', () => alice.peer.closed);

		// Bob never pinged: however long he is silent, he stays.
		expect(server.rooms.get('silent')!.peers.get('bob')!.connected).toBe(true);
		const back = await reconnect('silent', alice);
		await back.request('resume', {});
		await bob.peer.waitForNotification('peerReconnecting', (n) => n.peerId === 'alice' && !n.reconnecting);
		back.close();
		bob.peer.close();
		await waitFor('room closed', () => server.rooms.get('silent') === undefined);
	});
});

describe('draining', () => {
	it('takes no new rooms, reports draining, lets the meeting run on until it ends, then closes', async () => {
		const draining = await startTestServer({ drainTimeoutMs: 60_000 });
		try {
			const alice = await joinRoom(draining, 'meeting', 'alice', { role: 'participant' });
			const unauthorized = await http(draining, 'POST', '/api/drain', undefined, { authorization: null });
			expect(unauthorized.status).toBe(401);
			const started = await http(draining, 'POST', '/api/drain', undefined, { authorization: `Bearer ${TEST_API_KEY}` });
			expect(started.status).toBe(202);
			expect(started.json).toMatchObject({ status: 'draining', rooms: 1, peers: 1, drainTimeoutMs: 60_000 });

			const health = await http(draining, 'GET', '/healthz');
			expect((await http(draining, 'GET', '/metrics')).text).toMatch(/^sfu_draining 1$/m);
			expect(health.status).toBe(503);
			expect(health.json).toMatchObject({ status: 'draining', rooms: 1 });

			// A new room is refused (in session, as browsers need), the existing one still admits.
			const elsewhere = await TestPeer.connect(draining.wsUrl, 'new-room', '', { token: await tokenFor(draining, 'new-room', 'dave', 'participant') });
			const refused = await elsewhere.requestError('getRouterRtpCapabilities', {});
			expect(refused.code).toBe(503);
			expect(refused.message).toMatch(/draining/);
			expect(draining.rooms.get('new-room')).toBeUndefined();
			elsewhere.close();
			const bob = await joinRoom(draining, 'meeting', 'bob', { role: 'participant' });
			await alice.peer.waitForNotification('newPeer', (n) => n.id === 'bob');

			let closed = false;
			void draining.closed.then(() => (closed = true));
			await new Promise((resolve) => setTimeout(resolve, 700));
			expect(closed, 'still serving its meeting').toBe(false);
			alice.peer.close();
			bob.peer.close();
			await waitFor('closed once the meeting ended', () => closed, { timeoutMs: 15_000 });
			expect(alice.peer.received('reconnectRequired')).toEqual([]);
		} finally {
			await draining.close();
		}
	});

	it('tells the peers still there to reconnect elsewhere when the drain timeout ends', async () => {
		const draining = await startTestServer({ drainTimeoutMs: 500 });
		try {
			const alice = await joinRoom(draining, 'meeting', 'alice', { role: 'participant' });
			await draining.drain();
			expect(alice.peer.received('reconnectRequired')).toEqual([{ reason: 'server-draining' }]);
			await waitFor('alice disconnected', () => alice.peer.closed);
		} finally {
			await draining.close();
		}
	});
});

describe('resuming in open mode', () => {
	it('takes the session back with peerId and resume token; the peerId alone, or a wrong token, cannot', async () => {
		const open = await startTestServer({ rooms: { resumeGraceMs: GRACE_MS } });
		try {
			const alice = await joinRoom(open, 'open', 'alice');
			const bob = await joinRoom(open, 'open', 'bob');
			alice.peer.drop();
			await bob.peer.waitForNotification('peerReconnecting', (n) => n.peerId === 'alice' && n.reconnecting);

			for (const resume of [undefined, 'B'.repeat(32)]) {
				const impostor = await TestPeer.connect(open.wsUrl, 'open', 'alice', resume ? { resume } : {});
				const refused = await impostor.requestError('resume', {});
				expect(refused.code, `resume token ${resume ?? 'none'}`).toBe(409);
				expect(refused.message).toMatch(/in use/);
				impostor.close();
			}
			const back = await TestPeer.connect(open.wsUrl, 'open', 'alice', { resume: alice.joined.resume!.token });
			expect((await back.request('resume', {})).peers.map((p) => p.id)).toEqual(['bob']);
			expect(bob.peer.received('peerClosed')).toEqual([]);
			back.close();
			bob.peer.close();
		} finally {
			await open.close();
		}
	});
});

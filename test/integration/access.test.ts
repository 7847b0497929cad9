/**
 * Access control end to end against the real server: join tokens verified at
 * the WebSocket upgrade, identity from the token, roles and permissions on
 * every request, moderation, and open mode.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import { chromium, joinRoom, sctpCapabilities, tokenFor, withMid } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';
import { TestPeer } from '../helpers/TestPeer.js';

const SECRET = 'access-test-secret-0123456789-abcdefghij';

let server: SfuServer;
let open: SfuServer;

beforeAll(async () => {
	[server, open] = await Promise.all([
		startTestServer({ auth: { secret: SECRET }, turn: { urls: ['turn:turn.example.org:3478'], secret: 'turn-secret', credentialTtlSeconds: 86_400 } }),
		startTestServer(),
	]);
});

afterAll(async () => {
	await Promise.all([server.close(), open.close()]);
});

const encoder = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, { secret = SECRET, alg = 'HS256' }: { secret?: string; alg?: string } = {}): Promise<string> {
	return new SignJWT(claims).setProtectedHeader({ alg }).sign(encoder.encode(secret));
}

function b64url(value: unknown): string {
	return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** What the server answers a connection with: every request refused with this code and reason. */
async function refusal(target: SfuServer, query: Record<string, string>): Promise<{ code: number | undefined; reason: string }> {
	const peer = await TestPeer.connect(target.wsUrl, query.roomId ?? '', query.peerId ?? '', { token: query.token });
	const error = await peer.requestError('getRouterRtpCapabilities', {});
	peer.close();
	return { code: error.code, reason: error.message };
}

describe('join tokens', () => {
	it('admit the token\'s identity, with its role and the name it assigns', async () => {
		const token = await tokenFor(server, 'tokens', 'alice', 'host', { name: 'Alice Example' });
		const alice = await joinRoom(server, 'tokens', '', { token });
		expect(alice.joined).toMatchObject({ role: 'host', lobby: false, locked: false });
		expect(alice.joined.permissions).toContain('moderate');
		const peer = server.rooms.get('tokens')?.peers.get('alice');
		expect(peer?.displayName).toBe('Alice Example');
		expect((await alice.peer.requestError('changeDisplayName', { displayName: 'Mallory' })).code).toBe(403);
		const bob = await joinRoom(server, 'tokens', 'bob', { role: 'participant' });
		expect(bob.peers).toEqual([expect.objectContaining({ id: 'alice', displayName: 'Alice Example', role: 'host' })]);
		alice.peer.close();
		bob.peer.close();
	});

	it('refuse, with a reason and before any room exists, every token that does not hold', async () => {
		const valid = { sub: 'eve', room: 'vault', role: 'participant', exp: now() + 600 };
		const good = await sign(valid);
		const [header, payload, signature] = good.split('.') as [string, string, string];
		const cases: [string, Record<string, string>, number, RegExp][] = [
			['no token', { roomId: 'vault', peerId: 'eve' }, 401, /needs a join token/],
			['another secret', { roomId: 'vault', token: await sign(valid, { secret: 'not-the-secret-of-this-server-at-all' }) }, 401, /signature invalid/],
			['alg none', { roomId: 'vault', token: `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.` }, 401, /algorithm not allowed/],
			['HS512', { roomId: 'vault', token: await sign(valid, { alg: 'HS512' }) }, 401, /algorithm not allowed/],
			['tampered payload', { roomId: 'vault', token: `${header}.${b64url({ ...valid, role: 'host' })}.${signature}` }, 401, /signature invalid/],
			['expired', { roomId: 'vault', token: await sign({ ...valid, exp: now() - 60 }) }, 401, /expired/],
			['not yet valid', { roomId: 'vault', token: await sign({ ...valid, nbf: now() + 600 }) }, 401, /not yet valid/],
			['without exp', { roomId: 'vault', token: await sign({ sub: 'eve', room: 'vault', role: 'participant' }) }, 401, /exp/],
			['another room', { roomId: 'vault', token: await sign({ ...valid, room: 'lobby' }) }, 401, /for room "lobby"/],
			['unknown role', { roomId: 'vault', token: await sign({ ...valid, role: 'superuser' }) }, 401, /role/],
			['bad identity', { roomId: 'vault', token: await sign({ ...valid, sub: '../admin' }) }, 401, /sub/],
			['garbage', { roomId: 'vault', token: 'not-a-jwt' }, 401, /malformed/],
			['peerId not the identity', { roomId: 'vault', peerId: 'alice', token: good }, 403, /not the token's identity/],
			['service token over WebSocket', { roomId: 'vault', token: await sign({ ...valid, role: 'service' }) }, 403, /HTTP broadcaster API/],
		];
		for (const [what, query, code, reason] of cases) {
			const answer = await refusal(server, query);
			expect(answer.code, what).toBe(code);
			expect(answer.reason, what).toMatch(reason);
		}
		expect(server.rooms.get('vault'), 'no room was created by refused connections').toBeUndefined();
	});

	it('let the same identity take over its own session, and nobody else', async () => {
		const first = await joinRoom(server, 'takeover', 'carol', { role: 'participant' });
		// Another identity cannot claim carol's id: its token says who it is.
		const mallory = await refusal(server, { roomId: 'takeover', peerId: 'carol', token: await tokenFor(server, 'takeover', 'mallory', 'participant') });
		expect(mallory.code).toBe(403);
		expect(first.peer.received('sessionReplaced')).toHaveLength(0);
		const again = await joinRoom(server, 'takeover', 'carol', { token: first.token });
		await first.peer.waitForNotification('sessionReplaced');
		expect(server.rooms.get('takeover')?.peers.size).toBe(1);
		again.peer.close();
	});

	it('cap TURN credentials at the token\'s expiry', async () => {
		const token = await tokenFor(server, 'turn', 'dave', 'participant', { ttlSeconds: 120 });
		const peer = await TestPeer.connect(server.wsUrl, 'turn', '', { token });
		const transport = await peer.request('createWebRtcTransport', { producing: false, consuming: true });
		const expiry = Number(transport.iceServers?.[0]?.username.split(':')[0]);
		expect(expiry).toBeGreaterThan(now() + 100);
		expect(expiry).toBeLessThanOrEqual(now() + 121);
		peer.close();
	});
});

describe('roles and permissions', () => {
	it('refuse what a role may not do with 403 naming the permission, and change nothing', async () => {
		const viewer = await joinRoom(server, 'roles', 'vic', { role: 'viewer' });
		expect(viewer.joined.permissions).toEqual(['subscribe', 'chat']);
		const video = await viewer.peer.requestError('produce', { transportId: viewer.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0), appData: { source: 'webcam' } });
		expect(video.code).toBe(403);
		expect(video.message).toMatch(/"publishVideo"/);
		const screen = await viewer.peer.requestError('produce', { transportId: viewer.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0), appData: { source: 'screen' } });
		expect(screen.message).toMatch(/"publishScreen"/);
		const data = await viewer.peer.requestError('produceData', { transportId: viewer.send.id, sctpStreamParameters: { streamId: 0, ordered: true }, label: 'bot' });
		expect(data.message).toMatch(/"publishData"/);
		expect(server.rooms.get('roles')?.peers.get('vic')?.producers.size).toBe(0);

		const participant = await joinRoom(server, 'roles', 'pat', { role: 'participant' });
		for (const method of ['mutePeer', 'removePeer', 'setPeerRole', 'lockRoom', 'endMeeting', 'getLobby'] as const) {
			const data = method === 'lockRoom' ? { locked: true } : method === 'setPeerRole' ? { peerId: 'pat', role: 'host' } : method === 'endMeeting' || method === 'getLobby' ? {} : { peerId: 'vic' };
			const error = await participant.peer.requestError(method, data);
			expect(error.code, method).toBe(403);
			expect(error.message, method).toMatch(/"moderate"/);
		}
		// The peers are still there and working.
		expect(await participant.peer.request('getRouterRtpCapabilities', {})).toHaveProperty('codecs');
		expect(server.rooms.get('roles')?.peers.size).toBe(2);
		viewer.peer.close();
		participant.peer.close();
	});

	it('apply the token\'s permission overrides', async () => {
		const token = await tokenFor(server, 'overrides', 'quiet', 'participant', { permissions: { publishVideo: false, moderate: false } });
		const quiet = await joinRoom(server, 'overrides', '', { token });
		expect(quiet.joined.permissions).not.toContain('publishVideo');
		expect((await quiet.peer.requestError('produce', { transportId: quiet.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0) })).code).toBe(403);
		await quiet.peer.request('produce', { transportId: quiet.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		quiet.peer.close();
	});

	it('count the audience instead of announcing it, and announce the stage to everyone', async () => {
		const host = await joinRoom(server, 'audience', 'host', { role: 'host' });
		const v1 = await joinRoom(server, 'audience', 'v1', { role: 'viewer' });
		const v2 = await joinRoom(server, 'audience', 'v2', { role: 'viewer' });
		expect(v2.peers.map((p) => p.id)).toEqual(['host']);
		expect(v2.joined.audience).toBeGreaterThanOrEqual(1);
		await host.peer.waitForNotification('audienceChanged', (a) => a.count === 2);
		await v1.peer.waitForNotification('audienceChanged', (a) => a.count === 2);
		expect(host.peer.received('newPeer').map((p) => p.id)).toEqual([]);
		expect(v1.peer.received('newPeer').map((p) => p.id)).toEqual([]);
		// Batched: a burst of joins is one or two updates, not one per viewer.
		expect(host.peer.received('audienceChanged').length).toBeLessThanOrEqual(2);

		await v1.peer.request('raiseHand', { raised: true });
		const hands = await host.peer.waitForNotification('handsChanged', (h) => h.raised.length === 1);
		expect(hands.raised[0]).toMatchObject({ peerId: 'v1', displayName: 'Peer v1' });
		expect(v2.peer.received('handsChanged')).toEqual([]);
		const listed = await host.peer.request('getAudience', {});
		expect(listed).toMatchObject({ count: 2, audience: [expect.objectContaining({ id: 'v1', handRaised: true }), expect.objectContaining({ id: 'v2', handRaised: false })] });
		expect((await v2.peer.requestError('getAudience', {})).code).toBe(403);
		v2.peer.close();
		await host.peer.waitForNotification('audienceChanged', (a) => a.count === 1);
		expect(host.peer.received('peerClosed')).toEqual([]);
		host.peer.close();
		v1.peer.close();
	});
});

describe('moderation', () => {
	it('mutes a microphone on the server until the host allows unmuting', async () => {
		const host = await joinRoom(server, 'mute', 'host', { role: 'host' });
		const guest = await joinRoom(server, 'mute', 'speaker', { role: 'participant' });
		const mic = await guest.peer.request('produce', { transportId: guest.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const producer = () => server.rooms.get('mute')?.peers.get('speaker')?.producers.get(mic.id);
		await host.peer.request('mutePeer', { peerId: 'speaker' });
		expect(producer()?.paused).toBe(true);
		expect(await guest.peer.waitForNotification('moderated')).toMatchObject({ action: 'muted', source: 'mic', producerIds: [mic.id], by: 'host' });
		expect((await guest.peer.waitForNotification('permissionsChanged')).permissions).not.toContain('publishAudio');
		const resume = await guest.peer.requestError('resumeProducer', { producerId: mic.id });
		expect(resume.code).toBe(403);
		expect(resume.message).toMatch(/"publishAudio"/);
		expect(producer()?.paused).toBe(true);

		await host.peer.request('allowUnmute', { peerId: 'speaker' });
		await guest.peer.waitForNotification('moderated', (m) => m.action === 'unmute-allowed');
		await guest.peer.request('resumeProducer', { producerId: mic.id });
		expect(producer()?.paused).toBe(false);
		host.peer.close();
		guest.peer.close();
	});

	it('keeps a host\'s decisions over a reconnect with the same token: a mute, a new role, an admission', async () => {
		const host = await joinRoom(server, 'decisions', 'host', { role: 'host' });
		const muted = await joinRoom(server, 'decisions', 'loud', { role: 'participant' });
		await host.peer.request('mutePeer', { peerId: 'loud' });
		const back = await joinRoom(server, 'decisions', '', { token: muted.token });
		expect(back.joined.permissions).not.toContain('publishAudio');
		expect((await back.peer.requestError('produce', { transportId: back.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } })).code).toBe(403);

		const demoted = await joinRoom(server, 'decisions', 'demoted', { role: 'presenter' });
		await host.peer.request('setPeerRole', { peerId: 'demoted', role: 'viewer' });
		expect((await joinRoom(server, 'decisions', '', { token: demoted.token })).joined.role).toBe('viewer');

		const guestToken = await tokenFor(server, 'decisions', 'guest', 'guest');
		const guest = await TestPeer.connect(server.wsUrl, 'decisions', '', { token: guestToken });
		await guest.request('join', { displayName: 'Guest', rtpCapabilities: chromium.rtpCapabilities });
		await host.peer.waitForNotification('lobbyChanged', (l) => l.waiting.some((w) => w.id === 'guest'));
		await host.peer.request('admitPeer', { peerId: 'guest', role: 'participant' });
		await guest.waitForNotification('admitted');
		const reloaded = await TestPeer.connect(server.wsUrl, 'decisions', '', { token: guestToken });
		expect(await reloaded.request('join', { displayName: 'Guest', rtpCapabilities: chromium.rtpCapabilities })).toMatchObject({ lobby: false, role: 'participant' });
		for (const peer of [host.peer, back.peer, reloaded]) peer.close();
	});

	it('stops a camera, and the others\' consumer closes', async () => {
		const host = await joinRoom(server, 'stop', 'host', { role: 'host' });
		const cam = await joinRoom(server, 'stop', 'cam', { role: 'participant' });
		const video = await cam.peer.request('produce', { transportId: cam.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0), appData: { source: 'webcam' } });
		const offer = await waitFor('host offered the camera', () => host.peer.serverRequestsOf('newConsumer').find((o) => o.producerId === video.id));
		await host.peer.request('stopPeerMedia', { peerId: 'cam', source: 'webcam' });
		expect(server.rooms.get('stop')?.peers.get('cam')?.producers.size).toBe(0);
		await host.peer.waitForNotification('consumerClosed', (c) => c.consumerId === offer.id);
		expect(await cam.peer.waitForNotification('moderated')).toMatchObject({ action: 'media-stopped', source: 'webcam', producerIds: [video.id] });
		host.peer.close();
		cam.peer.close();
	});

	it('removes a peer and keeps its identity out until the room ends', async () => {
		const host = await joinRoom(server, 'remove', 'host', { role: 'host' });
		const target = await joinRoom(server, 'remove', 'troll', { role: 'participant' });
		expect((await host.peer.requestError('removePeer', { peerId: 'nobody' })).code).toBe(404);
		await host.peer.request('removePeer', { peerId: 'troll' });
		expect(await target.peer.waitForNotification('sessionEnded')).toEqual({ reason: 'removed', by: 'host' });
		await waitFor('removed peer disconnected', () => target.peer.closed);
		await host.peer.waitForNotification('peerClosed', (p) => p.peerId === 'troll');
		const back = await refusal(server, { roomId: 'remove', token: target.token! });
		expect(back).toMatchObject({ code: 403, reason: expect.stringMatching(/removed/) });
		host.peer.close();
	});

	it('locks the room to everyone but hosts', async () => {
		const host = await joinRoom(server, 'locked', 'host', { role: 'host' });
		await host.peer.request('lockRoom', { locked: true });
		await host.peer.waitForNotification('roomLocked', (l) => l.locked);
		const late = await TestPeer.connect(server.wsUrl, 'locked', '', { token: await tokenFor(server, 'locked', 'late', 'participant') });
		const refused = await late.requestError('join', { displayName: 'Late', rtpCapabilities: chromium.rtpCapabilities });
		expect(refused).toMatchObject({ code: 403, message: expect.stringMatching(/locked/) });
		const cohost = await joinRoom(server, 'locked', 'cohost', { role: 'host' });
		expect(cohost.joined.locked).toBe(true);
		await host.peer.request('lockRoom', { locked: false });
		await late.request('join', { displayName: 'Late', rtpCapabilities: chromium.rtpCapabilities });
		for (const peer of [host.peer, late, cohost.peer]) peer.close();
	});

	it('keeps guests in the lobby until a host admits or denies them', async () => {
		const host = await joinRoom(server, 'lobby', 'host', { role: 'host' });
		const video = await host.peer.request('produce', { transportId: host.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 0), appData: { source: 'webcam' } });
		const connectGuest = async (id: string) => {
			const guest = await TestPeer.connect(server.wsUrl, 'lobby', '', { token: await tokenFor(server, 'lobby', id, 'guest', { name: `Guest ${id}` }) });
			expect((await guest.requestError('createWebRtcTransport', { producing: false, consuming: true })).code).toBe(403);
			const joined = await guest.request('join', { displayName: 'ignored', rtpCapabilities: chromium.rtpCapabilities, sctpCapabilities });
			expect(joined).toMatchObject({ lobby: true, role: 'guest', permissions: [], peers: [] });
			return guest;
		};
		const g1 = await connectGuest('g1');
		const lobby = await host.peer.waitForNotification('lobbyChanged', (l) => l.waiting.some((w) => w.id === 'g1'));
		expect(lobby.waiting[0]).toMatchObject({ id: 'g1', displayName: 'Guest g1' });
		// Not announced to the room while waiting.
		expect(host.peer.received('newPeer').some((p) => p.id === 'g1')).toBe(false);

		await host.peer.request('admitPeer', { peerId: 'g1' });
		const admitted = await g1.waitForNotification('admitted');
		expect(admitted).toMatchObject({ role: 'participant', lobby: false, peers: [expect.objectContaining({ id: 'host' })] });
		await host.peer.waitForNotification('newPeer', (p) => p.id === 'g1');
		await g1.request('createWebRtcTransport', { producing: false, consuming: true });
		await waitFor('admitted guest offered the host\'s camera', () => g1.serverRequestsOf('newConsumer').find((o) => o.producerId === video.id));

		const g2 = await connectGuest('g2');
		await host.peer.waitForNotification('lobbyChanged', (l) => l.waiting.some((w) => w.id === 'g2'));
		await host.peer.request('denyPeer', { peerId: 'g2' });
		expect(await g2.waitForNotification('sessionEnded')).toEqual({ reason: 'denied', by: 'host' });
		await waitFor('denied guest disconnected', () => g2.closed);
		expect((await host.peer.request('getLobby', {})).waiting).toEqual([]);
		host.peer.close();
		g1.close();
	});

	it('promotes a viewer to presenter and back, closing what it may no longer send', async () => {
		const host = await joinRoom(server, 'stage', 'host', { role: 'host' });
		const viewer = await joinRoom(server, 'stage', 'fan', { role: 'viewer' });
		await viewer.peer.request('raiseHand', { raised: true });
		await host.peer.waitForNotification('handsChanged', (h) => h.raised.some((r) => r.peerId === 'fan'));
		await host.peer.request('setPeerRole', { peerId: 'fan', role: 'presenter' });
		expect(await viewer.peer.waitForNotification('permissionsChanged')).toMatchObject({ role: 'presenter', by: 'host' });
		// From the audience to the stage: announced, counted no more, its hand down.
		await host.peer.waitForNotification('newPeer', (p) => p.id === 'fan' && p.role === 'presenter');
		await host.peer.waitForNotification('handsChanged', (h) => h.raised.length === 0);
		const mic = await viewer.peer.request('produce', { transportId: viewer.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		await waitFor('host offered the new presenter\'s mic', () => host.peer.serverRequestsOf('newConsumer').find((o) => o.producerId === mic.id));
		await host.peer.request('setPeerRole', { peerId: 'fan', role: 'viewer' });
		await waitFor('the demoted viewer\'s producer closed', () => server.rooms.get('stage')?.peers.get('fan')?.producers.size === 0);
		await viewer.peer.waitForNotification('permissionsChanged', (p) => p.role === 'viewer');
		await host.peer.waitForNotification('peerClosed', (p) => p.peerId === 'fan');
		host.peer.close();
		viewer.peer.close();
	});

	it('ends the meeting for everyone', async () => {
		const host = await joinRoom(server, 'end', 'host', { role: 'host' });
		const other = await joinRoom(server, 'end', 'other', { role: 'participant' });
		await host.peer.request('endMeeting', {});
		for (const peer of [host.peer, other.peer]) expect(await peer.waitForNotification('sessionEnded')).toEqual({ reason: 'meeting-ended', by: 'host' });
		await waitFor('room closed', () => server.rooms.get('end') === undefined);
	});
});

describe('open mode', () => {
	it('mints participant and viewer tokens for its own page, with fresh identities', async () => {
		const minted = await http<{ token: string; identity: string; role: string }>(open, 'POST', '/api/token', { roomId: 'open', role: 'viewer', displayName: 'Vera' }, { authorization: null });
		expect(minted.status).toBe(200);
		expect(minted.json.role).toBe('viewer');
		const again = await http<{ identity: string }>(open, 'POST', '/api/token', { roomId: 'open' }, { authorization: null });
		expect(again.json.identity).not.toBe(minted.json.identity);
		expect((await http(open, 'POST', '/api/token', { roomId: 'open', role: 'host' }, { authorization: null })).status).toBe(400);
		const viewer = await joinRoom(open, 'open', '', { token: minted.json.token });
		expect(viewer.joined.role).toBe('viewer');
		viewer.peer.close();
		const closed = await http(server, 'POST', '/api/token', { roomId: 'open' }, { authorization: null });
		expect(closed.status).toBe(403);
		expect(closed.json.error).toMatch(/not in open mode/);
	});

	it('accepts tokenless clients as participants, who cannot take over a session', async () => {
		const first = await joinRoom(open, 'tokenless', 'same');
		expect(first.joined.role).toBe('participant');
		const second = await refusal(open, { roomId: 'tokenless', peerId: 'same' });
		expect(second).toMatchObject({ code: 409, reason: expect.stringMatching(/in use/) });
		expect(first.peer.received('sessionReplaced')).toHaveLength(0);
		first.peer.close();
	});
});

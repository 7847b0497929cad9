/**
 * WHIP and WHEP with Chromium as a plain client: an RTCPeerConnection and
 * fetch, no mediasoup-client. A WHIP publish (VP8 simulcast + Opus from the
 * fake camera and microphone) appears in a room, to a protoo peer and to a
 * WHEP player whose frames advance; DELETE ends both sessions.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { startServer, type SfuServer } from '../../server/server.js';
import { joinRoom, tokenFor } from '../helpers/fixtures.js';
import { launchChromium, MEDIA_TIMEOUT_MS, SIGNAL_TIMEOUT_MS, until } from './harness.js';

const ROOM = 'whip';

/**
 * The in-page client, as a streaming tool would write it. `window.whip`
 * publishes, `window.whep` plays into a <video id="player">; both return the
 * HTTP status, the session URL and the answer.
 */
const CLIENT = `
window.signal = async (kind, url, token, pc) => {
	const offer = await pc.createOffer();
	await pc.setLocalDescription(offer);
	const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token }, body: offer.sdp });
	const text = await response.text();
	if (response.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: text });
	return { status: response.status, location: response.headers.get('Location'), body: text };
};
window.whip = async (url, token) => {
	const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
	const pc = new RTCPeerConnection();
	window.publisher = pc;
	pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly' });
	pc.addTransceiver(stream.getVideoTracks()[0], {
		direction: 'sendonly',
		sendEncodings: [{ rid: 'l', scaleResolutionDownBy: 4 }, { rid: 'm', scaleResolutionDownBy: 2 }, { rid: 'h' }],
	});
	return window.signal('whip', url, token, pc);
};
window.whep = async (url, token) => {
	const pc = new RTCPeerConnection();
	window.player = pc;
	pc.addTransceiver('audio', { direction: 'recvonly' });
	pc.addTransceiver('video', { direction: 'recvonly' });
	const video = document.createElement('video');
	video.id = 'player';
	video.muted = true;
	video.autoplay = true;
	document.body.appendChild(video);
	pc.ontrack = (event) => {
		if (event.track.kind === 'video') video.srcObject = new MediaStream([event.track]);
	};
	return window.signal('whep', url, token, pc);
};
window.inbound = async (kind) => {
	const stats = await window.player.getStats();
	for (const report of stats.values()) if (report.type === 'inbound-rtp' && report.kind === kind) return { packets: report.packetsReceived, frames: report.framesDecoded ?? 0, width: report.frameWidth ?? 0 };
	return { packets: 0, frames: 0, width: 0 };
};
`;

type Signalled = { status: number; location: string | null; body: string };
type Inbound = { packets: number; frames: number; width: number };

describe('WHIP ingest and WHEP playback', { timeout: 180_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	let publisherPage: Page;
	let playerPage: Page;

	beforeAll(async () => {
		const config = loadConfig({
			env: {},
			file: null,
			overrides: {
				http: { listenHost: '127.0.0.1', listenPort: 0 },
				mediasoup: { numWorkers: 1, webRtcServerPort: 0, announcedAddress: '127.0.0.1', listenIp: '127.0.0.1' },
				auth: { secret: 'whip-whep-test-secret-0123456789abcdefgh' },
				log: { level: 'warn' },
			},
		});
		server = await startServer(config);
		browser = await launchChromium();
		const open = async () => {
			const context = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ['camera', 'microphone'] });
			const page = await context.newPage();
			// Any page of the server: a secure context of the same origin as the WHIP/WHEP endpoints.
			await page.goto(`${server.url}/healthz`);
			await page.evaluate(CLIENT);
			return page;
		};
		[publisherPage, playerPage] = [await open(), await open()];
	});

	afterAll(async () => {
		await browser?.close();
		await server?.close();
	});

	it('refuses offers without a valid token or that are not SDP', async () => {
		// From the page: Node's fetch would refuse the self-signed certificate.
		const results = await publisherPage.evaluate(async (url) => {
			const send = async (headers: Record<string, string>, body: string) => (await fetch(url, { method: 'POST', headers, body })).status;
			return {
				noToken: await send({ 'Content-Type': 'application/sdp' }, 'v=0\r\n'),
				badToken: await send({ 'Content-Type': 'application/sdp', Authorization: 'Bearer not.a.token' }, 'v=0\r\n'),
			};
		}, `${server.url}/whip/${ROOM}`);
		expect(results).toEqual({ noToken: 401, badToken: 401 });
		const send = ({ url, token, type, body }: { url: string; token: string; type: string; body: string }) =>
			publisherPage.evaluate(async (request) => (await fetch(request.url, { method: 'POST', headers: { 'Content-Type': request.type, Authorization: `Bearer ${request.token}` }, body: request.body })).status, { url, token, type, body });
		const url = `${server.url}/whip/${ROOM}`;
		// A viewer may not publish; a presenter must send SDP, and a real offer.
		expect(await send({ url, token: await tokenFor(server, ROOM, 'v0', 'viewer'), type: 'application/sdp', body: 'v=0\r\n' })).toBe(403);
		const presenter = await tokenFor(server, ROOM, 'p0', 'presenter');
		expect(await send({ url, token: presenter, type: 'text/plain', body: 'hello' })).toBe(415);
		expect(await send({ url, token: presenter, type: 'application/sdp', body: 'hello' })).toBe(400);
		expect(await send({ url, token: presenter, type: 'application/sdp', body: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n' })).toBe(400);
		expect(await send({ url: `${server.url}/whep/${ROOM}`, token: await tokenFor(server, ROOM, 'v1', 'viewer'), type: 'application/sdp', body: 'v=0\r\n' })).toBe(400);
		expect(server.rooms.get(ROOM)?.peers.size ?? 0).toBe(0);
	});

	it('publishes with WHIP into a room, plays with WHEP, and ends with DELETE', async () => {
		// Someone in the room over protoo sees the WHIP publisher like any participant.
		const watcher = await joinRoom(server, ROOM, 'watcher', { role: 'host' });
		const viewerToken = await tokenFor(server, ROOM, 'player', 'viewer');
		const whep = async () => (await playerPage.evaluate(`window.whep(${JSON.stringify(`${server.url}/whep/${ROOM}`)}, ${JSON.stringify(viewerToken)})`)) as Signalled;
		// Nothing on the stage yet: the player is told to come back.
		const early = await whep();
		expect(early.status).toBe(409);
		expect(early.body).toMatch(/nothing on the stage/);
		const presenterToken = await tokenFor(server, ROOM, 'obs', 'presenter', { name: 'OBS' });
		const published = (await publisherPage.evaluate(`window.whip(${JSON.stringify(`${server.url}/whip/${ROOM}`)}, ${JSON.stringify(presenterToken)})`)) as Signalled;
		expect(published.status, published.body).toBe(201);
		expect(published.location).toMatch(new RegExp(`^/whip/${ROOM}/[0-9a-f-]{36}$`));
		expect(published.body).toContain('a=ice-lite');

		const obs = await until('the WHIP peer produces audio and video', async () => {
			const peer = server.rooms.get(ROOM)?.peers.get('obs');
			return peer && peer.producers.size === 2 ? peer : undefined;
		}, SIGNAL_TIMEOUT_MS);
		expect(obs.displayName).toBe('OBS');
		const video = [...obs.producers.values()].find((p) => p.kind === 'video')!;
		expect(video.type).toBe('simulcast');
		expect(video.rtpParameters.encodings).toHaveLength(3);
		await watcher.peer.waitForNotification('newPeer', (p) => p.id === 'obs');
		await until('the watcher is offered both WHIP tracks', async () => (watcher.peer.serverRequestsOf('newConsumer').filter((o) => o.peerId === 'obs').length === 2 ? true : undefined), SIGNAL_TIMEOUT_MS);
		await until('the WHIP video arrives at the server', async () => {
			const stats = await video.getStats();
			return stats.some((s) => s.packetCount > 50) ? true : undefined;
		}, MEDIA_TIMEOUT_MS);

		const played = await whep();
		expect(played.status, played.body).toBe(201);
		expect(played.location).toMatch(new RegExp(`^/whep/${ROOM}/`));
		const first = await until('the WHEP player decodes video', async () => {
			const inbound = (await playerPage.evaluate(`window.inbound('video')`)) as Inbound;
			return inbound.frames > 5 && inbound.width > 0 ? inbound : undefined;
		}, MEDIA_TIMEOUT_MS);
		const later = await until('the WHEP player\'s frames advance', async () => {
			const inbound = (await playerPage.evaluate(`window.inbound('video')`)) as Inbound;
			return inbound.frames > first.frames + 10 ? inbound : undefined;
		}, MEDIA_TIMEOUT_MS);
		expect(later.width).toBeGreaterThan(0);
		const audio = await until('the WHEP player receives audio', async () => {
			const inbound = (await playerPage.evaluate(`window.inbound('audio')`)) as Inbound;
			return inbound.packets > 20 ? inbound : undefined;
		}, MEDIA_TIMEOUT_MS);
		expect(audio.packets).toBeGreaterThan(20);

		// Trickle is acknowledged; new ICE credentials restart ICE and come back.
		const patched = await publisherPage.evaluate(async ({ url, token }) => {
			const patch = async (body: string) => {
				const response = await fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', Authorization: `Bearer ${token}` }, body });
				return { status: response.status, body: await response.text() };
			};
			return {
				trickle: await patch('a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n'),
				restart: await patch('a=ice-ufrag:newufrag\r\na=ice-pwd:newpasswordnewpassword12\r\n'),
			};
		}, { url: `${server.url}${published.location!}`, token: presenterToken });
		expect(patched.trickle.status).toBe(204);
		expect(patched.restart.status).toBe(200);
		expect(patched.restart.body).toMatch(/a=ice-ufrag:\S+/);

		const deleted = await publisherPage.evaluate(
			async ({ url, token }) => (await fetch(url, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })).status,
			{ url: `${server.url}${published.location!}`, token: presenterToken },
		);
		expect(deleted).toBe(200);
		await until('the WHIP peer has left', async () => (server.rooms.get(ROOM)?.peers.has('obs') ? undefined : true), SIGNAL_TIMEOUT_MS);
		await watcher.peer.waitForNotification('peerClosed', (p) => p.peerId === 'obs');
		const again = await publisherPage.evaluate(
			async ({ url, token }) => (await fetch(url, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })).status,
			{ url: `${server.url}${published.location!}`, token: presenterToken },
		);
		expect(again).toBe(404);
		watcher.peer.close();
	});
});

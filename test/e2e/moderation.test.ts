/**
 * Access control in the web client, in Chromium against a server with a
 * secret: pages join by invitation links (join tokens minted as an
 * application backend would), a host mutes, allows unmuting, removes, lets a
 * guest in from the lobby, stops a camera, locks the room, changes a
 * viewer's role and ends the meeting, and each page shows what happened to it. A page without a token is told it
 * needs an invitation.
 *
 * One room carries the story, so the tests run in order and share pages;
 * at most three are open at once. Every wait is a bounded poll.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../server/signalling/protocol.js';
import type { SfuServer } from '../../server/server.js';
import { http } from '../helpers/http.js';
import {
	closeAll,
	deepLink,
	expectVideoDecoding,
	launchChromium,
	openParticipant,
	screenshot,
	serverPeer,
	SIGNAL_TIMEOUT_MS,
	startTestServer,
	tileOf,
	until,
	waitJoined,
	type Participant,
} from './harness.js';

const ROOM = 'e2e-moderation';
const SECRET = 'e2e-moderation-secret-0123456789abcdef';
const tileVideo = (name: string) => `[data-testid="peer-tile"][data-display-name="${name}"] video`;

describe('moderation in Chromium', { timeout: 240_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	const open = new Set<Participant>();
	let host: Participant;
	let pat: Participant;

	/** Fails with the pages' own console lines, which say more than a timeout. */
	async function withLogs<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			const logs = [...open].map((p) => `--- ${p.name} console ---\n${p.log.slice(-30).join('\n')}`).join('\n');
			throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
		}
	}

	async function invitationLink(identity: string, role: Role, name: string): Promise<string> {
		const { token } = await server.auth.mint({ room: ROOM, identity, role, name, ttlSeconds: 600 });
		// The room and the name come from the token itself.
		return `${server.url}/?${new URLSearchParams({ token, autojoin: '1' })}`;
	}

	async function openPage(url: string, name: string): Promise<Participant> {
		const participant = await openParticipant(browser, url, name);
		open.add(participant);
		return participant;
	}

	async function closePage(participant: Participant): Promise<void> {
		open.delete(participant);
		await participant.context.close();
	}

	function micProducer(peerId: string) {
		return [...(serverPeer(server, ROOM, peerId)?.producers.values() ?? [])].find((p) => (p.appData as Record<string, unknown>).source === 'mic');
	}

	/** WebSocket connections the server refused because their identity was removed. */
	async function removedRefusals(): Promise<number> {
		const { text } = await http(server, 'GET', '/metrics', undefined, { authorization: null });
		const line = text.split('\n').find((l) => l.startsWith('sfu_connections_rejected_total{reason="removed"}'));
		return line ? Number(line.split(' ').at(-1)) : 0;
	}

	beforeAll(async () => {
		server = await startTestServer({ auth: { secret: SECRET } });
		browser = await launchChromium();
	});

	afterAll(async () => {
		await closeAll(open);
		await browser?.close();
		await server?.close();
	});

	it('a page without a token is told that this server needs an invitation link', async () => {
		const page = await openPage(deepLink(server, ROOM, 'Nobody'), 'Nobody');
		const error = page.page.locator('[data-testid="error"][data-kind="invitation-required"]');
		await error.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		await expect(error.textContent()).resolves.toContain('This server needs an invitation link with a token');
		// It never got as far as the room.
		expect(server.rooms.get(ROOM)).toBeUndefined();
		await closePage(page);
	});

	it('a host mutes a participant: paused on the server, the participant cannot unmute until the host allows it', async () => {
		host = await openPage(await invitationLink('host', 'host', 'Hana'), 'Hana');
		pat = await openPage(await invitationLink('pat', 'participant', 'Pat'), 'Pat');
		await withLogs(async () => {
			await Promise.all([waitJoined(host), waitJoined(pat)]);
			await expect(pat.page.locator('[data-testid="self-tile"]').getAttribute('data-peer-id')).resolves.toBe('pat');
			// Only a host sees the moderation controls.
			await pat.page.locator('[data-testid="toggle-participants"]').click();
			await pat.page.locator('[data-testid="participants-panel"] [data-testid="participant"][data-peer-id="host"][data-role="host"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(pat.page.locator('[data-testid="mute-host"], [data-testid="lock-room"], [data-testid="end-meeting"]').count()).resolves.toBe(0);

			await host.page.locator('[data-testid="toggle-participants"]').click();
			const mute = host.page.locator('[data-testid="mute-pat"]');
			await mute.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await until('Pat’s microphone on the server, live', async () => (micProducer('pat') && !micProducer('pat')?.paused ? true : undefined), SIGNAL_TIMEOUT_MS);

			await mute.click();
			await until('the server to pause Pat’s microphone', async () => (micProducer('pat')?.paused ? true : undefined), SIGNAL_TIMEOUT_MS);
			await pat.page.locator('[data-testid="muted-by-host"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(pat.page.locator('[data-testid="toggle-mic"]').isDisabled()).resolves.toBe(true);
			await expect(pat.page.locator('[data-testid="self-tile"]').getAttribute('data-mic-muted')).resolves.toBe('true');
			await tileOf(host.page, 'Pat').locator('[data-testid="mic-muted-indicator"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });

			// Pat tries anyway (the "m" shortcut): the server refuses, the page says so, the microphone stays paused.
			await pat.page.keyboard.press('m');
			const refused = pat.page.locator('[data-testid="error"][data-kind="unmute-refused"]');
			await refused.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(refused.textContent()).resolves.toContain('publishAudio');
			console.log(`screenshot: ${await screenshot(pat.page, 'moderation-muted-by-host')}`);
			expect(micProducer('pat')?.paused).toBe(true);
			await expect(pat.page.locator('[data-testid="self-tile"]').getAttribute('data-mic-muted')).resolves.toBe('true');

			await host.page.locator('[data-testid="allow-unmute-pat"]').click();
			const unmute = pat.page.locator('[data-testid="toggle-mic"]:not([disabled])');
			await unmute.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await pat.page.locator('[data-testid="muted-by-host"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await expect(unmute.textContent()).resolves.toContain('Unmute');
			await unmute.click();
			await until('the server to resume Pat’s microphone', async () => (micProducer('pat')?.paused === false ? true : undefined), SIGNAL_TIMEOUT_MS);
			await host.page.locator('[data-testid="peer-tile"][data-display-name="Pat"][data-mic-muted="false"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		});
	});

	it('a host removes a participant: the page says so and stays out, its tile goes, and its token is refused after', async () => {
		const refusalsBefore = await removedRefusals();
		await host.page.locator('[data-testid="remove-pat"]').click();
		await withLogs(async () => {
			const ended = pat.page.locator('[data-testid="session-ended"][data-reason="removed"]');
			await ended.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(ended.textContent()).resolves.toContain('You were removed by the host');
			await tileOf(host.page, 'Pat').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="participant"][data-peer-id="pat"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			expect(serverPeer(server, ROOM, 'pat')).toBeUndefined();

			// The same invitation opened again is refused, with the reason.
			const again = await openPage(await invitationLink('pat', 'participant', 'Pat'), 'Pat again');
			const error = again.page.locator('[data-testid="error"][data-kind="join-rejected"]');
			await error.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(error.textContent()).resolves.toContain('removed from this room');
			await closePage(again);
		});
		// The refusal above is the only one: the removed page, which got its message long before, did not try to come back.
		expect(await removedRefusals()).toBe(refusalsBefore + 1);
		await expect(pat.page.locator('[data-testid="session-ended"][data-reason="removed"]').count()).resolves.toBe(1);
		expect(serverPeer(server, ROOM, 'pat')).toBeUndefined();
		await closePage(pat);
	});

	it('a guest waits in the lobby until the host admits it; then its camera is decoded on the host’s page', async () => {
		const guest = await openPage(await invitationLink('gus', 'guest', 'Gus'), 'Gus');
		await withLogs(async () => {
			const waiting = guest.page.locator('[data-testid="lobby-waiting"]');
			await waiting.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(waiting.textContent()).resolves.toContain('Waiting for the host to let you in');
			console.log(`screenshot: ${await screenshot(guest.page, 'moderation-guest-lobby')}`);
			// Waiting is not being in: nobody sees the guest, and it receives nothing.
			await expect(tileOf(host.page, 'Gus').count()).resolves.toBe(0);
			expect(serverPeer(server, ROOM, 'gus')?.joined).toBe(false);

			await host.page.locator('[data-testid="lobby-entry"][data-peer-id="gus"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(host.page.locator('[data-testid="lobby-count"]').textContent()).resolves.toBe('1');
			console.log(`screenshot: ${await screenshot(host.page, 'moderation-host-lobby')}`);
			await host.page.locator('[data-testid="admit-gus"]').click();

			await waitJoined(guest);
			await host.page.locator('[data-testid="lobby"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="participant"][data-peer-id="gus"][data-role="participant"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await tileOf(host.page, 'Gus').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expectVideoDecoding(host.page, tileVideo('Gus'), 'Hana sees the admitted Gus');
			// And the guest receives the room, as after a join.
			await expectVideoDecoding(guest.page, tileVideo('Hana'), 'Gus sees Hana');

			// A host stops the camera: closed on the server, off on both pages; Gus may start it again.
			await host.page.locator('[data-testid="stop-webcam-gus"]').click();
			await guest.page.locator('[data-testid="self-tile"][data-camera-off="true"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(guest.page.locator('[data-testid="host-notice"]').textContent()).resolves.toContain('The host stopped your camera');
			await host.page.locator('[data-testid="peer-tile"][data-display-name="Gus"][data-camera-off="true"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const webcams = () => [...(serverPeer(server, ROOM, 'gus')?.producers.values() ?? [])].filter((p) => (p.appData as Record<string, unknown>).source === 'webcam');
			expect(webcams()).toHaveLength(0);
			await guest.page.locator('[data-testid="toggle-camera"]').click();
			await expectVideoDecoding(host.page, tileVideo('Gus'), 'Hana sees Gus’s camera again');
			expect(webcams()).toHaveLength(1);
		});
	});

	it('a viewer publishes nothing and has no device buttons; a host locks the room, then makes the viewer a participant', async () => {
		await withLogs(async () => {
			await host.page.locator('[data-testid="lock-room"]').click();
			await host.page.locator('[data-testid="room-locked"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const viewerLink = await invitationLink('vic', 'viewer', 'Vic');
			const refused = await openPage(viewerLink, 'Vic (locked out)');
			const error = refused.page.locator('[data-testid="error"][data-kind="join-rejected"]');
			await error.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(error.textContent()).resolves.toContain('locked');
			await closePage(refused);
			await host.page.locator('[data-testid="lock-room"]').click();
			await host.page.locator('[data-testid="room-locked"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });

			const viewer = await openPage(viewerLink, 'Vic');
			await waitJoined(viewer);
			await expectVideoDecoding(viewer.page, tileVideo('Hana'), 'Vic sees Hana');
			for (const control of ['toggle-mic', 'toggle-camera', 'toggle-screen-share']) {
				await expect(viewer.page.locator(`[data-testid="${control}"]`).count(), control).resolves.toBe(0);
			}
			await expect(viewer.page.locator('[data-testid="toggle-chat"]').count()).resolves.toBe(1);
			expect(serverPeer(server, ROOM, 'vic')?.producers.size).toBe(0);

			await host.page.locator('[data-testid="role-vic"]').selectOption('participant');
			await viewer.page.locator('[data-testid="toggle-camera"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(viewer.page.locator('[data-testid="host-notice"]').textContent()).resolves.toContain('Participant');
			await host.page.locator('[data-testid="participant"][data-peer-id="vic"][data-role="participant"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			console.log(`screenshot: ${await screenshot(host.page, 'moderation-host-participants')}`);
		});
	});

	it('the host ends the meeting (after confirming): every page says it has ended', async () => {
		await host.page.locator('[data-testid="end-meeting"]').click();
		await host.page.locator('[data-testid="end-meeting-confirm"]').click();
		await withLogs(async () => {
			for (const participant of open) {
				const ended = participant.page.locator('[data-testid="session-ended"][data-reason="meeting-ended"]');
				await ended.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
				await expect(ended.textContent()).resolves.toContain('The meeting has ended');
			}
			await until('the room to close', async () => (server.rooms.get(ROOM) === undefined ? true : undefined), SIGNAL_TIMEOUT_MS);
		});
	});
});

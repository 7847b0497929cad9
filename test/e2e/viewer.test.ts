/**
 * One-to-many streaming in the web client, in Chromium against a server with
 * a secret: a host and a presenter on stage, a viewer (by a viewer token, on
 * a phone-sized window) on the player page. The viewer is never asked for a
 * device and sends no media until a host brings it on stage; it decodes the
 * stage, is counted (not listed) on the host's page, picks a quality, chats
 * (its only sending transport opens then), raises its hand, is
 * invited on stage (then publishes its camera, decoded on the host's page)
 * and moved back to the audience.
 *
 * One room carries the story, so the tests run in order and share pages;
 * three are open at once (the second audience member is a protoo TestPeer).
 * Every wait is a bounded poll.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../server/signalling/protocol.js';
import type { SfuServer } from '../../server/server.js';
import { TestPeer } from '../helpers/TestPeer.js';
import {
	audioTracks,
	closeAll,
	consumersOf,
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

const ROOM = 'e2e-stream';
const SECRET = 'e2e-stream-secret-0123456789abcdef01';
const PHONE = { width: 390, height: 844 };
const tileVideo = (name: string) => `[data-testid="peer-tile"][data-display-name="${name}"] video`;

type CountingWindow = { sfuDeviceRequests?: number };

/** Runs in the viewer's page before its scripts: counts every getUserMedia call (they still go through). */
function countDeviceRequests(): void {
	const w = globalThis as unknown as CountingWindow & { navigator: { mediaDevices?: { getUserMedia: (constraints: unknown) => Promise<unknown> } } };
	w.sfuDeviceRequests = 0;
	const devices = w.navigator.mediaDevices;
	if (!devices) return;
	const original = devices.getUserMedia.bind(devices);
	devices.getUserMedia = (constraints: unknown) => {
		w.sfuDeviceRequests = (w.sfuDeviceRequests ?? 0) + 1;
		return original(constraints);
	};
}

describe('streaming to an audience in Chromium', { timeout: 240_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	const open = new Set<Participant>();
	const bots = new Set<TestPeer>();
	let host: Participant;
	let presenter: Participant;
	let viewer: Participant;

	async function withLogs<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			const logs = [...open].map((p) => `--- ${p.name} console ---\n${p.log.slice(-30).join('\n')}`).join('\n');
			throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
		}
	}

	async function token(identity: string, role: Role, name: string): Promise<string> {
		return (await server.auth.mint({ room: ROOM, identity, role, name, ttlSeconds: 600 })).token;
	}

	async function invitationLink(identity: string, role: Role, name: string): Promise<string> {
		return `${server.url}/?${new URLSearchParams({ token: await token(identity, role, name), autojoin: '1' })}`;
	}

	async function openPage(url: string, name: string, options: Parameters<typeof openParticipant>[3] = {}): Promise<Participant> {
		const participant = await openParticipant(browser, url, name, options);
		open.add(participant);
		return participant;
	}

	const deviceRequests = () => viewer.page.evaluate(() => (globalThis as unknown as CountingWindow).sfuDeviceRequests ?? -1);
	const audienceOnHostPage = (count: number) =>
		host.page.locator(`[data-testid="meeting-room"] [data-testid="audience-count"][data-count="${count}"]`).waitFor({ timeout: SIGNAL_TIMEOUT_MS });
	const webcamsOf = (peerId: string) =>
		[...(serverPeer(server, ROOM, peerId)?.producers.values() ?? [])].filter((p) => (p.appData as Record<string, unknown>).source === 'webcam');

	beforeAll(async () => {
		server = await startTestServer({ auth: { secret: SECRET } });
		browser = await launchChromium();
	});

	afterAll(async () => {
		for (const bot of bots) bot.close();
		await closeAll(open);
		await browser?.close();
		await server?.close();
	});

	it('a viewer on a phone gets the player: no device request, only a receiving transport, the stage decoded with sound, counted on the host’s page', async () => {
		host = await openPage(await invitationLink('host', 'host', 'Hana'), 'Hana');
		presenter = await openPage(await invitationLink('pia', 'presenter', 'Pia'), 'Pia');
		await withLogs(async () => {
			await Promise.all([waitJoined(host), waitJoined(presenter)]);
			viewer = await openPage(await invitationLink('vic', 'viewer', 'Vic'), 'Vic', { viewport: PHONE, initScript: countDeviceRequests });
			const player = viewer.page.locator('[data-testid="player-page"][data-session="joined"]');
			await player.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(viewer.page.locator('[data-testid="meeting-room"]').count()).resolves.toBe(0);

			await expectVideoDecoding(viewer.page, tileVideo('Pia'), 'Vic sees Pia');
			await expectVideoDecoding(viewer.page, tileVideo('Hana'), 'Vic sees Hana');
			const audio = await until(
				'live audio of the stage on the viewer’s page',
				async () => {
					const tracks = await audioTracks(viewer.page, `${'[data-testid="peer-tile"][data-display-name="Pia"]'} audio`);
					return tracks.some((t) => t.readyState === 'live' && !t.muted) ? tracks : undefined;
				},
				SIGNAL_TIMEOUT_MS,
			);
			expect(audio.length).toBe(1);

			// Nothing was asked of the devices, nothing is sent, and no sending transport exists on the server.
			expect(await deviceRequests()).toBe(0);
			for (const control of ['toggle-mic', 'toggle-camera', 'toggle-screen-share', 'self-tile']) {
				await expect(viewer.page.locator(`[data-testid="${control}"]`).count(), control).resolves.toBe(0);
			}
			const vic = serverPeer(server, ROOM, 'vic');
			expect(vic?.producers.size).toBe(0);
			expect([...(vic?.transports.values() ?? [])].map((t) => ({ consuming: t.appData.consuming === true, producing: t.appData.producing === true }))).toEqual([
				{ consuming: true, producing: false },
			]);

			// The audience is counted, not announced: the host sees "1 watching" and no tile or row for Vic.
			await expect(viewer.page.locator('[data-testid="audience-count"][data-count="1"]').textContent()).resolves.toContain('1 watching');
			await audienceOnHostPage(1);
			await expect(tileOf(host.page, 'Vic').count()).resolves.toBe(0);

			// Phone layout: the stage spans the width, the raise-hand button is on screen.
			const stage = await viewer.page.locator('[data-testid="stage"]').boundingBox();
			expect(stage?.width ?? 0).toBeGreaterThanOrEqual(PHONE.width - 16);
			expect(stage?.height ?? 0).toBeGreaterThan(200);
			const raise = viewer.page.locator('[data-testid="raise-hand"]');
			await expect(raise.isVisible()).resolves.toBe(true);
			const button = await raise.boundingBox();
			expect(button).not.toBeNull();
			expect((button?.y ?? 0) + (button?.height ?? 0)).toBeLessThanOrEqual(PHONE.height);
			expect((button?.x ?? 0) + (button?.width ?? 0)).toBeLessThanOrEqual(PHONE.width);
			console.log(`screenshot: ${await screenshot(viewer.page, 'viewer-phone-player')}`);
		});
	});

	it('the audience count follows a second audience member joining and leaving', async () => {
		await withLogs(async () => {
			const bot = await TestPeer.connect(server.wsUrl, ROOM, '', { token: await token('bot', 'viewer', 'Bot') });
			bots.add(bot);
			const joined = await bot.request('join', { displayName: 'Bot' });
			expect(joined.audience).toBe(2);
			await audienceOnHostPage(2);
			await viewer.page.locator('[data-testid="audience-count"][data-count="2"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			bot.close();
			bots.delete(bot);
			await audienceOnHostPage(1);
		});
	});

	it('a fixed quality asks the server for that layer; auto gives the choice back to the layer adaptation', async () => {
		await withLogs(async () => {
			const piaWebcam = () => consumersOf(server, ROOM, 'vic', 'pia').find((c) => c.source === 'webcam')?.consumer;
			const quality = viewer.page.locator('[data-testid="quality-select"]');
			await quality.selectOption('high');
			await until('Vic’s consumer of Pia’s camera to prefer the top layer', async () => (piaWebcam()?.preferredLayers?.spatialLayer === 2 ? true : undefined), SIGNAL_TIMEOUT_MS);
			await quality.selectOption('low');
			await until('Vic’s consumer of Pia’s camera to prefer layer 0', async () => (piaWebcam()?.preferredLayers?.spatialLayer === 0 ? true : undefined), SIGNAL_TIMEOUT_MS);
			await expectVideoDecoding(viewer.page, tileVideo('Pia'), 'Vic sees Pia at low quality');
			await quality.selectOption('auto');
			// Auto: the layer the policy picks for the tile's size (the tile shows its plan), not the fixed one.
			const planned = tileOf(viewer.page, 'Pia');
			await until(
				'the server to follow the tile’s own plan again',
				async () => {
					const layer = Number(await planned.getAttribute('data-preferred-spatial-layer'));
					return Number.isInteger(layer) && piaWebcam()?.preferredLayers?.spatialLayer === layer ? layer : undefined;
				},
				SIGNAL_TIMEOUT_MS,
			);
		});
	});

	it('the viewer chats: its sending transport opens with its first message, the host reads it', async () => {
		await withLogs(async () => {
			await viewer.page.locator('[data-testid="toggle-chat"]').click();
			await viewer.page.locator('[data-testid="chat-input"]').fill('Hello from the audience');
			await viewer.page.locator('[data-testid="chat-send"]').click();
			await viewer.page.locator('[data-testid="chat-message"][data-sender="Vic"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="toggle-chat"]').click();
			const received = host.page.locator('[data-testid="chat-message"][data-sender="Vic"] [data-testid="chat-text"]');
			await received.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(received.textContent()).resolves.toBe('Hello from the audience');
			const transports = [...(serverPeer(server, ROOM, 'vic')?.transports.values() ?? [])];
			expect(transports.filter((t) => t.appData.producing === true)).toHaveLength(1);
			expect(serverPeer(server, ROOM, 'vic')?.producers.size).toBe(0);
			expect(await deviceRequests()).toBe(0);
			await host.page.locator('[data-testid="toggle-chat"]').click();
			await viewer.page.locator('[data-testid="toggle-chat"]').click();
		});
	});

	it('the viewer raises a hand, the host invites it on stage: it asks for its devices, publishes, and the host decodes its camera; moved back, it is a player again', async () => {
		await withLogs(async () => {
			await viewer.page.locator('[data-testid="raise-hand"]').click();
			await viewer.page.locator('[data-testid="raise-hand"][aria-pressed="true"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="hands-count"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="toggle-participants"]').click();
			await host.page.locator('[data-testid="raised-hand"][data-peer-id="vic"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			// Participants see the hand too, without the host's button.
			await presenter.page.locator('[data-testid="toggle-participants"]').click();
			await presenter.page.locator('[data-testid="raised-hand"][data-peer-id="vic"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(presenter.page.locator('[data-testid="invite-vic"]').count()).resolves.toBe(0);
			// The host can also browse the audience, raised hands first.
			await host.page.locator('[data-testid="browse-audience"]').click();
			await host.page.locator('[data-testid="audience-member"][data-peer-id="vic"][data-hand-raised="true"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			console.log(`screenshot: ${await screenshot(host.page, 'viewer-host-raised-hands')}`);
			expect(await deviceRequests()).toBe(0);

			await host.page.locator('[data-testid="invite-vic"]').click();
			await viewer.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="raised-hand"][data-peer-id="vic"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await host.page.locator('[data-testid="participant"][data-peer-id="vic"][data-role="presenter"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await until('Vic’s camera on the server', async () => (webcamsOf('vic').length === 1 ? true : undefined), SIGNAL_TIMEOUT_MS);
			expect(await deviceRequests()).toBeGreaterThanOrEqual(1);
			await expectVideoDecoding(host.page, tileVideo('Vic'), 'Hana sees the promoted Vic');
			await expectVideoDecoding(presenter.page, tileVideo('Vic'), 'Pia sees the promoted Vic');
			// Nobody watches now: the meeting header shows no count at zero.
			await host.page.locator('[data-testid="meeting-room"] [data-testid="audience-count"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			console.log(`screenshot: ${await screenshot(viewer.page, 'viewer-promoted-phone')}`);

			await host.page.locator('[data-testid="to-audience-vic"]').click();
			await viewer.page.locator('[data-testid="player-page"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await until('Vic’s producers closed on the server', async () => (serverPeer(server, ROOM, 'vic')?.producers.size === 0 ? true : undefined), SIGNAL_TIMEOUT_MS);
			await tileOf(presenter.page, 'Vic').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await tileOf(host.page, 'Vic').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await audienceOnHostPage(1);
			await expect(viewer.page.locator('[data-testid="raise-hand"][aria-pressed="false"]').isVisible()).resolves.toBe(true);
			await expectVideoDecoding(viewer.page, tileVideo('Pia'), 'Vic, back in the audience, sees Pia');
		});
	});
});

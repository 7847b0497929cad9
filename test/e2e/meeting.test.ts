/**
 * The web client in real Chromium against the real server: a three-person
 * meeting joined by deep link, camera and microphone muting, screen share
 * and the presentation layout, layer adaptation, chat, leaving, a dropped
 * WebSocket resumed, a closed session rejoined, media rebuilt after its
 * worker died, H.264 and ICE over TCP.
 *
 * One room carries the whole story, so the tests below run in order and
 * share participants. Every wait is a bounded poll of what the page (or the
 * server) really shows; nothing sleeps for a fixed time.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import {
	audioTracks,
	closeAll,
	consumersOf,
	deepLink,
	destroySignallingSocket,
	expectVideoDecoding,
	launchChromium,
	MEDIA_TIMEOUT_MS,
	openParticipant,
	recordedSessionPhases,
	recordSessionPhases,
	screenshot,
	serverPeer,
	SIGNAL_TIMEOUT_MS,
	startTestServer,
	tileOf,
	until,
	waitJoined,
	type Participant,
} from './harness.js';
import { joinToFirstFrame } from './timing.js';

const ROOM = 'e2e-meeting';
type ProbeRow = { getAttribute(name: string): string | null; querySelector(selector: string): { textContent: string | null } | null };
const tileVideo = (name: string) => `[data-testid="peer-tile"][data-display-name="${name}"] video`;

async function peerIdOf(page: Page): Promise<string> {
	const id = await page.locator('[data-testid="self-tile"]').getAttribute('data-peer-id');
	if (!id) throw new Error('self tile has no peer id');
	return id;
}

describe('meeting in Chromium', { timeout: 180_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	const everyone: Participant[] = [];
	const ids = new Map<Participant, string>();
	let alice: Participant;
	let bob: Participant;
	let carol: Participant;

	/** Fails with the page's own console errors, which say more than a timeout. */
	async function withLogs<T>(participants: Participant[], work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			const logs = participants.map((p) => `--- ${p.name} console ---\n${p.log.slice(-30).join('\n')}`).join('\n');
			throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
		}
	}

	async function join(name: string, extra: Record<string, string> = {}): Promise<Participant> {
		const participant = await openParticipant(browser, deepLink(server, ROOM, name, extra), name);
		everyone.push(participant);
		await waitJoined(participant);
		ids.set(participant, await peerIdOf(participant.page));
		return participant;
	}

	function id(participant: Participant): string {
		const value = ids.get(participant);
		if (!value) throw new Error(`no peer id for ${participant.name}`);
		return value;
	}

	beforeAll(async () => {
		server = await startTestServer();
		browser = await launchChromium();
	});

	afterAll(async () => {
		await closeAll(everyone);
		await browser?.close();
		await server?.close();
	});

	it('three participants joined by deep link see each other’s video decoding and hear live audio', async () => {
		alice = await join('Alice');
		[bob, carol] = await Promise.all([join('Bob'), join('Carol')]);
		const trio = [alice, bob, carol];
		await withLogs(trio, async () => {
			for (const viewer of trio) {
				for (const other of trio.filter((p) => p !== viewer)) {
					await tileOf(viewer.page, other.name).waitFor({ timeout: SIGNAL_TIMEOUT_MS });
					await expectVideoDecoding(viewer.page, tileVideo(other.name), `${viewer.name} sees ${other.name}`);
					// Live and not muted: a remote track is muted by the browser until RTP arrives.
					const tracks = await until(
						`${viewer.name} receives ${other.name}'s audio`,
						async () => {
							const found = await audioTracks(viewer.page, `[data-testid="peer-tile"][data-display-name="${other.name}"] audio`);
							return found.length === 1 && found[0]?.readyState === 'live' && !found[0].muted ? found : undefined;
						},
						MEDIA_TIMEOUT_MS,
					);
					expect(tracks[0]?.kind).toBe('audio');
					await expect(tileOf(viewer.page, other.name).getAttribute('data-mic-muted')).resolves.toBe('false');
				}
				await expect(viewer.page.locator('[data-testid="participant-count"]').textContent()).resolves.toBe('3 participants');
			}
		});
		// Those who joined a room with someone in it measured their time to the first remote frame (join-timing.test.ts summarises runs).
		for (const p of [bob, carol]) console.log(`${p.name}: join to first remote frame ${Math.round(await joinToFirstFrame(p.page))} ms (deep link, three joining at once)`);
		console.log(`screenshot: ${await screenshot(alice.page, 'three-person-room')}`);
	});

	it('turning the camera off shows the indicator and pauses the consumers on the other pages; on again, video returns', async () => {
		const webcamConsumers = () =>
			[bob, carol].flatMap((viewer) => consumersOf(server, ROOM, id(viewer), id(alice)).filter((c) => c.source === 'webcam'));
		expect(webcamConsumers()).toHaveLength(2);

		await alice.page.locator('[data-testid="toggle-camera"]').click();
		await withLogs([alice, bob, carol], async () => {
			for (const viewer of [bob, carol]) {
				const tile = tileOf(viewer.page, 'Alice');
				await viewer.page.locator(`[data-testid="peer-tile"][data-display-name="Alice"][data-camera-off="true"]`).waitFor({ timeout: SIGNAL_TIMEOUT_MS });
				await tile.locator('[data-testid="camera-off-indicator"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			}
			await until('the server to pause both consumers of Alice’s camera', async () => (webcamConsumers().every((c) => c.consumer.producerPaused) ? true : undefined), SIGNAL_TIMEOUT_MS);
			await expect(alice.page.locator('[data-testid="self-tile"]').getAttribute('data-camera-off')).resolves.toBe('true');
		});

		await alice.page.locator('[data-testid="toggle-camera"]').click();
		await withLogs([alice, bob, carol], async () => {
			for (const viewer of [bob, carol]) {
				await viewer.page.locator(`[data-testid="peer-tile"][data-display-name="Alice"][data-camera-off="false"]`).waitFor({ timeout: SIGNAL_TIMEOUT_MS });
				await expectVideoDecoding(viewer.page, tileVideo('Alice'), `${viewer.name} sees Alice again`);
			}
			expect(webcamConsumers().every((c) => !c.consumer.producerPaused)).toBe(true);
		});
	});

	it('muting the microphone (button, then "m" to unmute) shows the indicator on the other pages', async () => {
		await bob.page.locator('[data-testid="toggle-mic"]').click();
		for (const viewer of [alice, carol]) {
			await tileOf(viewer.page, 'Bob').locator('[data-testid="mic-muted-indicator"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		}
		const micConsumers = consumersOf(server, ROOM, id(alice), id(bob)).filter((c) => c.source === 'mic');
		expect(micConsumers.map((c) => c.consumer.producerPaused)).toEqual([true]);
		// Unmute with the keyboard shortcut.
		await bob.page.keyboard.press('m');
		for (const viewer of [alice, carol]) {
			await viewer.page.locator('[data-testid="peer-tile"][data-display-name="Bob"][data-mic-muted="false"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		}
	});

	it('switching camera and microphone during the call keeps the same producers and the others keep receiving', async () => {
		const producerIds = () => [...(serverPeer(server, ROOM, id(alice))?.producers.values() ?? [])].map((p) => p.id).sort();
		const before = producerIds();
		const selfTrackLabel = () =>
			alice.page.locator('[data-testid="self-tile"] video').evaluate((element) => {
				const media = element as unknown as { srcObject: { getVideoTracks(): { label: string }[] } | null };
				return media.srcObject?.getVideoTracks()[0]?.label ?? '';
			});
		await expect(selfTrackLabel()).resolves.toBe('fake_device_0');

		await alice.page.locator('.devices summary').click();
		const cameraSelect = alice.page.locator('[data-testid="camera-select"]');
		await until('three cameras listed', async () => ((await cameraSelect.locator('option').count()) === 3 ? true : undefined), SIGNAL_TIMEOUT_MS);
		await cameraSelect.selectOption({ label: 'fake_device_2' });
		await expect.poll(selfTrackLabel, { timeout: SIGNAL_TIMEOUT_MS }).toBe('fake_device_2');
		const microphoneSelect = alice.page.locator('[data-testid="microphone-select"]');
		await microphoneSelect.selectOption({ label: 'Fake Audio Input 1' });
		await expect.poll(() => microphoneSelect.inputValue(), { timeout: SIGNAL_TIMEOUT_MS }).not.toBe('default');
		await alice.page.locator('.devices summary').click();

		// replaceTrack, not new producers: nothing to renegotiate for the others.
		expect(producerIds()).toEqual(before);
		for (const viewer of [bob, carol]) {
			await expectVideoDecoding(viewer.page, tileVideo('Alice'), `${viewer.name} sees Alice's second camera`);
			const tracks = await audioTracks(viewer.page, '[data-testid="peer-tile"][data-display-name="Alice"] audio');
			expect(tracks.map((t) => t.readyState)).toEqual(['live']);
		}
	});

	it('a screen share appears large on the other pages, tiles drop to a small layer, and it goes away when stopped', async () => {
		// The layer Bob asks for Carol's camera is the one his page planned for her tile, and the server applied it.
		const carolCameraOnBob = () => consumersOf(server, ROOM, id(bob), id(carol)).find((c) => c.source === 'webcam')?.consumer;
		const appliedLayer = async () => {
			const planned = await tileOf(bob.page, 'Carol').getAttribute('data-preferred-spatial-layer');
			const applied = carolCameraOnBob()?.preferredLayers?.spatialLayer;
			return planned !== null && planned !== '' && applied === Number(planned) ? applied : undefined;
		};
		const gridLayer = await until('the server to apply the layer Bob planned for Carol’s grid tile', appliedLayer, SIGNAL_TIMEOUT_MS);

		try {
			await alice.page.locator('[data-testid="toggle-screen-share"]').click();
			await withLogs([alice, bob, carol], async () => {
				for (const viewer of [bob, carol]) {
					const stage = viewer.page.locator(`[data-testid="screen-stage"][data-presenter-id="${id(alice)}"]`);
					await stage.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
					await expectVideoDecoding(viewer.page, '[data-testid="screen-stage"] video', `${viewer.name} sees Alice's screen`);
					await expect(viewer.page.locator('[data-testid="meeting-room"]').getAttribute('data-layout')).resolves.toBe('presentation');
					// "Large": the stage is bigger than every camera tile, which moved to the strip.
					const stageBox = await stage.boundingBox();
					const tileBoxes = await viewer.page.locator('[data-testid="peer-tile"], [data-testid="self-tile"]').evaluateAll((tiles) =>
						tiles.map((t) => {
							const r = (t as unknown as { getBoundingClientRect(): { width: number; height: number } }).getBoundingClientRect();
							return r.width * r.height;
						}),
					);
					expect(tileBoxes).toHaveLength(3);
					for (const area of tileBoxes) expect((stageBox?.width ?? 0) * (stageBox?.height ?? 0)).toBeGreaterThan(area * 4);
					// Alice's camera is still there beside her screen.
					await expectVideoDecoding(viewer.page, tileVideo('Alice'), `${viewer.name} still sees Alice's camera`);
				}
				// The fake display capture comes with audio; it is sent beside the screen.
				const sources = consumersOf(server, ROOM, id(bob), id(alice)).map((c) => c.source).sort();
				expect(sources).toEqual(['mic', 'screen', 'screen-audio', 'webcam']);
				// The screen share's sender: Alice's page shows it is presenting.
				await alice.page.locator('[data-testid="screen-stage"][data-own="true"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			});
			console.log(`screenshot: ${await screenshot(bob.page, 'presentation-layout')}`);

			// Strip tiles (about 136 px high) need a lower layer than grid tiles (about 290 px).
			const stripLayer = await until(
				'Bob to ask for a lower layer of Carol’s camera in the strip than in the grid',
				async () => {
					const layer = await appliedLayer();
					return layer !== undefined && layer < gridLayer ? layer : undefined;
				},
				SIGNAL_TIMEOUT_MS,
			);
			console.log(`Carol's camera on Bob's page: spatial layer ${gridLayer} in the grid, ${stripLayer} in the strip`);

			// A narrow window: the strip scrolls, Carol's tile (the last) is off-screen, her camera is paused for Bob.
			await bob.page.setViewportSize({ width: 360, height: 720 });
			await until('Bob to pause Carol’s camera while her tile is off-screen', async () => (carolCameraOnBob()?.paused ? true : undefined), SIGNAL_TIMEOUT_MS);
			await expect(tileOf(bob.page, 'Carol').getAttribute('data-video-paused')).resolves.toBe('true');
			await tileOf(bob.page, 'Carol').scrollIntoViewIfNeeded();
			await until('Bob to resume Carol’s camera once her tile is visible', async () => (carolCameraOnBob()?.paused === false ? true : undefined), SIGNAL_TIMEOUT_MS);
			await expectVideoDecoding(bob.page, tileVideo('Carol'), 'Bob sees Carol again after scrolling');
		} finally {
			// Whatever happened above, the next tests start from a normal window and no share.
			await bob.page.setViewportSize({ width: 1280, height: 720 });
			if ((await alice.page.locator('[data-testid="toggle-screen-share"]').textContent())?.includes('Stop sharing')) {
				await alice.page.locator('[data-testid="toggle-screen-share"]').click();
			}
		}
		// Stopped (in `finally`): the stage goes away everywhere.
		for (const viewer of [bob, carol]) {
			await viewer.page.locator('[data-testid="screen-stage"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			await viewer.page.locator('[data-testid="meeting-room"][data-layout="grid"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		}
		expect(consumersOf(server, ROOM, id(bob), id(alice)).map((c) => c.source).sort()).toEqual(['mic', 'webcam']);
	});

	it('a chat message reaches the others with the sender’s name', async () => {
		for (const p of [alice, bob, carol]) await p.page.locator('[data-testid="toggle-chat"]').click();
		const text = `hello from Alice ${Date.now()}`;
		const input = alice.page.locator('[data-testid="chat-input"]');
		await alice.page.locator('[data-testid="chat-send"]:not([disabled]), [data-testid="chat-input"]').first().waitFor();
		await until('Alice’s chat channel to open', async () => ((await input.getAttribute('placeholder'))?.includes('connecting') ? undefined : true), SIGNAL_TIMEOUT_MS);
		await input.fill(text);
		await alice.page.locator('[data-testid="chat-send"]').click();
		await alice.page.locator('[data-testid="chat-message"]', { hasText: text }).waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		for (const viewer of [bob, carol]) {
			const message = viewer.page.locator('[data-testid="chat-message"]', { hasText: text });
			await message.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(message.getAttribute('data-sender')).resolves.toBe('Alice');
		}
		// Bob answers; Alice reads it.
		await bob.page.locator('[data-testid="chat-input"]').fill('hi Alice');
		await bob.page.locator('[data-testid="chat-send"]').click();
		await alice.page.locator('[data-testid="chat-message"][data-sender="Bob"]', { hasText: 'hi Alice' }).waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		for (const p of [alice, bob, carol]) await p.page.locator('[data-testid="toggle-chat"]').click();
	});

	it('the stats panel shows bitrate, resolution, layers and scores of what is sent and received', async () => {
		await alice.page.locator('[data-testid="toggle-stats"]').click();
		const panel = alice.page.locator('[data-testid="stats-panel"]');
		await panel.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		// At least two sent (microphone, camera) and four received (two from each of Bob and Carol), each measured.
		await until(
			'stats rows with a measured bitrate for everything sent and received',
			async () => {
				const rows = await panel.locator('[data-testid="stats-row"]').evaluateAll((elements) =>
					elements.map((e) => {
						const row = e as unknown as ProbeRow;
						return { direction: row.getAttribute('data-direction'), bitrate: row.querySelector('[data-testid="stats-bitrate"]')?.textContent ?? '' };
					}),
				);
				// The browser's own figure comes first; "–" until two samples exist.
				const measured = rows.filter((r) => /^\s*\d+(\.\d+)? (bit|kbit|Mbit)\/s/u.test(r.bitrate));
				const sent = rows.filter((r) => r.direction === 'send').length;
				const received = rows.length - sent;
				return sent >= 2 && received >= 4 && measured.length === rows.length ? rows : undefined;
			},
			SIGNAL_TIMEOUT_MS,
		);
		const video = panel.locator('[data-testid="stats-row"][data-direction="receive"][data-kind="video"]').first();
		await expect.poll(() => video.textContent(), { timeout: SIGNAL_TIMEOUT_MS }).toMatch(/\d+×\d+/u);
		await expect.poll(() => video.textContent(), { timeout: SIGNAL_TIMEOUT_MS }).toMatch(/S\d T\d \(preferred S\d T\d\)/u);
		await expect.poll(() => video.textContent(), { timeout: SIGNAL_TIMEOUT_MS }).toMatch(/Score\s*\d+ \(sender \d+\)/u);
		await expect.poll(() => panel.locator('[data-testid="join-to-first-frame"]').textContent(), { timeout: SIGNAL_TIMEOUT_MS }).toMatch(/\d/u);
		await alice.page.locator('[data-testid="toggle-stats"]').click();
	});

	it('a participant who leaves disappears from the others’ grids within 2 s', async () => {
		await carol.page.locator('[data-testid="leave"]').click();
		const started = Date.now();
		await Promise.all([alice, bob].map((viewer) => tileOf(viewer.page, 'Carol').waitFor({ state: 'detached', timeout: 2000 })));
		console.log(`leave seen by the others after ${Date.now() - started} ms`);
		await carol.page.locator('[data-testid="join-notice"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		await expect(alice.page.locator('[data-testid="participant-count"]').textContent()).resolves.toBe('2 participants');
		// Coming back later: the page remembers the room and the name.
		await carol.page.reload();
		await expect.poll(() => carol.page.locator('[data-testid="room-input"]').inputValue(), { timeout: SIGNAL_TIMEOUT_MS }).toBe(ROOM);
		await expect(carol.page.locator('[data-testid="name-input"]').inputValue()).resolves.toBe('Carol');
		await carol.context.close();
	});

	it('"Copy invite link" puts the room’s link on the clipboard', async () => {
		await alice.page.locator('[data-testid="copy-invite"]').click();
		await expect.poll(() => alice.page.locator('[data-testid="copy-invite"]').textContent(), { timeout: SIGNAL_TIMEOUT_MS }).toBe('Link copied');
		const link = await alice.page.evaluate(() =>
			(globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText(),
		);
		expect(link).toBe(`${server.url}/?roomId=${ROOM}`);
	});

	it('a dropped WebSocket resumes the same session; a page the server closed, or whose worker died, rebuilds its media and it flows again', async () => {
		for (const drop of ['TCP connection destroyed', 'closed by the server', 'media worker killed'] as const) {
			const before = consumersOf(server, ROOM, id(alice), id(bob)).map((c) => c.consumer.id);
			expect(before).toHaveLength(2);
			const producersBefore = [...(serverPeer(server, ROOM, id(bob))?.producers.keys() ?? [])].sort();
			const affected = drop === 'media worker killed' ? [alice, bob] : [bob];
			for (const p of affected) await recordSessionPhases(p.page);
			if (drop === 'closed by the server') {
				const room = server.rooms.get(ROOM);
				const peer = serverPeer(server, ROOM, id(bob));
				if (!room || !peer) throw new Error('Bob is not in the room on the server');
				room.closePeer(peer);
			} else if (drop === 'TCP connection destroyed') {
				destroySignallingSocket(server, ROOM, id(bob));
			} else {
				// The room's only worker: the server replaces it, and the peers rebuild their media in the same session.
				const [worker] = server.pool.workers;
				if (!worker) throw new Error('no live worker');
				process.kill(worker.pid, 'SIGKILL');
			}
			await withLogs([alice, bob], async () => {
				const phases = async (p: Participant) => recordedSessionPhases(p.page);
				if (drop === 'media worker killed') {
					// The server rebuilds the media in the same session (`mediaReset`): the pages say so, and do not rejoin.
					for (const p of affected) {
						await until(
							`${p.name}'s page to say its media is being restored`,
							async () => ((await phases(p)).some((e) => e.startsWith('banner:Media connection lost')) ? true : undefined),
							SIGNAL_TIMEOUT_MS,
						);
					}
				} else {
					await until(`Bob's page to show it reconnects (${drop})`, async () => ((await phases(bob)).includes('phase:reconnecting') ? true : undefined), SIGNAL_TIMEOUT_MS);
				}
				for (const p of affected) await p.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
				if (drop === 'TCP connection destroyed') {
					// Resumed: the server kept Bob's producers and Alice's consumers of them.
					await until('the server to see Bob connected again', async () => (serverPeer(server, ROOM, id(bob))?.connected ? true : undefined), SIGNAL_TIMEOUT_MS);
					expect([...(serverPeer(server, ROOM, id(bob))?.producers.keys() ?? [])].sort()).toEqual(producersBefore);
					expect(consumersOf(server, ROOM, id(alice), id(bob)).map((c) => c.consumer.id)).toEqual(before);
				} else {
					// Alice gets Bob's media back with new consumers.
					await until(
						`Alice to consume Bob's new producers (${drop})`,
						async () => {
							const now = consumersOf(server, ROOM, id(alice), id(bob)).map((c) => c.consumer.id);
							return now.length === 2 && now.every((consumerId) => !before.includes(consumerId)) ? now : undefined;
						},
						MEDIA_TIMEOUT_MS,
					);
				}
				await expectVideoDecoding(alice.page, tileVideo('Bob'), `Alice sees Bob after ${drop}`);
				await expectVideoDecoding(bob.page, tileVideo('Alice'), `Bob sees Alice after ${drop}`);
				const audio = await until(
					`Alice hears Bob again (${drop})`,
					async () => {
						const tracks = await audioTracks(alice.page, '[data-testid="peer-tile"][data-display-name="Bob"] audio');
						return tracks[0]?.readyState === 'live' && !tracks[0].muted ? tracks : undefined;
					},
					MEDIA_TIMEOUT_MS,
				);
				expect(audio).toHaveLength(1);
				// They were told, rather than left looking at a frozen picture, and ended in the room.
				for (const p of affected) {
					const seen = await phases(p);
					if (drop === 'media worker killed') {
						expect(seen, `${p.name}'s page rebuilt its media in the same session, without rejoining`).not.toContain('phase:reconnecting');
					} else {
						expect(seen, `phases ${p.name}'s page showed (${drop})`).toContain('phase:reconnecting');
						expect(seen.some((entry) => entry.startsWith('banner:Reconnecting'))).toBe(true);
					}
					expect(seen.filter((entry) => entry.startsWith('phase:')).at(-1) ?? 'phase:joined').toBe('phase:joined');
				}
			});
		}
	});

	it('a page that forces H.264 is decoded by the others', async () => {
		const dave = await join('Dave', { codec: 'h264' });
		await withLogs([alice, bob, dave], async () => {
			for (const viewer of [alice, bob]) {
				await tileOf(viewer.page, 'Dave').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
				await expect
					.poll(() => tileOf(viewer.page, 'Dave').getAttribute('data-codec'), { timeout: SIGNAL_TIMEOUT_MS })
					.toBe('video/H264');
				await expectVideoDecoding(viewer.page, tileVideo('Dave'), `${viewer.name} sees Dave (H.264)`);
			}
			const producers = [...(serverPeer(server, ROOM, id(dave))?.producers.values() ?? [])];
			const webcam = producers.find((p) => (p.appData as Record<string, unknown>).source === 'webcam');
			expect(webcam?.rtpParameters.codecs[0]?.mimeType).toBe('video/H264');
			// Dave, sending H.264, still receives the others' VP8.
			await expectVideoDecoding(dave.page, tileVideo('Alice'), 'Dave sees Alice (VP8)');
		});
		console.log(`Dave: join to first remote frame ${Math.round(await joinToFirstFrame(dave.page))} ms (deep link, H.264)`);
	});

	it('a page that forces TCP (UDP blocked) sends and receives over ICE-TCP', async () => {
		const erin = await join('Erin', { forceTcp: '1' });
		await withLogs([alice, erin], async () => {
			await expectVideoDecoding(erin.page, tileVideo('Alice'), 'Erin sees Alice over TCP');
			await expectVideoDecoding(alice.page, tileVideo('Erin'), 'Alice sees Erin, who sends over TCP');
			const transports = [...(serverPeer(server, ROOM, id(erin))?.transports.values() ?? [])];
			expect(transports).toHaveLength(2);
			for (const transport of transports) {
				const tuple = 'iceSelectedTuple' in transport ? transport.iceSelectedTuple : undefined;
				expect(tuple?.protocol).toBe('tcp');
			}
		});
	});
});

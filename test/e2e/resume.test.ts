/**
 * Sessions that survive a dropped connection, in Chromium against the real
 * server: a WebSocket dropped by the network is resumed (the same producers
 * and consumers on the server, the others never see the peer leave, video
 * keeps advancing); a connection that falls silent is found dead by the
 * client's pings and taken over by a new one before the server notices;
 * while the page cannot get back, it counts the grace window down and the
 * others show a "reconnecting…" badge; a dead media worker takes the media
 * but not the sessions (`mediaReset`); a page that goes away says `leave`
 * and is gone at once.
 *
 * Bob's WebSocket goes through a relay of the test (`page.routeWebSocket`),
 * so that it can be silenced or refused; Alice's is the browser's own. The
 * tests run in order on one room.
 */
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import {
	closeAll,
	consumersOf,
	deepLink,
	destroySignallingSocket,
	expectVideoDecoding,
	launchChromium,
	MEDIA_TIMEOUT_MS,
	openParticipant,
	presenceLog,
	recordedSessionPhases,
	recordSessionPhases,
	screenshot,
	serverPeer,
	SIGNAL_TIMEOUT_MS,
	startTestServer,
	tileOf,
	until,
	waitJoined,
	watchPresence,
	type Participant,
} from './harness.js';

const ROOM = 'e2e-resume';
const tileSelector = (name: string) => `[data-testid="peer-tile"][data-display-name="${name}"]`;
const tileVideo = (name: string) => `${tileSelector(name)} video`;
const badgeSelector = (name: string) => `${tileSelector(name)} [data-testid="peer-reconnecting"]`;
/** Media must keep (or be back to) advancing within this after the session is back. */
const MEDIA_BACK_MS = 2000;

/**
 * Bob's signalling, relayed by the test: new connections are forwarded to
 * the server, or refused; the current one can be silenced (nothing passes
 * either way, neither side closed: a dead network path) or cut.
 */
class SignallingRelay {
	refuse = false;
	readonly urls: { url: string; at: number }[] = [];
	#current: { page: WebSocketRoute; server: WebSocketRoute; silent: boolean } | undefined;

	async install(page: Page): Promise<void> {
		await page.routeWebSocket(
			(url) => url.searchParams.has('roomId'),
			(ws) => this.#route(ws),
		);
	}

	#route(page: WebSocketRoute): void {
		this.urls.push({ url: page.url(), at: Date.now() });
		if (this.refuse) {
			void page.close({ code: 4001, reason: 'refused by the test' });
			return;
		}
		const server = page.connectToServer();
		const connection = { page, server, silent: false };
		this.#current = connection;
		page.onMessage((message) => {
			if (!connection.silent) server.send(message);
		});
		server.onMessage((message) => {
			if (!connection.silent) page.send(message);
		});
		// A silenced path is dead: the page closing its end does not reach the server.
		page.onClose((code, reason) => {
			if (!connection.silent) void server.close({ code: code === 1005 || code === undefined ? 1000 : code, reason }).catch(() => undefined);
		});
		server.onClose((code, reason) => void page.close({ code: code === 1005 || code === undefined ? 1000 : code, reason }).catch(() => undefined));
	}

	/** The current connection stays open on both sides but carries nothing any more. */
	silence(): void {
		if (!this.#current) throw new Error('no relayed connection');
		this.#current.silent = true;
	}

	/** The current connection is cut on both sides, abnormally for the page. */
	async cut(): Promise<void> {
		const current = this.#current;
		if (!current) throw new Error('no relayed connection');
		this.#current = undefined;
		current.silent = true;
		await Promise.all([current.page.close({ code: 4002, reason: 'cut by the test' }), current.server.close({ code: 4003, reason: 'cut by the test' })]);
	}
}

async function peerIdOf(page: Page): Promise<string> {
	const id = await page.locator('[data-testid="self-tile"]').getAttribute('data-peer-id');
	if (!id) throw new Error('self tile has no peer id');
	return id;
}

describe('sessions survive a dropped connection (Chromium)', { timeout: 180_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	const everyone: Participant[] = [];
	let alice: Participant;
	let bob: Participant;
	let aliceId: string;
	let bobId: string;
	const relay = new SignallingRelay();

	async function withLogs<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			const logs = everyone.map((p) => `--- ${p.name} console ---\n${p.log.slice(-30).join('\n')}`).join('\n');
			throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
		}
	}

	/** What the server holds of a peer: the same Peer object, its producers, and the others' consumers of them. */
	function held(peerId: string, viewerId: string) {
		const peer = serverPeer(server, ROOM, peerId);
		return {
			peer,
			channel: peer?.channel,
			producers: [...(peer?.producers.keys() ?? [])].sort(),
			consumers: consumersOf(server, ROOM, viewerId, peerId)
				.map((c) => c.consumer.id)
				.sort(),
			theirConsumers: consumersOf(server, ROOM, peerId, viewerId)
				.map((c) => c.consumer.id)
				.sort(),
		};
	}

	/** Video keeps advancing: frames presented now and again a moment later. */
	async function advancing(page: Page, name: string, what: string): Promise<void> {
		await expectVideoDecoding(page, tileVideo(name), what, MEDIA_BACK_MS);
	}

	beforeAll(async () => {
		// Two workers: when the room's dies, the server rebuilds its media on the other, in the same sessions.
		server = await startTestServer({ mediasoup: { numWorkers: 2 } });
		browser = await launchChromium();
		alice = await openParticipant(browser, deepLink(server, ROOM, 'Alice'), 'Alice');
		everyone.push(alice);
		await waitJoined(alice);
		bob = await openParticipant(browser, deepLink(server, ROOM, 'Bob'), 'Bob', { beforeGoto: (page) => relay.install(page) });
		everyone.push(bob);
		await waitJoined(bob);
		aliceId = await peerIdOf(alice.page);
		bobId = await peerIdOf(bob.page);
		await withLogs(async () => {
			await expectVideoDecoding(alice.page, tileVideo('Bob'), 'Alice sees Bob');
			await expectVideoDecoding(bob.page, tileVideo('Alice'), 'Bob sees Alice');
		});
		// From now on, any disappearance of a tile (the others seeing a peer leave) is recorded.
		await watchPresence(alice.page, 'bob-tile', tileSelector('Bob'));
		await watchPresence(bob.page, 'alice-tile', tileSelector('Alice'));
		await watchPresence(alice.page, 'bob-badge', badgeSelector('Bob'));
		await watchPresence(bob.page, 'alice-badge', badgeSelector('Alice'));
	});

	afterAll(async () => {
		await closeAll(everyone);
		await browser?.close();
		await server?.close();
	});

	it('a WebSocket dropped by the network resumes the same session: same producers and consumers, no one sees the peer leave, video keeps advancing', async () => {
		const before = held(aliceId, bobId);
		expect(before.producers).toHaveLength(2);
		expect(before.consumers).toHaveLength(2);
		await recordSessionPhases(alice.page);
		const dropped = Date.now();
		destroySignallingSocket(server, ROOM, aliceId);
		await withLogs(async () => {
			await until('Alice to resume', async () => ((await recordedSessionPhases(alice.page)).includes('phase:reconnecting') ? true : undefined), SIGNAL_TIMEOUT_MS, 25);
			await alice.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const resumedAfter = Date.now() - dropped;
			await until('the server to see Alice connected again', async () => (serverPeer(server, ROOM, aliceId)?.connected ? true : undefined), SIGNAL_TIMEOUT_MS, 25);
			const after = held(aliceId, bobId);
			expect(after.peer, 'the same Peer on the server').toBe(before.peer);
			expect(after.producers).toEqual(before.producers);
			expect(after.consumers).toEqual(before.consumers);
			expect(after.theirConsumers).toEqual(before.theirConsumers);
			await advancing(bob.page, 'Alice', 'Bob sees Alice right after her resume');
			await advancing(alice.page, 'Bob', 'Alice sees Bob right after her resume');
			// Bob never saw Alice leave: her tile never went away.
			expect((await presenceLog(bob.page, 'alice-tile')).map((e) => e.present)).toEqual([true]);
			const badge = await presenceLog(bob.page, 'alice-badge');
			console.log(`resume after a dropped TCP connection: page joined again after ${resumedAfter} ms; Bob's badge for Alice: ${JSON.stringify(badge.map((e) => e.present))}`);
			expect(badge.at(-1)?.present).toBe(false);
		});
	});

	it('a connection that falls silent is found dead by the pings within 5–10 s and taken over by a new one before the server notices', async () => {
		const before = held(bobId, aliceId);
		const oldChannel = before.channel;
		expect(oldChannel?.closed).toBe(false);
		await recordSessionPhases(bob.page);
		const connections = relay.urls.length;
		const silenced = Date.now();
		relay.silence();
		await withLogs(async () => {
			await until('Bob to notice the silence', async () => ((await recordedSessionPhases(bob.page)).includes('phase:reconnecting') ? true : undefined), 15_000, 50);
			const detectedAfter = Date.now() - silenced;
			await bob.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const resumedAfter = Date.now() - silenced;
			console.log(`silent connection: found dead after ${detectedAfter} ms, session resumed ${resumedAfter - detectedAfter} ms later`);
			expect(detectedAfter).toBeGreaterThanOrEqual(4500);
			expect(detectedAfter).toBeLessThanOrEqual(10_500);
			// The new connection carried the resume token.
			const next = relay.urls.slice(connections);
			expect(next.length).toBeGreaterThanOrEqual(1);
			expect(new URL(next[0]!.url).searchParams.get('resume')).toMatch(/^[A-Za-z0-9_-]{16,}$/u);
			// The server took the session over from a connection it still thought open.
			await until('the server to attach the new connection', async () => (serverPeer(server, ROOM, bobId)?.channel !== oldChannel ? true : undefined), SIGNAL_TIMEOUT_MS, 25);
			expect(oldChannel?.closed).toBe(true);
			const after = held(bobId, aliceId);
			expect(after.peer).toBe(before.peer);
			expect(after.producers).toEqual(before.producers);
			expect(after.consumers).toEqual(before.consumers);
			await advancing(alice.page, 'Bob', 'Alice sees Bob after his resume');
			await advancing(bob.page, 'Alice', 'Bob sees Alice after his resume');
			expect((await presenceLog(alice.page, 'bob-tile')).map((e) => e.present)).toEqual([true]);
			// The server never saw Bob go (the takeover came first), so Alice saw no badge either.
			expect((await presenceLog(alice.page, 'bob-badge')).map((e) => e.present)).toEqual([false]);
		});
	});

	it('while it cannot get back, the page counts the grace window down and the others badge its tile "reconnecting…"; then it resumes', async () => {
		const before = held(bobId, aliceId);
		const connections = relay.urls.length;
		const badgesBefore = (await presenceLog(alice.page, 'bob-badge')).length;
		relay.refuse = true;
		await relay.cut();
		await withLogs(async () => {
			const countdown = bob.page.locator('[data-testid="connection-banner"][data-phase="reconnecting"] [data-testid="reconnect-countdown"]');
			await countdown.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const first = Number(await countdown.getAttribute('data-seconds'));
			expect(first).toBeGreaterThan(15);
			expect(first).toBeLessThanOrEqual(20);
			await expect(bob.page.locator('[data-testid="connection-banner"]').textContent()).resolves.toMatch(/Reconnecting… \d+s/u);
			await tileOf(alice.page, 'Bob').locator('[data-testid="peer-reconnecting"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(tileOf(alice.page, 'Bob').getAttribute('data-reconnecting')).resolves.toBe('true');
			// Attempts go on, jittered, each with the resume token; the countdown goes down.
			await until('Bob to try again twice', async () => (relay.urls.length >= connections + 2 ? true : undefined), SIGNAL_TIMEOUT_MS, 50);
			await expect.poll(async () => Number(await countdown.getAttribute('data-seconds')), { timeout: 5000 }).toBeLessThan(first);
			const attempts = relay.urls.slice(connections);
			expect(attempts.every((a) => new URL(a.url).searchParams.has('resume'))).toBe(true);
			// Without signalling the media goes on: the server holds Bob's transports, producers and consumers.
			await advancing(alice.page, 'Bob', 'Alice sees Bob while his signalling is away');
			await advancing(bob.page, 'Alice', 'Bob sees Alice while his signalling is away');
			console.log(`screenshots: ${await screenshot(bob.page, 'resume-countdown')}, ${await screenshot(alice.page, 'resume-badge')}`);

			relay.refuse = false;
			const letIn = Date.now();
			await bob.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
			console.log(`refused reconnection: ${attempts.length} attempts (gaps ${gaps.join(', ')} ms), resumed ${Date.now() - letIn} ms after the server was reachable again`);
			await tileOf(alice.page, 'Bob').locator('[data-testid="peer-reconnecting"]').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
			const after = held(bobId, aliceId);
			expect(after.peer).toBe(before.peer);
			expect(after.producers).toEqual(before.producers);
			expect(after.consumers).toEqual(before.consumers);
			await advancing(alice.page, 'Bob', 'Alice sees Bob after he came back');
			await advancing(bob.page, 'Alice', 'Bob sees Alice after he came back');
			expect((await presenceLog(alice.page, 'bob-tile')).map((e) => e.present)).toEqual([true]);
			expect((await presenceLog(alice.page, 'bob-badge')).slice(badgesBefore).map((e) => e.present)).toEqual([true, false]);
		});
	});

	it('a media worker that dies takes the media, not the sessions: the pages rebuild their transports (mediaReset), no tile goes, video comes back', async () => {
		const before = { alice: held(aliceId, bobId), bob: held(bobId, aliceId) };
		const router = before.alice.peer?.router;
		if (!router) throw new Error('Alice has no router on the server');
		const pid = router.workerPid;
		expect(before.bob.peer?.router?.workerPid).toBe(pid);
		console.log(`killing worker ${router.workerIndex} (pid ${pid}), which carries the room`);
		for (const p of [alice, bob]) await recordSessionPhases(p.page);
		const killed = Date.now();
		process.kill(pid, 'SIGKILL');
		await withLogs(async () => {
			for (const p of [alice, bob]) {
				await until(
					`${p.name}'s page to say its media is being restored`,
					async () => ((await recordedSessionPhases(p.page)).some((e) => e.startsWith('banner:Media connection lost')) ? true : undefined),
					SIGNAL_TIMEOUT_MS,
					50,
				);
			}
			await until(
				'new consumers both ways on a live worker',
				async () => {
					const now = { alice: held(aliceId, bobId), bob: held(bobId, aliceId) };
					const fresh = (ids: string[], old: string[]) => ids.length === 2 && ids.every((id) => !old.includes(id));
					return fresh(now.alice.consumers, before.alice.consumers) && fresh(now.bob.consumers, before.bob.consumers) ? now : undefined;
				},
				MEDIA_TIMEOUT_MS,
			);
			await expectVideoDecoding(alice.page, tileVideo('Bob'), 'Alice sees Bob after the worker died');
			await expectVideoDecoding(bob.page, tileVideo('Alice'), 'Bob sees Alice after the worker died');
			console.log(`worker killed: video decoded again on both pages ${Date.now() - killed} ms later`);
			for (const p of [alice, bob]) {
				const seen = await recordedSessionPhases(p.page);
				expect(seen, `${p.name}'s phases`).not.toContain('phase:reconnecting');
				await expect(p.page.locator('[data-testid="meeting-room"]').getAttribute('data-session')).resolves.toBe('joined');
			}
			// The same sessions: the same Peers, on another worker; nobody saw anybody leave.
			expect(serverPeer(server, ROOM, aliceId)).toBe(before.alice.peer);
			expect(serverPeer(server, ROOM, bobId)).toBe(before.bob.peer);
			expect(serverPeer(server, ROOM, aliceId)?.router?.workerPid).not.toBe(pid);
			expect((await presenceLog(alice.page, 'bob-tile')).map((e) => e.present)).toEqual([true]);
			expect((await presenceLog(bob.page, 'alice-tile')).map((e) => e.present)).toEqual([true]);
		});
	});

	it('a page that goes away says `leave`: the others see it go at once, not after the grace window', async () => {
		const left = Date.now();
		// Alice's WebSocket is the browser's own (Bob's relay would lose the page's last message with the page).
		await alice.page.goto('about:blank');
		await withLogs(async () => {
			await tileOf(bob.page, 'Alice').waitFor({ state: 'detached', timeout: 2000 });
			console.log(`a page navigated away is gone for the others after ${Date.now() - left} ms`);
			expect(serverPeer(server, ROOM, aliceId)).toBeUndefined();
			// Gone, not reconnecting: no badge on the way out.
			expect((await presenceLog(bob.page, 'alice-badge')).slice(-1).map((e) => e.present)).toEqual([false]);
		});
	});
});

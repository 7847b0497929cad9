/**
 * Network faults on real links: the compiled server runs in a network
 * namespace of its own, the participant under test ("Client") in Chromium
 * in a second namespace joined to it by a veth pair, and an observer in
 * Chromium in the root namespace reaching the server over another veth pair
 * (netns.ts). The test cuts the client's link for 5 s, moves the client to
 * another address, and throttles its link with tbf, and checks what a user
 * would: the session survives (same producers, the observer never sees the
 * client leave), and video flows again.
 *
 * Needs root (namespaces, veth, tc): skipped with a warning otherwise. The
 * namespaces are removed afterwards, and leftovers of a crashed run before.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	CHROMIUM,
	closeAll,
	ensureWebBuilt,
	expectVideoDecoding,
	MEDIA_TIMEOUT_MS,
	openParticipant,
	projectDir,
	recordedSessionPhases,
	recordSessionPhases,
	SIGNAL_TIMEOUT_MS,
	tileOf,
	until,
	waitJoined,
	type Participant,
} from './harness.js';
import { NetworkLab, networkLabUnavailable, type NamespacedServer } from './netns.js';

const unavailable = networkLabUnavailable();
if (unavailable) console.warn(`faults.test.ts skipped: ${unavailable}`);

const ROOM = 'e2e-faults';
const OUTAGE_MS = 5000;
/** The issue's bound: video decoded again within 2 s of the link coming back. */
const MEDIA_BACK_MS = 2000;
const tileVideo = (name: string) => `[data-testid="peer-tile"][data-display-name="${name}"] video`;
const serverEntry = join(projectDir, 'dist', 'server', 'main.js');

/** The harness's Chromium flags (launchChromium cannot take another executable). */
const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream',
	'--ignore-certificate-errors',
	'--autoplay-policy=no-user-gesture-required',
	'--disable-renderer-backgrounding',
	'--disable-background-timer-throttling',
	'--disable-backgrounding-occluded-windows',
];

// ---------------------------------------------------------------------------
// In-page instrumentation. An init script keeps every RTCPeerConnection and
// every protoo message the page receives; probes read them. The page has DOM
// types, this project's tsconfig for tests has not: the few used are declared.
// ---------------------------------------------------------------------------

type ProtooMessage = { at: number; method: string; data: Record<string, unknown> };
type ProbeStatsReport = { type: string; id: string; selectedCandidatePairId?: string; localCandidateId?: string; remoteCandidateId?: string; address?: string; port?: number; protocol?: string };
type ProbePc = {
	connectionState: string;
	addEventListener(type: 'connectionstatechange', listener: () => void): void;
	localDescription: { sdp: string } | null;
	remoteDescription: { sdp: string } | null;
	getStats(): Promise<Map<string, ProbeStatsReport>>;
};
type FaultWindow = {
	RTCPeerConnection: new (...args: unknown[]) => ProbePc;
	WebSocket: new (...args: unknown[]) => { addEventListener(type: string, listener: (event: { data: unknown }) => void): void; send(data: unknown): void };
	document: { querySelector(selector: string): unknown; body: unknown };
	MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
	sfuFault?: { pcs: ProbePc[]; messages: ProtooMessage[]; events: [number, string][] };
	sfuFaultVideo?: { frames: [number, number][]; tileMissing: number[] };
};

/**
 * Runs in the page before its own scripts. Besides the messages, a timeline:
 * peer connections' state changes, WebSockets opening and closing, and the
 * recovery requests the page sends (`resume`, `restartIce`).
 */
function instrumentPage(): void {
	const w = globalThis as unknown as FaultWindow;
	const pcs: ProbePc[] = [];
	const messages: ProtooMessage[] = [];
	const events: [number, string][] = [];
	const note = (what: string) => events.length < 2000 && events.push([Date.now(), what]);
	w.sfuFault = { pcs, messages, events };
	const NativePc = w.RTCPeerConnection;
	w.RTCPeerConnection = class extends NativePc {
		constructor(...args: unknown[]) {
			super(...args);
			const index = pcs.push(this) - 1;
			this.addEventListener('connectionstatechange', () => note(`pc${index} ${this.connectionState}`));
		}
	};
	const NativeWs = w.WebSocket;
	let sockets = 0;
	w.WebSocket = class extends NativeWs {
		override send(data: unknown): void {
			const method = typeof data === 'string' ? /"method":"(resume|restartIce)"/u.exec(data)?.[1] : undefined;
			if (method) note(`sent ${method}`);
			super.send(data);
		}

		constructor(...args: unknown[]) {
			super(...args);
			const index = sockets++;
			this.addEventListener('open', () => note(`ws${index} open`));
			this.addEventListener('close', () => note(`ws${index} closed`));
			this.addEventListener('message', (event) => {
				if (typeof event.data !== 'string') return;
				try {
					const message = JSON.parse(event.data) as { method?: string; data?: Record<string, unknown> };
					if (message.method && message.method !== 'speakingPeers' && message.method !== 'activeSpeaker' && messages.length < 2000) {
						messages.push({ at: Date.now(), method: message.method, data: message.data ?? {} });
					}
				} catch {
					// not JSON: not protoo
				}
			});
		}
	};
}

/** From now on, the page records the wall-clock time and width of every frame the tile's video presents, and when the tile is missing. */
async function recordFrames(page: Page, displayName: string): Promise<void> {
	await page.evaluate((name) => {
		const w = globalThis as unknown as FaultWindow;
		type Video = { videoWidth: number; requestVideoFrameCallback(callback: () => void): number };
		const tile = `[data-testid="peer-tile"][data-display-name="${name}"]`;
		const record = { frames: [] as [number, number][], tileMissing: [] as number[] };
		w.sfuFaultVideo = record;
		let watched: Video | undefined;
		const watch = () => {
			const video = w.document.querySelector(`${tile} video`) as Video | null;
			if (!video || video === watched) return;
			watched = video;
			const onFrame = () => {
				if (watched !== video) return;
				record.frames.push([Date.now(), video.videoWidth]);
				if (record.frames.length > 20_000) record.frames.splice(0, 10_000);
				video.requestVideoFrameCallback(onFrame);
			};
			video.requestVideoFrameCallback(onFrame);
		};
		const check = () => {
			if (!w.document.querySelector(tile)) record.tileMissing.push(Date.now());
			watch();
		};
		check();
		setInterval(watch, 100);
		new w.MutationObserver(check).observe(w.document.body, { subtree: true, childList: true });
	}, displayName);
}

async function recordedFrames(page: Page): Promise<{ frames: [number, number][]; tileMissing: number[] }> {
	return page.evaluate(() => (globalThis as unknown as FaultWindow).sfuFaultVideo ?? { frames: [], tileMissing: [] });
}

async function protooMessages(page: Page, since = 0): Promise<ProtooMessage[]> {
	const messages = await page.evaluate(() => (globalThis as unknown as FaultWindow).sfuFault?.messages ?? []);
	return messages.filter((m) => m.at >= since);
}

/** The page's timeline since `since`, as "+ms what" relative to it. */
async function timeline(page: Page, since: number): Promise<string> {
	const events = await page.evaluate(() => (globalThis as unknown as FaultWindow).sfuFault?.events ?? []);
	return events
		.filter(([at]) => at >= since)
		.map(([at, what]) => `+${at - since} ${what}`)
		.join(', ') || 'no peer connection or WebSocket event';
}

type IcePath = { state: string; local: string; remote: string; protocol: string; localUfrag: string; remoteUfrag: string };

/** Each live peer connection's state, selected candidate pair and ICE credentials (a new remote ufrag: ICE was restarted). */
async function icePaths(page: Page): Promise<IcePath[]> {
	return page.evaluate(async () => {
		const w = globalThis as unknown as FaultWindow;
		const ufrag = (sdp: string | undefined) => /a=ice-ufrag:(\S+)/u.exec(sdp ?? '')?.[1] ?? '';
		const live = (w.sfuFault?.pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
		return Promise.all(
			live.map(async (pc) => {
				const reports = [...(await pc.getStats()).values()];
				const transport = reports.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
				const pair = reports.find((r) => r.id === transport?.selectedCandidatePairId);
				const local = reports.find((r) => r.id === pair?.localCandidateId);
				const remote = reports.find((r) => r.id === pair?.remoteCandidateId);
				return {
					state: pc.connectionState,
					local: local ? `${local.address}:${local.port}` : '',
					remote: remote ? `${remote.address}:${remote.port}` : '',
					protocol: local?.protocol ?? '',
					localUfrag: ufrag(pc.localDescription?.sdp),
					remoteUfrag: ufrag(pc.remoteDescription?.sdp),
				};
			}),
		);
	});
}

/** When `count` frames have been presented after `since` (wall clock), or undefined. */
function nthFrameAfter(frames: [number, number][], since: number, count: number): number | undefined {
	return frames.filter(([at]) => at > since)[count - 1]?.[0];
}

/** The longest time between two presented frames (and from/to the window's edges) within [from, to]. */
function longestGap(frames: [number, number][], from: number, to: number): number {
	const times = [from, ...frames.map(([at]) => at).filter((at) => at > from && at < to), to];
	return Math.max(...times.slice(1).map((at, i) => at - (times[i] as number)));
}

describe.skipIf(unavailable !== undefined)('network faults on real links (namespaces, veth, tc)', { timeout: 240_000 }, () => {
	let lab: NetworkLab;
	let server: NamespacedServer;
	let observerBrowser: Browser;
	let clientBrowser: Browser;
	let observer: Participant;
	let client: Participant;
	let clientId: string;

	const serverEvents = (event: string, peerId?: string, since = 0) =>
		server.lines.filter((l) => l.event === event && (peerId === undefined || l.peerId === peerId) && Date.parse(String(l.time)) >= since);

	/** Fails with the pages' console and the server's log, which say more than a timeout. */
	async function withLogs<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			const pages = [observer, client].filter(Boolean).map((p) => `--- ${p.name} console ---\n${p.log.slice(-25).join('\n')}`);
			const serverTail = server.lines.filter((l) => l.event).slice(-25).map((l) => JSON.stringify(l));
			throw new Error(`${(error as Error).message}\n${pages.join('\n')}\n--- server ---\n${serverTail.join('\n')}\n${server.otherOutput.slice(-5).join('')}`, { cause: error });
		}
	}

	/** The session is the one it was: producers not recreated, the client never closed, the observer never told it left. */
	async function expectSameSession(since: number): Promise<void> {
		expect(serverEvents('producer-created', clientId, since), 'producers the client created anew').toEqual([]);
		expect(serverEvents('peer-closed', clientId), 'the client closed on the server').toEqual([]);
		const left = (await protooMessages(observer.page)).filter((m) => m.method === 'peerClosed');
		expect(left, 'peerClosed seen by the observer').toEqual([]);
		expect((await recordedFrames(observer.page)).tileMissing, "times the observer's tile of the client was missing").toEqual([]);
		const newConsumers = (await protooMessages(observer.page, since)).filter((m) => m.method === 'newConsumer' && m.data.peerId === clientId);
		expect(newConsumers, "new consumers of the client's producers offered to the observer").toEqual([]);
	}

	async function bothDecoding(what: string): Promise<void> {
		await expectVideoDecoding(observer.page, tileVideo('Client'), `observer sees the client ${what}`);
		await expectVideoDecoding(client.page, tileVideo('Observer'), `client sees the observer ${what}`);
	}

	beforeAll(async () => {
		if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run the set-up (npm test does) to compile the server`);
		ensureWebBuilt();
		lab = NetworkLab.create();
		server = await lab.startServer(serverEntry, {
			SFU_HTTP_LISTEN_HOST: lab.serverAddress,
			SFU_HTTP_LISTEN_PORT: '0',
			SFU_HTTP_WEB_DIST_DIR: join(projectDir, 'web', 'dist'),
			SFU_HTTP_TLS_SELF_SIGNED_DIR: join(tmpdir(), 'sfu-server-test-tls'),
			SFU_MEDIASOUP_NUM_WORKERS: '1',
			SFU_MEDIASOUP_LISTEN_IP: lab.serverAddress,
			SFU_MEDIASOUP_ANNOUNCED_ADDRESS: lab.serverAddress,
			SFU_MEDIASOUP_WEB_RTC_SERVER_PORT: '0',
			SFU_MEDIASOUP_WORKER_LOG_LEVEL: 'error',
			SFU_LOG_LEVEL: 'debug',
		});
		const args = { headless: true, args: CHROMIUM_ARGS };
		observerBrowser = await chromium.launch({ ...args, executablePath: CHROMIUM });
		clientBrowser = await chromium.launch({ ...args, executablePath: lab.clientWrapper(CHROMIUM) });
		const link = (name: string) => `${server.url}/?${new URLSearchParams({ roomId: ROOM, displayName: name, autojoin: '1' })}`;
		observer = await openParticipant(observerBrowser, link('Observer'), 'Observer', { initScript: instrumentPage });
		await waitJoined(observer);
		client = await openParticipant(clientBrowser, link('Client'), 'Client', { initScript: instrumentPage });
		await waitJoined(client);
		clientId = (await client.page.locator('[data-testid="self-tile"]').getAttribute('data-peer-id')) ?? '';
		expect(clientId).not.toBe('');
		await withLogs(async () => {
			await tileOf(observer.page, 'Client').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await bothDecoding('before any fault');
		});
		await recordFrames(observer.page, 'Client');
		await recordFrames(client.page, 'Observer');
	}, 180_000);

	afterAll(async () => {
		await closeAll([observer, client].filter(Boolean));
		await observerBrowser?.close().catch(() => undefined);
		await clientBrowser?.close().catch(() => undefined);
		await lab?.destroy();
		if (lab) expect(lab.leftovers(), 'namespaces and links left behind').toEqual([]);
	}, 60_000);

	it('the client reaches the server only over its own link, from the address the test gave it', async () => {
		const paths = await icePaths(client.page);
		expect(paths.length).toBeGreaterThanOrEqual(2);
		for (const path of paths) {
			expect(path.state).toBe('connected');
			expect(path.local.split(':')[0]).toBe(lab.clientAddress);
			expect(path.remote.split(':')[0]).toBe(lab.serverAddress);
		}
		// The page's protoo messages are seen: the observer was offered the client's microphone and camera.
		const offered = (await protooMessages(observer.page)).filter((m) => m.method === 'newConsumer' && m.data.peerId === clientId);
		expect(offered.length).toBeGreaterThanOrEqual(2);
	});

	it('a 5 s outage of the client’s link: the same session goes on, and video is decoded again within 2 s of the link returning', async () => {
		await recordSessionPhases(client.page);
		const producersBefore = serverEvents('producer-created', clientId).map((l) => l.producerId);
		expect(producersBefore.length).toBeGreaterThanOrEqual(2);
		const ufragsBefore = (await icePaths(client.page)).map((p) => p.remoteUfrag);

		const cutAt = Date.now();
		lab.cutClientLink();
		await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
		lab.restoreClientLink();
		const upAt = Date.now();

		await withLogs(async () => {
			// Both directions: the observer decodes the client's camera, the client the observer's.
			const backAt = async (page: Page) => nthFrameAfter((await recordedFrames(page)).frames, upAt, 3);
			const observerBack = await until('the observer to decode the client’s video again', () => backAt(observer.page), MEDIA_TIMEOUT_MS);
			const clientBack = await until('the client to decode the observer’s video again', () => backAt(client.page), MEDIA_TIMEOUT_MS);
			const gap = longestGap((await recordedFrames(observer.page)).frames, cutAt - 1000, upAt);
			console.log(
				`outage ${upAt - cutAt} ms: media back ${observerBack - upAt} ms after the link returned on the observer's page, ${clientBack - upAt} ms on the client's (observer's longest gap ${gap} ms)`,
			);
			await client.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await until('the client to be connected on the server', async () => (serverEvents('connection-lost', clientId, cutAt).length <= serverEvents('session-resumed', clientId, cutAt).length ? true : undefined), SIGNAL_TIMEOUT_MS);
			const phases = await recordedSessionPhases(client.page);
			const restarted = (await icePaths(client.page)).some((p, i) => p.remoteUfrag !== ufragsBefore[i]);
			console.log(
				`client during the outage: ${phases.join(', ') || 'no phase change'}; signalling ${serverEvents('session-resumed', clientId, cutAt).length > 0 ? 'resumed on a new connection' : 'kept its connection'}; ICE ${restarted ? 'restarted' : 'not restarted'} by the time video was back`,
			);
			console.log(`client's timeline from the cut (link back at +${upAt - cutAt}): ${await timeline(client.page, cutAt)}`);
			await expectSameSession(cutAt);
			expect(observerBack - upAt, 'observer: link back → client’s video decoded').toBeLessThanOrEqual(MEDIA_BACK_MS);
			expect(clientBack - upAt, 'client: link back → observer’s video decoded').toBeLessThanOrEqual(MEDIA_BACK_MS);
		});
	});

	it('an address change (link up, server address unchanged) restarts ICE from the new address in the same session', async () => {
		await recordSessionPhases(client.page);
		const before = await icePaths(client.page);
		const changedAt = Date.now();
		const { from, to } = lab.changeClientAddress();
		await withLogs(async () => {
			const after = await until(
				`every transport of the client to be connected again from ${to} after an ICE restart`,
				async () => {
					const paths = await icePaths(client.page);
					const moved = paths.length === before.length && paths.every((p, i) => p.state === 'connected' && p.local.startsWith(`${to}:`) && p.remoteUfrag !== before[i]?.remoteUfrag);
					return moved ? paths : undefined;
				},
				MEDIA_TIMEOUT_MS,
			);
			const restartedAt = Date.now();
			const backAt = async (page: Page) => nthFrameAfter((await recordedFrames(page)).frames, restartedAt, 3);
			const observerBack = await until('the observer to decode the client’s video from its new address', () => backAt(observer.page), MEDIA_TIMEOUT_MS);
			const clientBack = await until('the client to decode the observer’s video at its new address', () => backAt(client.page), MEDIA_TIMEOUT_MS);
			const frames = (await recordedFrames(observer.page)).frames;
			console.log(
				`address ${from} → ${to}: ICE restarted and connected from the new address within ${restartedAt - changedAt} ms; the observer's longest gap ${longestGap(frames, changedAt, observerBack)} ms, video decoded on both pages ${Math.max(observerBack, clientBack) - changedAt} ms after the change; paths ${after.map((p) => `${p.local}→${p.remote}/${p.protocol}`).join(', ')}`,
			);
			await client.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			const resumed = serverEvents('session-resumed', clientId, changedAt).length > 0;
			console.log(`client after the address change: ${(await recordedSessionPhases(client.page)).join(', ') || 'no phase change'}; signalling ${resumed ? 'resumed on a new connection' : 'kept its connection'}`);
			console.log(`client's timeline from the address change: ${await timeline(client.page, changedAt)}`);
			await expectSameSession(changedAt);
		});
	});

	it('a link throttled to 300 kbit/s (tbf) keeps the session, and the observer keeps decoding', async () => {
		// The camera is sent at 1/4, 1/2 and full size (web/README.md): wait until the observer gets more than the smallest.
		const captureWidth = await client.page.locator('[data-testid="self-tile"] video').evaluate((element) => (element as unknown as { videoWidth: number }).videoWidth);
		const smallest = captureWidth / 4;
		const widthBefore = await withLogs(() =>
			until(
				`the observer to decode the client's camera above its smallest layer (${smallest} px wide) before the throttling`,
				async () => {
					const width = (await recordedFrames(observer.page)).frames.at(-1)?.[1] ?? 0;
					return width > smallest ? width : undefined;
				},
				MEDIA_TIMEOUT_MS,
				500,
			),
		);
		const throttledAt = Date.now();
		lab.throttleClient(300);
		try {
			await withLogs(async () => {
				// Give the sender's bandwidth estimate time to settle on what the link carries, then watch a window.
				await new Promise((resolve) => setTimeout(resolve, 8000));
				const windowFrom = Date.now();
				await new Promise((resolve) => setTimeout(resolve, 8000));
				const frames = (await recordedFrames(observer.page)).frames.filter(([at]) => at >= windowFrom);
				const widths = [...new Set(frames.map(([, width]) => width))];
				const gap = longestGap(frames, windowFrom, Date.now());
				console.log(`throttled to 300 kbit/s: the observer decoded ${frames.length} frames in 8 s (widths ${widths.join('/')}, before ${widthBefore}), longest gap ${gap} ms`);
				expect(frames.length, 'frames the observer decoded in 8 s of a throttled link').toBeGreaterThanOrEqual(20);
				expect(gap, 'longest gap between frames on a throttled link').toBeLessThan(3000);
				// Which layer the link carries (the sender may keep a larger one at a lower frame rate) is the adaptation's business (issue 11): logged, not pinned here.
				console.log(`throttled: widest layer decoded ${Math.max(...widths)} px (before ${widthBefore} px)`);
				await expect(client.page.locator('[data-testid="meeting-room"]').getAttribute('data-session')).resolves.toBe('joined');
				await expectSameSession(throttledAt);
			});
		} finally {
			lab.unthrottleClient();
		}
		await withLogs(() => bothDecoding('once the link is no longer throttled'));
	});

	it('when the client leaves, the observer sees peerClosed and the tile go (what the checks above would have caught)', async () => {
		// Leave from a healthy connection: after the throttled link the signalling may still be catching up (a leave sent while reconnecting cannot arrive).
		await client.page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		await observer.page.locator('[data-testid="peer-tile"][data-display-name="Client"][data-reconnecting="false"]').waitFor({ timeout: 2 * SIGNAL_TIMEOUT_MS });
		await client.page.locator('[data-testid="leave"]').click();
		await tileOf(observer.page, 'Client').waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
		await until('the observer to record peerClosed', async () => ((await protooMessages(observer.page)).some((m) => m.method === 'peerClosed' && m.data.peerId === clientId) ? true : undefined), SIGNAL_TIMEOUT_MS);
		expect((await recordedFrames(observer.page)).tileMissing.length).toBeGreaterThan(0);
		await until('the server to log the client closed', async () => (serverEvents('peer-closed', clientId).length > 0 ? true : undefined), SIGNAL_TIMEOUT_MS);
	});
});

/**
 * End-to-end harness: the real server in-process on ephemeral ports, Debian's
 * Chromium with fake camera and microphone through playwright-core, and
 * probes that read what a page really decodes. Each participant gets its own
 * browser context (own profile, own fake devices).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../server/config.js';
import { startServer, type SfuServer } from '../../server/server.js';

export const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifactsDir = join(projectDir, 'test-results', 'e2e');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Generous bounds: a loaded 2-core machine runs three encoders and six decoders at once. */
export const MEDIA_TIMEOUT_MS = 45_000;
export const SIGNAL_TIMEOUT_MS = 20_000;

/**
 * `auth.secret` set: the server needs join tokens (mint them with `server.auth.mint`); unset, it is in open mode.
 * `rooms.resumeGraceMs`: how long the server holds a dropped peer's session (default: the server's own, 20 s).
 * `mediasoup.numWorkers`: one unless given.
 */
export type ServerOverrides = { rooms?: { maxPeersPerRoom?: number; resumeGraceMs?: number }; auth?: { secret?: string }; mediasoup?: { numWorkers?: number } };

/** The newest modification time of the web client's sources (web/ without dist/ and node_modules/). */
function newestWebSource(dir = join(projectDir, 'web')): number {
	let newest = 0;
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		if (entry.name === 'dist' || entry.name === 'node_modules') continue;
		const path = join(dir, entry.name);
		newest = Math.max(newest, entry.isDirectory() ? newestWebSource(path) : statSync(path).mtimeMs);
	}
	return newest;
}

/** Builds web/dist when it is missing or older than a source file, so the browser tests run the code under test. */
export function ensureWebBuilt(): void {
	const index = join(projectDir, 'web', 'dist', 'index.html');
	if (existsSync(index) && statSync(index).mtimeMs >= newestWebSource()) return;
	const vite = join(projectDir, 'node_modules', 'vite', 'bin', 'vite.js');
	const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: join(projectDir, 'web'), encoding: 'utf8' });
	if (result.status !== 0 || !existsSync(index)) {
		throw new Error(`building the web client failed (npm run web:build):\n${result.stdout}${result.stderr}`);
	}
}

export async function startTestServer({ mediasoup, ...overrides }: ServerOverrides = {}): Promise<SfuServer> {
	ensureWebBuilt();
	const config = loadConfig({
		overrides: {
			http: { listenHost: '127.0.0.1', listenPort: 0 },
			mediasoup: { numWorkers: 1, webRtcServerPort: 0, announcedAddress: '127.0.0.1', listenIp: '127.0.0.1', ...mediasoup },
			log: { level: 'warn' },
			...overrides,
		},
	});
	return startServer(config);
}

export async function launchChromium(): Promise<Browser> {
	if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--use-fake-ui-for-media-stream',
			// Three fake cameras (and Chromium's three fake microphones), so switching devices can be tested.
			// fake_device_1 delivers Y16 (depth) frames that WebRTC cannot encode; fake_device_2 is MJPEG and works.
			'--use-fake-device-for-media-stream=device-count=3',
			'--ignore-certificate-errors',
			// Remote audio starts without a click, as after a real user's join click.
			'--autoplay-policy=no-user-gesture-required',
			// Pages in the background must keep decoding: each participant is its own window here.
			'--disable-renderer-backgrounding',
			'--disable-background-timer-throttling',
			'--disable-backgrounding-occluded-windows',
		],
	});
}

export type Participant = {
	name: string;
	context: BrowserContext;
	page: Page;
	/** Console errors and page errors, for failure messages. */
	log: string[];
};

/**
 * `viewport`: another window size (a phone); `initScript`: runs in the page before its own scripts (e.g. to count device requests);
 * `beforeGoto`: set-up of the page before it opens the link (e.g. `page.routeWebSocket`).
 */
export type ParticipantOptions = { viewport?: { width: number; height: number }; initScript?: () => void; beforeGoto?: (page: Page) => Promise<void> };

export async function openParticipant(browser: Browser, url: string, name: string, options: ParticipantOptions = {}): Promise<Participant> {
	const context = await browser.newContext({
		ignoreHTTPSErrors: true,
		viewport: options.viewport ?? { width: 1280, height: 720 },
		permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
	});
	if (options.initScript) await context.addInitScript(options.initScript);
	const page = await context.newPage();
	const log: string[] = [];
	page.on('console', (message) => {
		// E2E_CONSOLE=1 keeps the page's info lines too (the client logs its resume plans, ICE restarts, timings).
		if (message.type() === 'error' || message.type() === 'warning' || (process.env.E2E_CONSOLE && message.type() === 'info')) log.push(`${message.type()}: ${message.text()}`);
	});
	page.on('pageerror', (error) => log.push(`pageerror: ${error.message}`));
	await options.beforeGoto?.(page);
	await page.goto(url);
	return { name, context, page, log };
}

export function deepLink(server: SfuServer, roomId: string, displayName: string, extra: Record<string, string> = {}): string {
	return `${server.url}/?${new URLSearchParams({ roomId, displayName, autojoin: '1', ...extra })}`;
}

/** Joined: the meeting page, or (for the audience of a stream) the player page. */
export async function waitJoined(participant: Participant): Promise<void> {
	await participant.page
		.locator('[data-testid="meeting-room"][data-session="joined"], [data-testid="player-page"][data-session="joined"]')
		.first()
		.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
}

export function tileOf(page: Page, displayName: string) {
	return page.locator(`[data-testid="peer-tile"][data-display-name="${displayName}"]`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
	mkdirSync(artifactsDir, { recursive: true });
	const path = join(artifactsDir, `${name}.png`);
	await page.screenshot({ path });
	return path;
}

// ---------------------------------------------------------------------------
// Probes: run in the page. The page has DOM types; this project's tsconfig
// for tests has not, so the few members used are declared here.
// ---------------------------------------------------------------------------

type ProbeVideo = {
	videoWidth: number;
	videoHeight: number;
	requestVideoFrameCallback(callback: (now: number, metadata: { presentedFrames: number }) => void): number;
};
type ProbeTrack = { kind: string; readyState: string; muted: boolean; enabled: boolean };
type ProbeMedia = { srcObject: { getTracks(): ProbeTrack[] } | null };

export type VideoState = { width: number; height: number; presentedFrames: number };

/**
 * The size of the decoded video and how many frames it has presented so
 * far (-1: none within a second). Two calls with a growing count prove
 * frames are advancing.
 */
export async function videoState(page: Page, selector: string): Promise<VideoState | undefined> {
	const locator = page.locator(selector);
	if ((await locator.count()) === 0) return undefined;
	return locator.first().evaluate(
		(element) =>
			new Promise<VideoState>((resolve) => {
				const video = element as unknown as ProbeVideo;
				const timer = setTimeout(() => resolve({ width: video.videoWidth, height: video.videoHeight, presentedFrames: -1 }), 1000);
				video.requestVideoFrameCallback((_now, metadata) => {
					clearTimeout(timer);
					resolve({ width: video.videoWidth, height: video.videoHeight, presentedFrames: metadata.presentedFrames });
				});
			}),
	);
}

/** Resolves when the video has a size and has presented at least two more frames than when first seen. */
export async function expectVideoDecoding(page: Page, selector: string, what: string, timeoutMs = MEDIA_TIMEOUT_MS): Promise<VideoState> {
	const deadline = Date.now() + timeoutMs;
	let first: VideoState | undefined;
	let last: VideoState | undefined;
	while (Date.now() < deadline) {
		last = await videoState(page, selector).catch(() => undefined);
		if (last && last.width > 0 && last.presentedFrames >= 0) {
			if (!first) first = last;
			else if (last.presentedFrames >= first.presentedFrames + 2) return last;
		}
		await page.waitForTimeout(250);
	}
	throw new Error(`${what}: no advancing decoded video at ${selector} within ${timeoutMs} ms (first ${JSON.stringify(first)}, last ${JSON.stringify(last)})`);
}

/** The audio tracks of the <audio> elements inside a locator: live and receiving (not muted by the browser for lack of packets). */
export async function audioTracks(page: Page, selector: string): Promise<ProbeTrack[]> {
	return page.locator(selector).evaluateAll((elements) =>
		elements.flatMap((element) => {
			const media = element as unknown as ProbeMedia;
			return (media.srcObject?.getTracks() ?? []).map((t) => ({ kind: t.kind, readyState: t.readyState, muted: t.muted, enabled: t.enabled }));
		}),
	);
}

/** Polls until `check` returns a value (not undefined), or throws with the last reason. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	while (Date.now() < deadline) {
		try {
			const value = await check();
			if (value !== undefined) return value;
		} catch (error) {
			lastError = error;
		}
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

// ---------------------------------------------------------------------------
// Server-side views, for what a page cannot show (consumer state).
// ---------------------------------------------------------------------------

export function serverPeer(server: SfuServer, roomId: string, peerId: string) {
	return server.rooms.get(roomId)?.peers.get(peerId);
}

/** The consumers `viewerId` has of `ownerId`'s producers, with each producer's source. */
export function consumersOf(server: SfuServer, roomId: string, viewerId: string, ownerId: string) {
	const viewer = serverPeer(server, roomId, viewerId);
	const owner = serverPeer(server, roomId, ownerId);
	if (!viewer || !owner) return [];
	return [...viewer.consumers.values()].flatMap((consumer) => {
		const producer = owner.producers.get(consumer.producerId);
		if (!producer) return [];
		return [{ consumer, source: String((producer.appData as Record<string, unknown>).source ?? '') }];
	});
}

/**
 * Drops a peer's WebSocket the hard way: the TCP connection is destroyed
 * without a closing handshake, as when a network path dies. Reaches into
 * protoo-server's and websocket-node's internals, which have no public way.
 */
export function destroySignallingSocket(server: SfuServer, roomId: string, peerId: string): void {
	const channel = serverPeer(server, roomId, peerId)?.channel as unknown as
		| { _transport?: { _connection?: { socket?: { destroy(): void } } } }
		| undefined;
	const socket = channel?._transport?._connection?.socket;
	if (!socket) throw new Error(`no WebSocket found for peer ${peerId} (protoo-server internals changed?)`);
	socket.destroy();
}

export async function closeAll(participants: Iterable<Participant>): Promise<void> {
	await Promise.all([...participants].map((p) => p.context.close().catch(() => undefined)));
}

type ProbeElement = { getAttribute(name: string): string | null; textContent: string | null };
type ProbeWindow = {
	document: { body: unknown; querySelector(selector: string): ProbeElement | null };
	MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
	sfuTestPhases?: string[];
};

/**
 * Starts recording, in the page, every session phase the meeting shows and
 * every connection banner text, so a short "reconnecting…" is not missed
 * between two polls.
 */
export async function recordSessionPhases(page: Page): Promise<void> {
	await page.evaluate(() => {
		const w = globalThis as unknown as ProbeWindow;
		const seen: string[] = [];
		w.sfuTestPhases = seen;
		let phase: string | undefined;
		let banner: string | undefined;
		const note = () => {
			const nextPhase = w.document.querySelector('[data-testid="meeting-room"]')?.getAttribute('data-session') ?? undefined;
			const nextBanner = w.document.querySelector('[data-testid="connection-banner"]')?.textContent?.trim() ?? undefined;
			if (nextPhase !== phase && nextPhase) seen.push(`phase:${nextPhase}`);
			if (nextBanner !== banner && nextBanner) seen.push(`banner:${nextBanner}`);
			phase = nextPhase;
			banner = nextBanner;
		};
		note();
		new w.MutationObserver(note).observe(w.document.body, { subtree: true, childList: true, attributes: true, characterData: true });
	});
}

export async function recordedSessionPhases(page: Page): Promise<string[]> {
	return page.evaluate(() => (globalThis as unknown as ProbeWindow).sfuTestPhases ?? []);
}

type PresenceWindow = ProbeWindow & {
	document: { querySelector(selector: string): unknown };
	sfuPresence?: Record<string, { present: boolean; at: number }[]>;
};

/**
 * Starts recording, in the page, every time something matching `selector`
 * appears or disappears (a tile, a badge), under `key`. A node Vue only
 * moves is present before and after, so a move is not a disappearance.
 */
export async function watchPresence(page: Page, key: string, selector: string): Promise<void> {
	await page.evaluate(
		({ key, selector }) => {
			const w = globalThis as unknown as PresenceWindow;
			const log: { present: boolean; at: number }[] = [];
			w.sfuPresence = { ...w.sfuPresence, [key]: log };
			let present: boolean | undefined;
			const note = () => {
				const now = w.document.querySelector(selector) !== null;
				if (now !== present) log.push({ present: now, at: Date.now() });
				present = now;
			};
			note();
			new w.MutationObserver(note).observe(w.document.body, { subtree: true, childList: true, attributes: true });
		},
		{ key, selector },
	);
}

/** What `watchPresence` recorded: each change, the first entry being the state when it started. */
export async function presenceLog(page: Page, key: string): Promise<{ present: boolean; at: number }[]> {
	return page.evaluate((key) => (globalThis as unknown as PresenceWindow).sfuPresence?.[key] ?? [], key);
}

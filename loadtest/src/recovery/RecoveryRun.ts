/**
 * Worker loss, as the web client lives it: the compiled server with two
 * mediasoup workers, three pages of the real web client in headless
 * Chromium (fake camera) in one room, one page's media on one worker and
 * the other two pages' on the other. Each run SIGKILLs the lone page's
 * worker and reads, in the pages, when each decodes the others' video again
 * (the lone page rebuilds its media after `mediaReset`; the others get its
 * new producers), and whether the two on the surviving worker ever stopped
 * seeing each other (they should not). Every run has a fresh room, so each
 * starts from the same placement. Loopback only.
 */
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../browser/bundle.js';
import { machineCpuJiffies } from '../capacity/procfs.js';
import { ServerProcess } from '../capacity/ServerProcess.js';
import { FRAMES_TO_RECOVER, isSteady, longestPacketGap, readView, STALL_MS, type ViewReading } from './analysis.js';
import { Ballast } from './Ballast.js';
import { describeRun, summarizeRuns, type RecoverySummary } from './report.js';
import { capCamera, connectedServerPorts, instrumentPage, KEPT_NOTIFICATIONS, pageMessages, recordTileFrames, tileFrames, tilePackets } from './pageProbe.js';

export type RecoveryOptions = {
	rootDir: string;
	runs: number;
	/** Per run: how long the pages may take to decode each other again. */
	recoveryTimeoutMs: number;
	/** Steady decoding watched before each kill. */
	baselineMs: number;
	/** The pages' camera height (16:9); undefined: what the web client asks for (1280×720). */
	cameraHeight: number | undefined;
	log: (line: string) => void;
};

/**
 * One page's view of another's camera across the kill: the longest time
 * without a presented frame, and without a received RTP packet (sampled
 * every 200 ms): frames stalled while packets came means the page, not the
 * server, held them up.
 */
export type ViewResult = { viewer: string; tile: string; stopped: boolean; longestGapMs: number; longestPacketGapMs: number; backAfterMs: number | null };

export type RunResult = {
	run: number;
	roomId: string;
	/** The page alone on the killed worker, and the two on the other. */
	killedPage: string;
	survivors: string[];
	killedWorker: { index: number; pid: number };
	/** The size the killed page's camera captured (its self view), e.g. 640×360. */
	cameraSize: string;
	/** Kill → the killed page received mediaReset. */
	mediaResetAfterMs: number | null;
	/** Kill → the killed page decodes both others again (the later of the two). */
	killedPageBackAfterMs: number | null;
	/** Where the killed page's new transports went: the survivors' worker, or the replacement in the killed one's slot. */
	killedPageLandedOn: 'survivor' | 'replacement' | 'unknown';
	views: ViewResult[];
	/** The whole machine's CPU use (%, all cores) in the steady seconds before the kill, and from the kill until every page decoded again. */
	baselineBusyPercent: number | null;
	machineBusyPercent: number | null;
	/** peerClosed about the killed page seen by the survivors (it must not leave). */
	peerClosedSeen: number;
	placementAttempts: number;
	error?: string;
};

export type RecoveryResult = {
	startedAt: string;
	durationSeconds: number;
	parameters: {
		runs: number;
		workers: number;
		pages: string[];
		cameraHeight: number | 'web client default';
		ballastPeers: number;
		routerConsumerSoftLimit: number;
		stallMs: number;
		framesToRecover: number;
		recoveryTimeoutMs: number;
		baselineMs: number;
	};
	versions: { mediasoup: string; mediasoupClient: string; chromium: string };
	runs: RunResult[];
	summary: RecoverySummary;
};

const PAGES = ['A', 'B', 'C'] as const;
type PageName = (typeof PAGES)[number];
const WORKERS = 2;
/**
 * Ballast peers, each consuming the first page's microphone and camera: 6
 * consumers fill the first router (soft limit 6), so the next pages go to
 * the other worker, where the second page's router holds at most 4 (its
 * consumers of A, pipes of its own producers) when the third arrives.
 */
const BALLAST_PEERS = 3;
const SOFT_LIMIT = 6;
const JOIN_TIMEOUT_MS = 30_000;
const MEDIA_TIMEOUT_MS = 45_000;

class PlacementError extends Error {}

type OpenPage = { name: PageName; context: BrowserContext; page: Page; peerId: string; console: string[] };
type Placement = { killed: OpenPage; survivors: [OpenPage, OpenPage]; victimIndex: number };
type Reading = { viewer: PageName; tile: PageName; reading: ViewReading; steady: boolean };
type CpuMark = { busy: number; total: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const othersOf = (name: PageName) => PAGES.filter((other) => other !== name);

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	while (Date.now() < deadline) {
		try {
			const value = await check();
			if (value !== undefined) return value;
		} catch (error) {
			lastError = error;
		}
		await sleep(intervalMs);
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** A base port whose next WORKERS ports are free for UDP and TCP on loopback (worker i listens on base + i). */
async function freeWebRtcPortBase(): Promise<number> {
	const free = (port: number) =>
		Promise.all([
			new Promise<boolean>((resolve) => {
				const server = createServer();
				server.once('error', () => resolve(false));
				server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
			}),
			new Promise<boolean>((resolve) => {
				const socket = createSocket('udp4');
				socket.once('error', () => resolve(false));
				socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
			}),
		]).then((both) => both.every(Boolean));
	for (let attempt = 0; attempt < 50; attempt++) {
		const base = 30_000 + Math.floor(Math.random() * 9000);
		const ports = Array.from({ length: WORKERS }, (_, i) => base + i);
		if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
	}
	throw new Error('no free port range for the WebRtcServers');
}

function packageVersion(rootDir: string, name: string): string {
	return (JSON.parse(readFileSync(join(rootDir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function busyPercent(from: CpuMark, to: CpuMark): number | null {
	return to.total > from.total ? (100 * (to.busy - from.busy)) / (to.total - from.total) : null;
}

export async function runRecovery(options: RecoveryOptions): Promise<RecoveryResult> {
	const started = Date.now();
	const { log } = options;
	const portBase = await freeWebRtcPortBase();
	const server = await ServerProcess.start(options.rootDir, {
		numWorkers: WORKERS,
		routerConsumerSoftLimit: SOFT_LIMIT,
		env: { SFU_MEDIASOUP_WEB_RTC_SERVER_PORT: String(portBase), SFU_ROOMS_EMPTY_ROOM_GRACE_MS: '200' },
	});
	let browser: Browser | undefined;
	try {
		browser = await chromium.launch({
			executablePath: CHROMIUM_PATH,
			args: [...CHROMIUM_FLAGS, '--autoplay-policy=no-user-gesture-required', '--disable-renderer-backgrounding', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows'],
		});
		log(`server pid ${server.pid} on ${server.url}, ${WORKERS} workers on ports ${portBase}+i; Chromium ${browser.version()}`);
		const runs: RunResult[] = [];
		for (let run = 1; run <= options.runs; run++) {
			const result = await oneRun(browser, server, portBase, run, options);
			runs.push(result);
			log(describeRun(result));
		}
		return {
			startedAt: new Date(started).toISOString(),
			durationSeconds: (Date.now() - started) / 1000,
			parameters: {
				runs: options.runs,
				workers: WORKERS,
				pages: [...PAGES],
				cameraHeight: options.cameraHeight ?? 'web client default',
				ballastPeers: BALLAST_PEERS,
				routerConsumerSoftLimit: SOFT_LIMIT,
				stallMs: STALL_MS,
				framesToRecover: FRAMES_TO_RECOVER,
				recoveryTimeoutMs: options.recoveryTimeoutMs,
				baselineMs: options.baselineMs,
			},
			versions: { mediasoup: packageVersion(options.rootDir, 'mediasoup'), mediasoupClient: packageVersion(options.rootDir, 'mediasoup-client'), chromium: browser.version() },
			runs,
			summary: summarizeRuns(runs),
		};
	} finally {
		await browser?.close().catch(() => undefined);
		await server.stop();
	}
}

/** One kill in a fresh room; a placement that did not split the pages 1 + 2 is tried again (twice) in another room. */
async function oneRun(browser: Browser, server: ServerProcess, portBase: number, run: number, options: RecoveryOptions): Promise<RunResult> {
	for (let attempt = 1; ; attempt++) {
		const roomId = `recovery-${Date.now().toString(36)}-${run}-${attempt}`;
		const pages: OpenPage[] = [];
		try {
			await waitForIdleServer(server);
			const placement = await placePages(browser, server, portBase, roomId, pages, options);
			return { ...(await killAndWatch(server, portBase, placement, pages, options)), run, roomId, placementAttempts: attempt };
		} catch (error) {
			const message = (error as Error).message;
			if (error instanceof PlacementError && attempt < 3) {
				options.log(`run ${run}: ${message}; again in a fresh room`);
				continue;
			}
			const consoleTail = pages.map((p) => `${p.name}: ${p.console.slice(-5).join(' | ')}`).join('\n');
			options.log(`run ${run} failed: ${message}\n${consoleTail}`);
			return {
				run,
				roomId,
				killedPage: '',
				survivors: [],
				killedWorker: { index: -1, pid: 0 },
				cameraSize: '',
				mediaResetAfterMs: null,
				killedPageBackAfterMs: null,
				killedPageLandedOn: 'unknown',
				views: [],
				baselineBusyPercent: null,
				machineBusyPercent: null,
				peerClosedSeen: 0,
				placementAttempts: attempt,
				error: message,
			};
		} finally {
			await Promise.all(pages.map((p) => leave(p)));
		}
	}
}

/** Both workers running (a killed one replaced), and no room left over from the previous run. */
async function waitForIdleServer(server: ServerProcess): Promise<void> {
	await waitFor(
		'the server to run both workers and no room',
		async () => {
			const health = await server.health();
			return health.status === 'ok' && health.workers.filter((w) => w.alive).length === WORKERS && health.rooms === 0 ? true : undefined;
		},
		JOIN_TIMEOUT_MS,
	);
}

async function openPage(browser: Browser, server: ServerProcess, roomId: string, name: PageName, pages: OpenPage[], cameraHeight: number | undefined): Promise<OpenPage> {
	const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 }, permissions: ['camera', 'microphone'] });
	await context.addInitScript(instrumentPage, KEPT_NOTIFICATIONS);
	if (cameraHeight !== undefined) await context.addInitScript(capCamera, cameraHeight);
	const page = await context.newPage();
	const consoleLines: string[] = [];
	page.on('console', (message) => {
		if (message.type() === 'error' || message.type() === 'warning') consoleLines.push(message.text());
	});
	const open: OpenPage = { name, context, page, peerId: '', console: consoleLines };
	pages.push(open);
	await page.goto(`${server.url}/?${new URLSearchParams({ roomId, displayName: name, autojoin: '1' })}`);
	await page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: JOIN_TIMEOUT_MS });
	open.peerId = (await page.locator('[data-testid="self-tile"]').getAttribute('data-peer-id')) ?? '';
	await recordTileFrames(page, othersOf(name));
	return open;
}

async function leave(page: OpenPage): Promise<void> {
	await page.page.locator('[data-testid="leave"]').click({ timeout: 2000 }).catch(() => undefined);
	await page.context.close().catch(() => undefined);
}

/** Resolves once `viewer` presents frames of every other page's camera (5 in the last second). */
async function decodingOthers(viewer: OpenPage): Promise<void> {
	const tiles = othersOf(viewer.name);
	await waitFor(
		`page ${viewer.name} to decode ${tiles.join(', ')}`,
		async () => {
			const now = Date.now();
			const frames = await tileFrames(viewer.page, now - 1000);
			return tiles.every((tile) => (frames[tile] ?? []).length >= 5) ? true : undefined;
		},
		MEDIA_TIMEOUT_MS,
	);
}

/** The worker index a page's transports are on, from the server port of its connected peer connections (worker i listens on base + i). */
async function workerIndexOf(page: OpenPage, portBase: number): Promise<number> {
	const ports = await connectedServerPorts(page.page);
	const indexes = [...new Set(ports.map((port) => port - portBase))];
	const index = indexes[0];
	if (ports.length < 2 || indexes.length !== 1 || index === undefined || index < 0 || index >= WORKERS) {
		throw new PlacementError(`page ${page.name}'s transports are on ports ${ports.join(', ') || 'none'} (workers at ${portBase}+i)`);
	}
	return index;
}

/**
 * Opens the three pages so that one is alone on a worker: the ballast
 * fills the first router with consumers of A's media, so B and C go to the
 * other worker (placement weighs sampled CPU too, so it is read back from
 * the pages, and whichever page is alone is the one whose worker dies).
 */
async function placePages(browser: Browser, server: ServerProcess, portBase: number, roomId: string, pages: OpenPage[], options: RecoveryOptions): Promise<Placement> {
	const ballast = await Ballast.join(options.rootDir, server.wsUrl, roomId, BALLAST_PEERS);
	try {
		await openPage(browser, server, roomId, 'A', pages, options.cameraHeight);
		const filled = Ballast.consumersFor(BALLAST_PEERS, 2);
		await waitFor(`the ballast to consume A's microphone and camera (${filled} consumers)`, async () => ((await server.health()).workers.some((w) => w.consumers >= filled) ? true : undefined), JOIN_TIMEOUT_MS);
		await openPage(browser, server, roomId, 'B', pages, options.cameraHeight);
		await openPage(browser, server, roomId, 'C', pages, options.cameraHeight);
		for (const page of pages) await decodingOthers(page);
	} finally {
		ballast.close();
	}
	const indexes = await Promise.all(pages.map((page) => workerIndexOf(page, portBase)));
	const alone = pages.filter((_, i) => indexes.filter((index) => index === indexes[i]).length === 1);
	const killed = alone[0];
	if (alone.length !== 1 || !killed) throw new PlacementError(`the pages are on workers ${pages.map((p, i) => `${p.name}: ${indexes[i]}`).join(', ')}, none alone`);
	const survivors = pages.filter((page) => page !== killed) as [OpenPage, OpenPage];
	// A settled grid (the ballast's tiles gone) before the kill.
	await sleep(options.baselineMs / 2);
	return { killed, survivors, victimIndex: indexes[pages.indexOf(killed)]! };
}

/** Reads every page's view of every other page's camera around `killAt`. */
async function readViews(pages: OpenPage[], killAt: number): Promise<Reading[]> {
	const now = Date.now();
	const frames = new Map(await Promise.all(pages.map(async (page) => [page.name, await tileFrames(page.page, killAt - 2000)] as const)));
	return pages.flatMap((viewer) =>
		othersOf(viewer.name).map((tile) => {
			const times = frames.get(viewer.name)?.[tile] ?? [];
			const reading = readView(times, killAt, now);
			return { viewer: viewer.name, tile, reading, steady: isSteady(times, reading, now) };
		}),
	);
}

async function killAndWatch(server: ServerProcess, portBase: number, placement: Placement, pages: OpenPage[], options: RecoveryOptions): Promise<Omit<RunResult, 'run' | 'roomId' | 'placementAttempts'>> {
	const { killed, survivors, victimIndex } = placement;
	const baselineFrom = machineCpuJiffies();
	await sleep(options.baselineMs / 2);
	for (const page of pages) await decodingOthers(page);
	const baselineTo = machineCpuJiffies();
	const pid = (await server.health()).workers[victimIndex]?.pid;
	if (!pid) throw new Error(`worker ${victimIndex} has no pid in /healthz`);
	const killAt = Date.now();
	process.kill(pid, 'SIGKILL');

	let readings = await readViews(pages, killAt);
	while (Date.now() < killAt + options.recoveryTimeoutMs && !readings.every((r) => r.steady)) {
		await sleep(250);
		readings = await readViews(pages, killAt);
	}
	const cpuAfter = machineCpuJiffies();
	const endAt = Date.now();

	const packets = new Map(await Promise.all(pages.map(async (page) => [page.name, await tilePackets(page.page)] as const)));
	const views: ViewResult[] = readings.map(({ viewer, tile, reading }) => ({
		viewer,
		tile,
		stopped: reading.stopped,
		longestGapMs: reading.longestGapMs,
		longestPacketGapMs: longestPacketGap(packets.get(viewer)?.[tile] ?? [], killAt, endAt),
		backAfterMs: reading.backAfterMs ?? null,
	}));
	const killedViews = views.filter((v) => v.viewer === killed.name);
	const mediaReset = (await pageMessages(killed.page)).find((m) => m.method === 'mediaReset' && m.at >= killAt);
	const survivorMessages = (await Promise.all(survivors.map((page) => pageMessages(page.page)))).flat();
	const landed = await workerIndexOf(killed, portBase).catch(() => undefined);
	const cameraSize = await killed.page
		.locator('[data-testid="self-tile"] video')
		.evaluate((element) => {
			const video = element as unknown as { videoWidth: number; videoHeight: number };
			return `${video.videoWidth}×${video.videoHeight}`;
		})
		.catch(() => 'unknown');
	const notBack = views.filter((v) => v.backAfterMs === null).map((v) => `${v.viewer} sees ${v.tile}`);
	return {
		killedPage: killed.name,
		survivors: survivors.map((page) => page.name),
		killedWorker: { index: victimIndex, pid },
		cameraSize,
		mediaResetAfterMs: mediaReset ? mediaReset.at - killAt : null,
		killedPageBackAfterMs: killedViews.every((v) => v.backAfterMs !== null) ? Math.max(...killedViews.map((v) => v.backAfterMs as number)) : null,
		killedPageLandedOn: landed === undefined ? 'unknown' : landed === victimIndex ? 'replacement' : 'survivor',
		views,
		baselineBusyPercent: busyPercent(baselineFrom, baselineTo),
		machineBusyPercent: busyPercent(baselineTo, cpuAfter),
		peerClosedSeen: survivorMessages.filter((m) => m.method === 'peerClosed' && m.data.peerId === killed.peerId).length,
		...(notBack.length > 0 ? { error: `not decoding again within ${options.recoveryTimeoutMs} ms: ${notBack.join(', ')}` } : {}),
	};
}

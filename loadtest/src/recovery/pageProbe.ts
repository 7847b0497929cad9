/**
 * What a web-client page shows, read from inside it: an init script keeps
 * its RTCPeerConnections and the protoo notifications it receives, and a
 * recorder notes the wall-clock time of every frame each remote tile's
 * <video> presents (requestVideoFrameCallback), following the element when
 * the tile replaces it. The page has DOM types; this tsconfig has not, so
 * the few members used are declared here.
 */
import type { Page } from 'playwright-core';

type ProbeStatsReport = { type: string; id: string; kind?: string; selectedCandidatePairId?: string; remoteCandidateId?: string; port?: number; trackIdentifier?: string; packetsReceived?: number };
type ProbePc = { connectionState: string; getStats(): Promise<Map<string, ProbeStatsReport>> };
type ProbeVideo = { requestVideoFrameCallback(callback: () => void): number; srcObject: { getVideoTracks(): { id: string }[] } | null };
export type PageMessage = { at: number; method: string; data: Record<string, unknown> };
type ProbeWindow = {
	RTCPeerConnection: new (...args: unknown[]) => ProbePc;
	WebSocket: new (...args: unknown[]) => { addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void };
	document: { querySelector(selector: string): unknown };
	setInterval(callback: () => void, ms: number): number;
	recoveryProbe?: { pcs: ProbePc[]; messages: PageMessage[]; frames: Record<string, number[]>; packets: Record<string, [number, number][]> };
};

/** Notifications worth keeping (the chatty ones are left out): pass to instrumentPage. */
export const KEPT_NOTIFICATIONS = ['mediaReset', 'peerClosed', 'peerReconnecting', 'newPeer', 'reconnectRequired'];

/** For `context.addInitScript(instrumentPage, KEPT_NOTIFICATIONS)`: runs in the page before its own scripts. */
export function instrumentPage(kept: string[]): void {
	const w = globalThis as unknown as ProbeWindow;
	const probe = { pcs: [] as ProbePc[], messages: [] as PageMessage[], frames: {} as Record<string, number[]>, packets: {} as Record<string, [number, number][]> };
	w.recoveryProbe = probe;
	const NativePc = w.RTCPeerConnection;
	w.RTCPeerConnection = class extends NativePc {
		constructor(...args: unknown[]) {
			super(...args);
			probe.pcs.push(this);
		}
	};
	const NativeWs = w.WebSocket;
	w.WebSocket = class extends NativeWs {
		constructor(...args: unknown[]) {
			super(...args);
			this.addEventListener('message', (event) => {
				if (typeof event.data !== 'string') return;
				try {
					const message = JSON.parse(event.data) as { method?: string; data?: Record<string, unknown> };
					if (message.method && kept.includes(message.method) && probe.messages.length < 1000) probe.messages.push({ at: Date.now(), method: message.method, data: message.data ?? {} });
				} catch {
					// not protoo
				}
			});
		}
	};
}

/**
 * For `context.addInitScript(capCamera, height)`: the page's camera is asked
 * for at most `height` lines (16:9), whatever the page asks, so that three
 * pages encoding simulcast leave a 2-core machine some CPU.
 */
export function capCamera(height: number): void {
	type Constraints = { video?: boolean | Record<string, unknown> };
	const devices = (globalThis as unknown as { navigator: { mediaDevices?: { getUserMedia(constraints: Constraints): Promise<unknown> } } }).navigator.mediaDevices;
	if (!devices) return;
	const original = devices.getUserMedia.bind(devices);
	devices.getUserMedia = (constraints: Constraints) => {
		if (constraints.video && typeof constraints.video === 'object') {
			constraints = { ...constraints, video: { ...constraints.video, width: { ideal: Math.round((height * 16) / 9) }, height: { ideal: height } } };
		}
		return original(constraints);
	};
}

/**
 * From now on, records the presentation time of each frame of the tiles of
 * `displayNames`, and every 200 ms how many RTP packets their video track
 * has received (inbound-rtp), so a stall can be told apart: packets still
 * arriving (the page did not decode or show them) or not (none came).
 */
export async function recordTileFrames(page: Page, displayNames: string[]): Promise<void> {
	await page.evaluate((names) => {
		const w = globalThis as unknown as ProbeWindow;
		const probe = w.recoveryProbe;
		if (!probe) throw new Error('the page was opened without instrumentPage');
		for (const name of names) {
			const times: number[] = [];
			probe.frames[name] = times;
			let watched: ProbeVideo | undefined;
			const watch = () => {
				const video = w.document.querySelector(`[data-testid="peer-tile"][data-display-name="${name}"] video`) as ProbeVideo | null;
				if (!video || video === watched) return;
				watched = video;
				const onFrame = () => {
					if (watched !== video) return;
					times.push(Date.now());
					if (times.length > 20_000) times.splice(0, 10_000);
					video.requestVideoFrameCallback(onFrame);
				};
				video.requestVideoFrameCallback(onFrame);
			};
			watch();
			w.setInterval(watch, 50);
			const packets: [number, number][] = [];
			probe.packets[name] = packets;
			w.setInterval(async () => {
				const trackId = watched?.srcObject?.getVideoTracks()[0]?.id;
				if (!trackId) return;
				for (const pc of probe.pcs.filter((p) => p.connectionState !== 'closed')) {
					const inbound = [...(await pc.getStats()).values()].find((r) => r.type === 'inbound-rtp' && r.trackIdentifier === trackId);
					if (inbound?.packetsReceived === undefined) continue;
					packets.push([Date.now(), inbound.packetsReceived]);
					if (packets.length > 5000) packets.splice(0, 2500);
					return;
				}
			}, 200);
		}
	}, displayNames);
}

/** Per tile: the frame times recorded after `since` (wall-clock ms). */
export async function tileFrames(page: Page, since = 0): Promise<Record<string, number[]>> {
	return page.evaluate((from) => {
		const frames = (globalThis as unknown as ProbeWindow).recoveryProbe?.frames ?? {};
		return Object.fromEntries(Object.entries(frames).map(([name, times]) => [name, times.filter((at) => at > from)]));
	}, since);
}

/** Per tile: [time, packets received by its current video track] every 200 ms. */
export async function tilePackets(page: Page): Promise<Record<string, [number, number][]>> {
	return page.evaluate(() => (globalThis as unknown as ProbeWindow).recoveryProbe?.packets ?? {});
}

export async function pageMessages(page: Page): Promise<PageMessage[]> {
	return page.evaluate(() => (globalThis as unknown as ProbeWindow).recoveryProbe?.messages ?? []);
}

/** The server port each connected peer connection of the page uses (each worker has its own WebRtcServer port). */
export async function connectedServerPorts(page: Page): Promise<number[]> {
	return page.evaluate(async () => {
		const pcs = (globalThis as unknown as ProbeWindow).recoveryProbe?.pcs ?? [];
		const ports: number[] = [];
		for (const pc of pcs.filter((p) => p.connectionState === 'connected')) {
			const reports = [...(await pc.getStats()).values()];
			const transport = reports.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
			const pair = reports.find((r) => r.id === transport?.selectedCandidatePairId);
			const remote = reports.find((r) => r.id === pair?.remoteCandidateId);
			if (remote?.port !== undefined) ports.push(remote.port);
		}
		return ports;
	});
}

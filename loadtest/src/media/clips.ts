/**
 * Real VP8 frames for synthetic publishers: one clip per simulcast layer
 * (key frame first, temporal layers 0,2,1,2 from libvpx), encoded once by
 * headless Chromium's WebCodecs encoder at the layer's size, rate and frame
 * rate, then cached under node_modules/.cache. A publisher loops its clip and
 * restarts it at the key frame when the SFU asks for one, so browsers that
 * subscribe decode real pictures.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, pageBundle } from '../browser/bundle.js';
import type { MediaProfile, SimulcastLayer } from './profile.js';

export type ClipFrame = { key: boolean; temporalLayer: number; data: Buffer };
export type VideoClip = { width: number; height: number; fps: number; bitrate: number; frames: ClipFrame[] };

type ClipRequest = { width: number; height: number; fps: number; bitrate: number; temporalLayers: number; frames: number; seed: number };
type EncodedClipFrame = { key: boolean; temporalLayer: number; base64: string };
type EncoderApi = { encodeClip(request: ClipRequest): Promise<EncodedClipFrame[]> };

const CACHE_VERSION = 2;

function cachePath(rootDir: string, request: ClipRequest): string {
	const key = createHash('sha256').update(JSON.stringify({ CACHE_VERSION, ...request })).digest('hex').slice(0, 16);
	return join(rootDir, 'node_modules', '.cache', 'sfu-loadtest', `vp8-${request.width}x${request.height}-${request.fps}fps-${request.bitrate}-${key}.json`);
}

function decode(frames: EncodedClipFrame[]): ClipFrame[] {
	return frames.map((frame) => ({ key: frame.key, temporalLayer: frame.temporalLayer, data: Buffer.from(frame.base64, 'base64') }));
}

function requestFor(layer: SimulcastLayer, video: MediaProfile['video']): ClipRequest {
	return {
		width: layer.width,
		height: layer.height,
		fps: layer.fps,
		bitrate: layer.bitrate,
		temporalLayers: video.temporalLayers,
		// One key-frame interval: the clip loops with a key frame at its start.
		frames: Math.round((video.keyFrameIntervalMs / 1000) * layer.fps),
		seed: layer.width,
	};
}

/** The clips of a VP8 profile's layers, from the cache or encoded now (seconds per layer, once). */
export async function vp8Clips(rootDir: string, profile: MediaProfile, log: (line: string) => void = () => undefined): Promise<VideoClip[]> {
	if (profile.video.codec !== 'VP8') throw new Error(`real clips exist for VP8 only, not ${profile.video.codec}`);
	const requests = profile.video.layers.map((layer) => requestFor(layer, profile.video));
	const missing = requests.filter((request) => !existsSync(cachePath(rootDir, request)));
	if (missing.length > 0) {
		log(`encoding ${missing.length} VP8 clip(s) with Chromium's WebCodecs encoder (cached for later runs)`);
		const script = await pageBundle(rootDir, 'encode-clip');
		const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
		try {
			const page = await browser.newPage();
			// WebCodecs needs a secure context: an https page served by the test itself, nothing leaves the machine.
			await page.route('https://loadtest.invalid/', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>encoder</title>' }));
			await page.goto('https://loadtest.invalid/');
			await page.addScriptTag({ content: script });
			for (const request of missing) {
				const frames = await page.evaluate(
					async (clipRequest) => (globalThis as unknown as { loadtestEncoder: EncoderApi }).loadtestEncoder.encodeClip(clipRequest),
					request,
				);
				const path = cachePath(rootDir, request);
				mkdirSync(join(path, '..'), { recursive: true });
				writeFileSync(path, JSON.stringify({ request, frames }));
			}
		} finally {
			await browser.close();
		}
	}
	return requests.map((request) => {
		const { frames } = JSON.parse(readFileSync(cachePath(rootDir, request), 'utf8')) as { frames: EncodedClipFrame[] };
		return { width: request.width, height: request.height, fps: request.fps, bitrate: request.bitrate, frames: decode(frames) };
	});
}

/**
 * Encodes a short VP8 clip with the browser's own encoder (WebCodecs, libvpx,
 * temporal layers as in WebRTC), so synthetic publishers can send frames that
 * real decoders decode. Bundled and run in headless Chromium by
 * loadtest/src/media/clips.ts; the result is cached on disk.
 */

export type ClipRequest = { width: number; height: number; fps: number; bitrate: number; temporalLayers: number; frames: number; seed: number };
export type EncodedClipFrame = { key: boolean; temporalLayer: number; base64: string };

function toBase64(bytes: Uint8Array): string {
	let binary = '';
	for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(binary);
}

/** Draws a moving scene with some noise, so the encoder spends its bitrate as on a camera. */
function draw(ctx: OffscreenCanvasRenderingContext2D, width: number, height: number, index: number, seed: number): void {
	const hue = (seed * 47 + index * 2) % 360;
	const gradient = ctx.createLinearGradient(0, 0, width, height);
	gradient.addColorStop(0, `hsl(${hue}, 60%, 45%)`);
	gradient.addColorStop(1, `hsl(${(hue + 120) % 360}, 60%, 35%)`);
	ctx.fillStyle = gradient;
	ctx.fillRect(0, 0, width, height);
	const cell = Math.max(4, Math.round(width / 80));
	for (let y = 0; y < height; y += cell) {
		for (let x = 0; x < width; x += cell) {
			if (((x * 7 + y * 13 + index * 31 + seed) % 97) < 5) {
				ctx.fillStyle = `rgba(255,255,255,${(((x + y + index) % 7) / 20).toFixed(2)})`;
				ctx.fillRect(x, y, cell, cell);
			}
		}
	}
	ctx.fillStyle = '#fff';
	ctx.font = `${Math.round(height / 5)}px sans-serif`;
	ctx.fillText(String(index), (index * width) / 200, height / 2);
	ctx.beginPath();
	ctx.arc(width / 2 + (Math.sin(index / 10) * width) / 3, height / 2 + (Math.cos(index / 13) * height) / 3, height / 8, 0, 2 * Math.PI);
	ctx.fillStyle = '#fd0';
	ctx.fill();
}

/**
 * Encodes 2 × `frames` frames and keeps the second half, which starts with a
 * key frame forced at the middle: by then the rate control has settled.
 */
async function encodeClip(request: ClipRequest): Promise<EncodedClipFrame[]> {
	const { width, height, fps, bitrate, temporalLayers, frames } = request;
	const output: EncodedClipFrame[] = [];
	let failure: unknown;
	const encoder = new VideoEncoder({
		output: (chunk, metadata) => {
			const bytes = new Uint8Array(chunk.byteLength);
			chunk.copyTo(bytes);
			// `svc` is in the WebCodecs spec and Chromium, not yet in TypeScript's DOM types.
			const svc = (metadata as { svc?: { temporalLayerId?: number } } | undefined)?.svc;
			output.push({ key: chunk.type === 'key', temporalLayer: svc?.temporalLayerId ?? 0, base64: toBase64(bytes) });
		},
		error: (error) => {
			failure = error;
		},
	});
	encoder.configure({ codec: 'vp8', width, height, bitrate, bitrateMode: 'constant', framerate: fps, scalabilityMode: `L1T${temporalLayers}`, latencyMode: 'realtime' });
	const canvas = new OffscreenCanvas(width, height);
	const ctx = canvas.getContext('2d');
	if (!ctx) throw new Error('no 2d context');
	for (let index = 0; index < frames * 2; index++) {
		draw(ctx, width, height, index, request.seed);
		const frame = new VideoFrame(canvas, { timestamp: Math.round((index * 1e6) / fps) });
		encoder.encode(frame, { keyFrame: index === 0 || index === frames });
		frame.close();
		// Keep the encoder's queue short.
		while (encoder.encodeQueueSize > 4) await new Promise((resolve) => setTimeout(resolve, 5));
	}
	await encoder.flush();
	encoder.close();
	if (failure) throw new Error(`VideoEncoder failed: ${String(failure)}`);
	const clip = output.slice(frames);
	if (clip.length !== frames || !clip[0]?.key) throw new Error(`expected ${frames} frames starting with a key frame, got ${clip.length}`);
	return clip;
}

(globalThis as unknown as { loadtestEncoder: unknown }).loadtestEncoder = { encodeClip };

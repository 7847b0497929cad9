import { describe, expect, it } from 'vitest';
import { cameraSimulcastEncodings, pickVideoCodec, screenEncodings, supportsVideoCodec } from '../../../web/src/lib/encodings.js';

const vp8 = { mimeType: 'video/VP8', parameters: {} };
const vp9 = { mimeType: 'video/VP9', parameters: { 'profile-id': 2 } };
const h264High = { mimeType: 'video/H264', parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0032' } };
const h264BaselineMode0 = { mimeType: 'video/H264', parameters: { 'packetization-mode': 0, 'profile-level-id': '42e01f' } };
const h264Baseline = { mimeType: 'video/H264', parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } };
const opus = { mimeType: 'audio/opus' };

describe('pickVideoCodec', () => {
	it('finds VP8 whatever its case or position', () => {
		expect(pickVideoCodec([opus, vp9, vp8], 'vp8')).toBe(vp8);
	});

	it('prefers H.264 with packetization-mode 1 and the constrained baseline profile', () => {
		expect(pickVideoCodec([vp8, h264High, h264BaselineMode0, h264Baseline], 'h264')).toBe(h264Baseline);
		expect(pickVideoCodec([h264BaselineMode0, h264High], 'h264')).toBe(h264High);
		expect(pickVideoCodec([h264BaselineMode0], 'h264')).toBe(h264BaselineMode0);
	});

	it('is undefined when the codec is not shared', () => {
		expect(pickVideoCodec([vp8, opus], 'h264')).toBeUndefined();
		expect(supportsVideoCodec([vp8], 'h264')).toBe(false);
		expect(supportsVideoCodec([h264High], 'h264')).toBe(true);
	});
});

describe('encodings', () => {
	it('camera: three simulcast streams, each twice the resolution and more bits than the one below', () => {
		expect(cameraSimulcastEncodings.map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
		const bitrates = cameraSimulcastEncodings.map((e) => e.maxBitrate ?? 0);
		expect(bitrates[0]).toBeGreaterThan(0);
		expect(bitrates[1]).toBeGreaterThan(bitrates[0] ?? 0);
		expect(bitrates[2]).toBeGreaterThan(bitrates[1] ?? 0);
		expect(new Set(cameraSimulcastEncodings.map((e) => e.rid)).size).toBe(3);
	});

	it('screen: one full-resolution stream at a low frame rate with more bits than the top camera stream', () => {
		expect(screenEncodings).toHaveLength(1);
		const [screen] = screenEncodings;
		expect(screen?.scaleResolutionDownBy ?? 1).toBe(1);
		expect(screen?.maxFramerate).toBeLessThanOrEqual(15);
		expect(screen?.maxBitrate).toBeGreaterThan(cameraSimulcastEncodings[2]?.maxBitrate ?? 0);
	});
});

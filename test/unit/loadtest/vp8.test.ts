import { describe, expect, it } from 'vitest';
import { H264Payloader, Vp8Payloader, h264NalTypes, opusPayload, splitEvenly, type EncodedVideoFrame } from '../../../loadtest/src/rtp/codecs.js';
import { parseVp8Descriptor, temporalLayerOf, writeVp8Descriptor } from '../../../loadtest/src/rtp/vp8.js';

const frame = (overrides: Partial<EncodedVideoFrame> = {}): EncodedVideoFrame => ({
	keyFrame: false,
	bytes: 3000,
	temporalLayer: 0,
	layerSync: false,
	pictureId: 300,
	tl0PicIdx: 17,
	width: 640,
	height: 360,
	...overrides,
});

describe('VP8 payload descriptor (RFC 7741)', () => {
	it('writes X, I (15-bit picture ID), L, T/K as libwebrtc does, and parses them back', () => {
		const buffer = Buffer.alloc(6);
		writeVp8Descriptor(buffer, 0, { start: true, partitionIndex: 0, nonReference: false, pictureId: 0x1234, tl0PicIdx: 200, temporalLayer: 2, layerSync: true, keyIndex: 0 });
		expect([...buffer]).toEqual([0x90, 0xf0, 0x80 | 0x12, 0x34, 200, 0b1010_0000]);
		const parsed = parseVp8Descriptor(Buffer.concat([buffer, Buffer.from([0x01])]));
		expect(parsed).toMatchObject({ start: true, partitionIndex: 0, pictureId: 0x1234, tl0PicIdx: 200, temporalLayer: 2, layerSync: true, length: 6, isKeyFrame: false });
	});

	it('parses a one-byte picture ID and a descriptor without extensions', () => {
		expect(parseVp8Descriptor(Buffer.from([0x90, 0x80, 0x05, 0x00]))).toMatchObject({ pictureId: 5, length: 3, isKeyFrame: true });
		expect(parseVp8Descriptor(Buffer.from([0x10, 0x00]))).toMatchObject({ length: 1, isKeyFrame: true });
		expect(parseVp8Descriptor(Buffer.from([0x90, 0x80]))).toBeUndefined();
	});

	it('uses the 0,2,1,2 temporal pattern of three layers', () => {
		expect([0, 1, 2, 3, 4, 5].map((i) => temporalLayerOf(i, 3))).toEqual([0, 2, 1, 2, 0, 2]);
		expect([0, 1, 2, 3].map((i) => temporalLayerOf(i, 2))).toEqual([0, 1, 0, 1]);
		expect(temporalLayerOf(3, 1)).toBe(0);
	});
});

describe('VP8 payloader', () => {
	const payloader = new Vp8Payloader();

	it('splits a frame evenly under the payload limit, S bit on the first packet only', () => {
		const payloads = payloader.payloads(frame({ bytes: 3000 }), 1200);
		expect(payloads).toHaveLength(3);
		expect(payloads.every((p) => p.length <= 1200)).toBe(true);
		expect(payloads.reduce((sum, p) => sum + p.length - 6, 0)).toBe(3000);
		const descriptors = payloads.map((p) => parseVp8Descriptor(p));
		expect(descriptors.map((d) => d?.start)).toEqual([true, false, false]);
		expect(descriptors.every((d) => d?.pictureId === 300 && d.tl0PicIdx === 17)).toBe(true);
		expect(descriptors[0]?.isKeyFrame).toBe(false);
	});

	it('marks a key frame in the frame tag with start code and dimensions', () => {
		const [first] = payloader.payloads(frame({ keyFrame: true, bytes: 900 }), 1200);
		const descriptor = parseVp8Descriptor(first!);
		expect(descriptor?.isKeyFrame).toBe(true);
		expect([...first!.subarray(9, 12)]).toEqual([0x9d, 0x01, 0x2a]);
		expect(first!.readUInt16LE(12)).toBe(640);
		expect(first!.readUInt16LE(14)).toBe(360);
	});

	it('marks frames of upper temporal layers as non-reference', () => {
		const [payload] = payloader.payloads(frame({ temporalLayer: 2 }), 1200);
		expect(parseVp8Descriptor(payload!)).toMatchObject({ nonReference: true, temporalLayer: 2 });
	});

	it('splits evenly', () => {
		expect(splitEvenly(10, 4)).toEqual([4, 3, 3]);
		expect(splitEvenly(1, 1200)).toEqual([1]);
	});
});

describe('H.264 payloader (RFC 6184, packetization-mode 1)', () => {
	const payloader = new H264Payloader();

	it('sends SPS and PPS in a STAP-A before an IDR split into FU-A fragments', () => {
		const payloads = payloader.payloads(frame({ keyFrame: true, bytes: 5000 }), 1200);
		expect(h264NalTypes(payloads[0]!)).toEqual([7, 8]);
		expect(h264NalTypes(payloads[1]!)).toEqual([5]);
		expect(payloads.slice(2).every((p) => h264NalTypes(p).length === 0 && (p[0]! & 0x1f) === 28)).toBe(true);
		const last = payloads[payloads.length - 1]!;
		expect(last[1]! & 0x40).toBe(0x40);
		expect(payloads.every((p) => p.length <= 1200)).toBe(true);
	});

	it('sends a small non-IDR slice as a single NAL unit', () => {
		const payloads = payloader.payloads(frame({ bytes: 500 }), 1200);
		expect(payloads).toHaveLength(1);
		expect(h264NalTypes(payloads[0]!)).toEqual([1]);
	});
});

describe('Opus payload', () => {
	it('starts with a 20 ms CELT fullband TOC byte', () => {
		const payload = opusPayload(80, 1);
		expect(payload.length).toBe(80);
		expect(payload[0]! >> 3).toBe(31);
	});
});

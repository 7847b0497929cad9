import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../../loadtest/src/media/profile.js';
import { seededRandom } from '../../../loadtest/src/media/random.js';
import { AudioSource, VideoEncodingSource } from '../../../loadtest/src/media/sources.js';
import { readRtpHeader } from '../../../loadtest/src/rtp/rtp.js';
import { parseVp8Descriptor } from '../../../loadtest/src/rtp/vp8.js';
import { h264NalTypes } from '../../../loadtest/src/rtp/codecs.js';

/** Polls a source every 5 ms of simulated time for `seconds`. */
function run(source: { poll(now: number): Buffer[] }, seconds: number, start = 1_000_000): Buffer[] {
	const packets: Buffer[] = [];
	for (let t = start; t < start + seconds * 1000; t += 5) packets.push(...source.poll(t));
	return packets;
}

describe('AudioSource', () => {
	it('sends one Opus packet per 20 ms at about the target bitrate, timestamps 960 apart', () => {
		const source = new AudioSource(1234, 100, PROFILES['camera-720p'].audio, seededRandom(1), 1_000_000);
		const packets = run(source, 10);
		expect(packets.length).toBe(500);
		const headers = packets.map((p) => readRtpHeader(p)!);
		expect(headers.every((h, i) => i === 0 || h.sequenceNumber === ((headers[i - 1]!.sequenceNumber + 1) & 0xffff))).toBe(true);
		expect((headers[1]!.timestamp - headers[0]!.timestamp) >>> 0).toBe(960);
		const bitrate = (source.octetCount * 8) / 10;
		expect(bitrate).toBeGreaterThan(28_000);
		expect(bitrate).toBeLessThan(36_000);
	});
});

describe('VideoEncodingSource (VP8, 3 temporal layers)', () => {
	const video = PROFILES['camera-720p'].video;

	for (const [index, layer] of video.layers.entries()) {
		it(`sends layer ${index} (${layer.width}x${layer.height}) at its frame rate and within 25% of ${layer.bitrate / 1000} kbit/s`, () => {
			const source = new VideoEncodingSource(1000 + index, 101, layer, video, 1200, seededRandom(index + 7), 1_000_000);
			const packets = run(source, 20);
			expect(source.framesSent).toBeGreaterThanOrEqual(layer.fps * 20 - 1);
			expect(source.framesSent).toBeLessThanOrEqual(layer.fps * 20 + 1);
			const bitrate = (source.octetCount * 8) / 20;
			expect(bitrate).toBeGreaterThan(layer.bitrate * 0.75);
			expect(bitrate).toBeLessThan(layer.bitrate * 1.25);
			expect(packets.every((p) => p.length <= 12 + 1200)).toBe(true);
		});
	}

	it('starts with a key frame, repeats one every key-frame interval, and marks the last packet of each frame', () => {
		const layer = video.layers[1]!;
		const source = new VideoEncodingSource(77, 101, layer, video, 1200, seededRandom(3), 0);
		const packets = run(source, 10, 0);
		const firsts = packets.map((p) => ({ header: readRtpHeader(p)!, descriptor: parseVp8Descriptor(p.subarray(12))! }));
		expect(firsts[0]!.descriptor.isKeyFrame).toBe(true);
		const keyFrames = firsts.filter((f) => f.descriptor.isKeyFrame).length;
		expect(keyFrames).toBe(Math.ceil(10_000 / video.keyFrameIntervalMs));
		expect(source.keyFramesSent).toBe(keyFrames);
		// Every timestamp change comes after a marker bit.
		for (let i = 1; i < firsts.length; i++) {
			if (firsts[i]!.header.timestamp !== firsts[i - 1]!.header.timestamp) expect(firsts[i - 1]!.header.marker).toBe(true);
		}
	});

	it('cycles temporal layers 0,2,1,2 with picture IDs +1 per frame and TL0PICIDX +1 per TL0 frame', () => {
		const source = new VideoEncodingSource(78, 101, video.layers[0]!, video, 1200, seededRandom(4), 0);
		const frames = run(source, 1, 0)
			.map((p) => parseVp8Descriptor(p.subarray(12))!)
			.filter((d) => d.start);
		expect(frames.slice(0, 8).map((d) => d.temporalLayer)).toEqual([0, 2, 1, 2, 0, 2, 1, 2]);
		for (let i = 1; i < frames.length; i++) {
			expect(frames[i]!.pictureId).toBe((frames[i - 1]!.pictureId! + 1) & 0x7fff);
			const expectedTl0 = frames[i]!.temporalLayer === 0 ? (frames[i - 1]!.tl0PicIdx! + 1) & 0xff : frames[i - 1]!.tl0PicIdx;
			expect(frames[i]!.tl0PicIdx).toBe(expectedTl0);
		}
	});

	it('sends a key frame on request, but not more often than the encoder allows', () => {
		const layer = video.layers[0]!;
		const source = new VideoEncodingSource(79, 101, layer, video, 1200, seededRandom(5), 0);
		run(source, 1, 0);
		const before = source.keyFramesSent;
		source.requestKeyFrame(1000);
		source.requestKeyFrame(1001);
		run(source, 1, 1000);
		expect(source.keyFramesSent).toBe(before + 1);
	});

	it('with H.264, starts with SPS/PPS and an IDR', () => {
		const h264 = PROFILES['camera-720p-h264'].video;
		const source = new VideoEncodingSource(80, 102, h264.layers[2]!, h264, 1200, seededRandom(6), 0);
		const packets = run(source, 0.05, 0);
		expect(h264NalTypes(packets[0]!.subarray(12))).toEqual([7, 8]);
		expect(h264NalTypes(packets[1]!.subarray(12))).toEqual([5]);
	});
});

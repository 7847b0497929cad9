import { describe, expect, it } from 'vitest';
import { bitrate, lossBetween, summarizeInbound, summarizeOutbound, type RtcStatLike } from '../../../web/src/lib/stats.js';

// Shapes as Chromium reports them for a VP8 simulcast sender and a receiver.
const outbound = (timestamp: number, bytes: number[]): RtcStatLike[] => [
	...bytes.map((b, i) => ({
		type: 'outbound-rtp',
		id: `OT${i}`,
		timestamp,
		kind: 'video',
		rid: `r${i}`,
		bytesSent: b,
		packetsSent: b / 1000,
		frameWidth: 320 * 2 ** i,
		frameHeight: 180 * 2 ** i,
		framesPerSecond: i === 2 ? undefined : 30,
		active: true,
		qualityLimitationReason: i === 2 ? 'bandwidth' : 'none',
	})),
	{ type: 'remote-inbound-rtp', id: 'RI0', timestamp, packetsLost: 3, roundTripTime: 0.012, jitter: 0.002 },
	{ type: 'remote-inbound-rtp', id: 'RI1', timestamp, packetsLost: -1, roundTripTime: 0.02 },
	{ type: 'codec', id: 'C1', timestamp, mimeType: 'video/VP8' },
];

const inbound = (timestamp: number, bytes: number, packets: number, lost: number): RtcStatLike[] => [
	{ type: 'inbound-rtp', id: 'IT', timestamp, kind: 'video', bytesReceived: bytes, packetsReceived: packets, packetsLost: lost, frameWidth: 640, frameHeight: 360, framesPerSecond: 29, framesDecoded: 100, jitter: 0.004 },
	{ type: 'transport', id: 'T', timestamp, selectedCandidatePairId: 'CP2' },
	{ type: 'candidate-pair', id: 'CP1', timestamp, currentRoundTripTime: 0.5, nominated: false },
	{ type: 'candidate-pair', id: 'CP2', timestamp, currentRoundTripTime: 0.004, nominated: true, state: 'succeeded' },
];

describe('summarizeOutbound', () => {
	it('adds the simulcast streams, takes the largest frame, and counts loss that went up', () => {
		const sample = summarizeOutbound(outbound(1000, [10_000, 40_000, 150_000]));
		expect(sample).toMatchObject({
			timestamp: 1000,
			bytes: 200_000,
			packets: 200,
			packetsLost: 3,
			width: 1280,
			height: 720,
			framesPerSecond: 30,
			roundTripTime: 0.02,
			activeStreams: 3,
			qualityLimitation: 'bandwidth',
		});
	});

	it('is undefined without an outbound-rtp (nothing sent yet)', () => {
		expect(summarizeOutbound([{ type: 'codec', id: 'c', timestamp: 1 }])).toBeUndefined();
	});
});

describe('summarizeInbound', () => {
	it('reads bytes, size and loss, and RTT from the selected candidate pair', () => {
		expect(summarizeInbound(inbound(2000, 500_000, 450, 5))).toMatchObject({
			bytes: 500_000,
			packets: 450,
			packetsLost: 5,
			width: 640,
			height: 360,
			framesPerSecond: 29,
			framesDecoded: 100,
			roundTripTime: 0.004,
			jitter: 0.004,
		});
	});
});

describe('bitrate and loss between samples', () => {
	it('bits per second over the elapsed stats time', () => {
		const a = summarizeInbound(inbound(1000, 100_000, 100, 0))!;
		const b = summarizeInbound(inbound(3000, 350_000, 300, 10))!;
		expect(bitrate(a, b)).toBe(1_000_000);
		expect(lossBetween(a, b, 'inbound')).toBeCloseTo(10 / 210);
	});

	it('outbound loss is a share of the packets sent', () => {
		const a = { timestamp: 0, bytes: 0, packets: 100, packetsLost: 0 };
		const b = { timestamp: 1000, bytes: 0, packets: 300, packetsLost: 20 };
		expect(lossBetween(a, b, 'outbound')).toBeCloseTo(0.1);
	});

	it('undefined without a previous sample, with no time passed, or when counters went back (a new stream)', () => {
		const a = summarizeInbound(inbound(1000, 100_000, 100, 0))!;
		expect(bitrate(undefined, a)).toBeUndefined();
		expect(bitrate(a, a)).toBeUndefined();
		const restarted = summarizeInbound(inbound(2000, 5_000, 5, 0))!;
		expect(bitrate(a, restarted)).toBeUndefined();
		expect(lossBetween(a, restarted, 'inbound')).toBeUndefined();
		expect(lossBetween(a, a, 'inbound')).toBeUndefined();
	});
});

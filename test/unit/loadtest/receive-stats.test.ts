import { describe, expect, it } from 'vitest';
import { RtpReceiveStats } from '../../../loadtest/src/stats/RtpReceiveStats.js';
import { LatencySamples, percentile, summarize } from '../../../loadtest/src/stats/percentiles.js';

/** Feeds packets `seqs` 20 ms apart with timestamps that match the arrival exactly (no jitter). */
function feed(stats: RtpReceiveStats, seqs: number[], options: { startTs?: number; arrivalJitterMs?: (i: number) => number } = {}): void {
	seqs.forEach((seq, i) => {
		const arrival = i * 20 + (options.arrivalJitterMs?.(i) ?? 0);
		stats.onPacket(seq, ((options.startTs ?? 0) + i * 960) >>> 0, arrival, 100);
	});
}

describe('RtpReceiveStats: loss from sequence numbers (RFC 3550 A.1/A.3)', () => {
	it('counts packets and bytes with no loss', () => {
		const stats = new RtpReceiveStats(48_000);
		feed(stats, [10, 11, 12, 13]);
		expect(stats.counters()).toEqual({ packets: 4, bytes: 400, expected: 4, lost: 0 });
	});

	it('counts a gap as loss', () => {
		const stats = new RtpReceiveStats(48_000);
		feed(stats, [1, 2, 5, 6]);
		expect(stats.counters()).toMatchObject({ packets: 4, expected: 6, lost: 2 });
	});

	it('handles the 16-bit wrap-around with and without loss across it', () => {
		const stats = new RtpReceiveStats(90_000);
		feed(stats, [65_533, 65_534, 65_535, 0, 1, 3]);
		expect(stats.counters()).toMatchObject({ packets: 6, expected: 7, lost: 1 });
		expect(stats.extendedHighestSeq).toBe(65_536 + 3);
	});

	it('does not count a late (reordered) packet as loss, nor as a new maximum', () => {
		const stats = new RtpReceiveStats(90_000);
		feed(stats, [100, 101, 103, 102, 104]);
		expect(stats.counters()).toMatchObject({ packets: 5, expected: 5, lost: 0 });
		expect(stats.reordered).toBe(1);
		expect(stats.extendedHighestSeq).toBe(104);
	});

	it('clamps loss at zero when duplicates outnumber losses', () => {
		const stats = new RtpReceiveStats(90_000);
		feed(stats, [1, 2, 2, 2, 3]);
		expect(stats.counters()).toMatchObject({ packets: 5, expected: 3, lost: 0 });
	});

	it('treats a huge jump as a restart only when the next packet confirms it', () => {
		const stats = new RtpReceiveStats(90_000);
		feed(stats, [1000, 1001, 40_000, 40_001, 40_002]);
		// 40000 is ignored as a stray; 40001 confirms the restart: 1000..1001 and 40001..40002 counted.
		expect(stats.counters()).toMatchObject({ packets: 4, expected: 4, lost: 0 });
	});

	it('reports loss per interval', () => {
		const stats = new RtpReceiveStats(48_000);
		feed(stats, [1, 2, 3, 4]);
		expect(stats.intervalLoss()).toEqual({ expected: 4, received: 4, fractionLost: 0 });
		stats.onPacket(9, 0, 100, 100);
		expect(stats.intervalLoss()).toEqual({ expected: 5, received: 1, fractionLost: 0.8 });
	});
});

describe('RtpReceiveStats: interarrival jitter (RFC 3550 A.8)', () => {
	it('is zero when packets arrive exactly as their timestamps say, across a timestamp wrap', () => {
		const stats = new RtpReceiveStats(48_000);
		feed(stats, [1, 2, 3, 4, 5], { startTs: 0xffffffff - 1000 });
		expect(stats.jitter).toBeCloseTo(0, 6);
	});

	it('converges to the mean deviation when arrivals alternate ±d', () => {
		const stats = new RtpReceiveStats(48_000);
		const seqs = Array.from({ length: 400 }, (_, i) => i);
		// Transit alternates 0 and 5 ms: |D| = 5 ms = 240 timestamp units every packet.
		feed(stats, seqs, { arrivalJitterMs: (i) => (i % 2 === 0 ? 0 : 5) });
		expect(stats.jitter).toBeCloseTo(240, 0);
		expect(stats.jitterMs).toBeCloseTo(5, 1);
	});

	it('follows the 1/16 gain of the estimator after one delayed packet', () => {
		const stats = new RtpReceiveStats(90_000);
		stats.onPacket(1, 0, 0, 1);
		stats.onPacket(2, 3000, 1000 / 30 + 10, 1);
		// D = 10 ms = 900 units; J = 900 / 16.
		expect(stats.jitter).toBeCloseTo(900 / 16, 6);
	});

	it('refuses a non-positive clock rate', () => {
		expect(() => new RtpReceiveStats(0)).toThrow(RangeError);
	});
});

describe('percentiles', () => {
	it('uses nearest rank', () => {
		const values = Array.from({ length: 100 }, (_, i) => i + 1);
		expect(percentile(values, 50)).toBe(50);
		expect(percentile(values, 95)).toBe(95);
		expect(percentile(values, 99)).toBe(99);
		expect(percentile([], 50)).toBeNaN();
		expect(summarize([3, 1, 2])).toEqual({ count: 3, p50: 2, p95: 3, p99: 3, max: 3 });
	});

	it('keeps a bounded uniform sample per label', () => {
		let state = 1;
		const samples = new LatencySamples(100, () => ((state = (state * 48271) % 2147483647) / 2147483647));
		for (let i = 0; i < 10_000; i++) samples.add('join', i);
		samples.add('produce', 5);
		expect(samples.labels()).toEqual(['join', 'produce']);
		const join = samples.summary('join');
		expect(join.count).toBe(100);
		// A uniform sample of 0..9999: the median is near 5000.
		expect(join.p50).toBeGreaterThan(3000);
		expect(join.p50).toBeLessThan(7000);
		expect(samples.overall().count).toBe(101);
	});
});

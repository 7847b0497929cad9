import { describe, expect, it } from 'vitest';
import {
	formatBitrate,
	formatClockTime,
	formatDuration,
	formatLayers,
	formatPercent,
	formatResolution,
	formatRtt,
	initials,
	qualityFromScore,
	worstQuality,
} from '../../../web/src/lib/format.js';

describe('formatBitrate', () => {
	it('picks bit/s, kbit/s or Mbit/s', () => {
		expect(formatBitrate(0)).toBe('0 bit/s');
		expect(formatBitrate(999)).toBe('999 bit/s');
		expect(formatBitrate(32_400)).toBe('32 kbit/s');
		expect(formatBitrate(1_234_567)).toBe('1.23 Mbit/s');
		expect(formatBitrate(12_345_678)).toBe('12.3 Mbit/s');
	});
	it('shows a dash for unknown or nonsense', () => {
		for (const value of [undefined, Number.NaN, -5, Number.POSITIVE_INFINITY]) expect(formatBitrate(value)).toBe('–');
	});
});

describe('formatClockTime', () => {
	it('is 24-hour HH:MM in the given zone', () => {
		const t = Date.UTC(2026, 10, 21, 17, 5, 42);
		expect(formatClockTime(t, 'UTC')).toBe('17:05');
		expect(formatClockTime(t, 'Asia/Tokyo')).toBe('02:05');
		expect(formatClockTime(Date.UTC(2026, 0, 1, 0, 0), 'UTC')).toBe('00:00');
	});
});

describe('formatDuration', () => {
	it('uses ms below a second, s below a minute, then min and s', () => {
		expect(formatDuration(850.4)).toBe('850 ms');
		expect(formatDuration(1340)).toBe('1.3 s');
		expect(formatDuration(59_940)).toBe('59.9 s');
		expect(formatDuration(120_000)).toBe('2 min');
		expect(formatDuration(125_000)).toBe('2 min 5 s');
		expect(formatDuration(undefined)).toBe('–');
		expect(formatDuration(-1)).toBe('–');
	});
});

describe('small formats', () => {
	it('resolution', () => {
		expect(formatResolution(1280, 720)).toBe('1280×720');
		expect(formatResolution(0, 720)).toBe('–');
		expect(formatResolution(undefined, undefined)).toBe('–');
	});
	it('percent clamps to 0..100', () => {
		expect(formatPercent(0.0123)).toBe('1.2 %');
		expect(formatPercent(2)).toBe('100.0 %');
		expect(formatPercent(-0.1)).toBe('0.0 %');
		expect(formatPercent(undefined)).toBe('–');
	});
	it('RTT from seconds', () => {
		expect(formatRtt(0.0234)).toBe('23 ms');
		expect(formatRtt(undefined)).toBe('–');
	});
	it('layers', () => {
		expect(formatLayers(2, 1)).toBe('S2 T1');
		expect(formatLayers(0, null)).toBe('S0');
		expect(formatLayers(null, null)).toBe('none');
		expect(formatLayers(undefined, undefined)).toBe('–');
	});
	it('initials', () => {
		expect(initials('Ada Lovelace')).toBe('AL');
		expect(initials('  grace   brewster murray hopper ')).toBe('GH');
		expect(initials('bob')).toBe('BO');
		expect(initials('Ängström Ölund')).toBe('ÄÖ');
		expect(initials('   ')).toBe('?');
	});
});

describe('quality from mediasoup scores (0..10)', () => {
	it('maps scores to levels', () => {
		expect([10, 8, 7, 5, 4, 0].map(qualityFromScore)).toEqual(['good', 'good', 'fair', 'fair', 'poor', 'poor']);
		expect(qualityFromScore(undefined)).toBe('unknown');
	});
	it('the worst known quality wins; unknown only when nothing is known', () => {
		expect(worstQuality(['good', 'fair', 'unknown'])).toBe('fair');
		expect(worstQuality(['good', 'poor'])).toBe('poor');
		expect(worstQuality(['unknown', 'unknown'])).toBe('unknown');
		expect(worstQuality([])).toBe('unknown');
	});
});

import { describe, expect, it } from 'vitest';
import { analyse, longestSteadyStretch } from '../../../loadtest/src/soak/analysis.js';
import { ErrorTally, normalizeMessage } from '../../../loadtest/src/soak/ErrorTally.js';
import { flatness, type Point } from '../../../loadtest/src/soak/flatness.js';
import { nodeFigures, type Sample } from '../../../loadtest/src/soak/Sampler.js';
import { awayRange, churnSchedule, parseDuration, type ScheduleOptions } from '../../../loadtest/src/soak/schedule.js';

const base: ScheduleOptions = { seed: 7, durationMs: 30 * 60_000, rooms: 4, workers: 2, churnEveryMs: 6000, killEveryMs: 5 * 60_000, graceMs: 20_000 };

describe('parseDuration', () => {
	it('reads ms, s, m, min, h and bare seconds', () => {
		expect(parseDuration('1500ms')).toBe(1500);
		expect(parseDuration('10s')).toBe(10_000);
		expect(parseDuration('30m')).toBe(1_800_000);
		expect(parseDuration('2min')).toBe(120_000);
		expect(parseDuration('1h')).toBe(3_600_000);
		expect(parseDuration('90')).toBe(90_000);
		expect(parseDuration('0.5m')).toBe(30_000);
	});

	it('refuses what is not a duration', () => {
		expect(() => parseDuration('soon')).toThrow(/not a duration/);
		expect(() => parseDuration('-5s')).toThrow(/not a duration/);
	});
});

describe('churnSchedule', () => {
	it('is the same for the same seed and different for another', () => {
		expect(churnSchedule(base)).toEqual(churnSchedule(base));
		expect(churnSchedule({ ...base, seed: 8 })).not.toEqual(churnSchedule(base));
	});

	it('spreads peer events at about the mean interval, sorted, over every room, with none in the quiet tail', () => {
		const events = churnSchedule(base);
		const peerEvents = events.filter((event) => event.kind !== 'worker-kill');
		const tail = base.graceMs + 15_000;
		expect(events.map((event) => event.atMs)).toEqual([...events.map((event) => event.atMs)].sort((a, b) => a - b));
		// (30 min − 35 s) / 6 s ≈ 294 events, ± the randomness of the intervals.
		expect(peerEvents.length).toBeGreaterThan(250);
		expect(peerEvents.length).toBeLessThan(340);
		expect(Math.max(...events.map((event) => event.atMs))).toBeLessThan(base.durationMs - tail);
		expect(new Set(peerEvents.map((event) => event.room))).toEqual(new Set([0, 1, 2, 3]));
		for (const kind of ['leave-join', 'drop-resume', 'drop-abandon'] as const) expect(peerEvents.some((event) => event.kind === kind)).toBe(true);
		for (const event of events) {
			expect(event.pick).toBeGreaterThanOrEqual(0);
			expect(event.pick).toBeLessThan(1);
		}
	});

	it('keeps every resume inside the grace window', () => {
		const range = awayRange(base.graceMs);
		expect(range).toEqual({ min: 1000, max: 10_000 });
		const resumes = churnSchedule(base).filter((event) => event.kind === 'drop-resume');
		expect(resumes.length).toBeGreaterThan(50);
		for (const event of resumes) {
			expect(event.awayMs).toBeGreaterThanOrEqual(range.min);
			expect(event.awayMs).toBeLessThanOrEqual(range.max);
		}
	});

	it('kills a worker every few minutes, and once in a run shorter than that', () => {
		const kills = churnSchedule(base).filter((event) => event.kind === 'worker-kill');
		expect(kills.length).toBeGreaterThanOrEqual(5);
		expect(kills.length).toBeLessThanOrEqual(7);
		for (let index = 1; index < kills.length; index++) {
			const gap = kills[index]!.atMs - kills[index - 1]!.atMs;
			expect(gap).toBeGreaterThanOrEqual(0.8 * base.killEveryMs - 1);
			expect(gap).toBeLessThanOrEqual(1.2 * base.killEveryMs + 1);
		}
		for (const kill of kills) expect([0, 1]).toContain(kill.worker);
		const short = churnSchedule({ ...base, durationMs: 3 * 60_000 }).filter((event) => event.kind === 'worker-kill');
		expect(short).toHaveLength(1);
		expect(short[0]!.atMs).toBeGreaterThan(0.35 * 3 * 60_000);
		expect(churnSchedule({ ...base, killEveryMs: 0 }).some((event) => event.kind === 'worker-kill')).toBe(false);
	});

	it('has nothing to schedule when the run is shorter than its quiet tail', () => {
		expect(churnSchedule({ ...base, durationMs: 20_000 })).toEqual([]);
	});
});

/** A sample every 10 s for `minutes`: value(t in minutes) plus a deterministic ±noise. */
function series(minutes: number, value: (minute: number) => number, noise = 0): Point[] {
	return Array.from({ length: minutes * 6 + 1 }, (_, index) => ({ tMs: index * 10_000, value: value(index / 6) + (index % 2 === 0 ? noise : -noise) }));
}

describe('flatness', () => {
	const tolerance = { relative: 0.05, absolute: 4096 };

	it('calls a noisy but level series flat, with a slope near zero', () => {
		// 100 MiB in KiB, ±1 MiB of noise, after a warm-up that grew from 80 MiB.
		const result = flatness(series(30, (minute) => (minute < 2 ? 80 * 1024 + minute * 10 * 1024 : 100 * 1024), 1024), 120_000, tolerance);
		expect(result.flat).toBe(true);
		expect(result.samples).toBe(28 * 6 + 1);
		expect(Math.abs(result.slopePerMinute)).toBeLessThan(50);
		expect(result.start).toBe(80 * 1024 + 1024);
		expect(result.firstThirdMean).toBeCloseTo(100 * 1024, -2);
	});

	it('calls a steady leak growth, and measures its slope per minute', () => {
		// +300 KiB/min from 100 MiB: the last third is ~5.6 MiB above the first.
		const result = flatness(series(30, (minute) => 100 * 1024 + 300 * minute), 120_000, tolerance);
		expect(result.flat).toBe(false);
		expect(result.slopePerMinute).toBeCloseTo(300, 5);
		expect(result.lastHalfSlopePerMinute).toBeCloseTo(300, 5);
		expect(result.r2).toBeCloseTo(1, 5);
		expect(result.change).toBeGreaterThan(4096);
	});

	it('tells growth that settles from growth that goes on: the last half\'s slope', () => {
		// +1 MiB/min for 10 minutes, then level: a warm-up longer than the one given.
		const settles = flatness(series(30, (minute) => 80 * 1024 + Math.min(minute, 10) * 1024), 120_000, tolerance);
		expect(settles.slopePerMinute).toBeGreaterThan(200);
		expect(Math.abs(settles.lastHalfSlopePerMinute)).toBeLessThan(1);
	});

	it('does not call a shrinking series a leak', () => {
		expect(flatness(series(30, (minute) => 100 * 1024 - 200 * minute), 120_000, tolerance).flat).toBe(true);
	});

	it('gives no verdict on too few samples after the warm-up', () => {
		const result = flatness(series(2, () => 10), 120_000, { relative: 0.05, absolute: 4 });
		expect(result.samples).toBe(1);
		expect(result.flat).toBeUndefined();
		expect(flatness([], 0, tolerance).flat).toBeUndefined();
	});
});

describe('analyse', () => {
	it('judges each worker over its own life: a replacement starts a new series', () => {
		const sample = (tMs: number, workers: { pid: number; rssKiB: number; routers?: number; fds?: number }[]): Sample => ({
			tMs,
			at: '',
			server: { pid: 1, rssKiB: 100_000, fds: 50, cpuPercent: 1, heapUsedKiB: 30_000, activeHandles: 40, handlesByType: {} },
			workers: workers.map((worker, slot) => ({ slot, alive: true, routers: 1, consumers: 10, fds: 20, cpuPercent: 1, ...worker })),
			health: { status: 'ok', rooms: 4, peers: 20 },
			generator: { rssKiB: 1, cpuPercent: 1 },
			machineBusyPercent: 10,
			mediaPacketsPerSecond: 400,
			peersInSession: 20,
			counters: { joins: 0, leaves: 0, drops: 0, abandons: 0, workerKills: 0, mediaResets: 0, rebuilds: 0, consumersAccepted: 0, pings: 0, resumesOk: 0, resumesFailed: 0, errors: 0 },
		});
		// Slot 1 is killed at 5 min; its replacement idles 4 min, then takes the rooms (a step up in fds and RSS, not a leak).
		const samples = Array.from({ length: 120 }, (_, index) => {
			const replacement = index >= 30;
			const loaded = !replacement || index >= 54;
			return sample(index * 10_000, [
				{ pid: 10, rssKiB: 15_000 },
				{ pid: replacement ? 12 : 11, rssKiB: loaded ? 16_000 : 12_000, routers: loaded ? 2 : 0, fds: loaded ? 25 : 17 },
			]);
		});
		const result = analyse(samples, 60_000);
		expect(result.serverRssKiB.flat).toBe(true);
		expect(result.workers.map((worker) => [worker.slot, worker.pid, worker.samples])).toEqual([[0, 10, 120], [1, 11, 30], [1, 12, 90]]);
		const replacement = result.workers[2]!;
		expect(replacement.fromMs).toBe(300_000);
		expect(replacement.fds.flat, 'over its whole life the step looks like growth').toBe(false);
		expect(replacement.steady).toMatchObject({ routers: 2, fromMs: 540_000, toMs: 1_190_000 });
		expect(replacement.steady.fds.flat).toBe(true);
		expect(result.workers.every((worker) => worker.steady.rssKiB.flat === true)).toBe(true);
	});

	it('prefers a loaded stretch to a longer idle one when choosing where to judge a worker', () => {
		const point = (tMs: number, routers: number) => ({ tMs, worker: { slot: 0, pid: 1, alive: true, routers, consumers: 0, rssKiB: 1, fds: 1, cpuPercent: 0 } });
		const points = [0, 1, 2, 3, 4, 5].map((index) => point(index * 10_000, 0)).concat([6, 7, 8].map((index) => point(index * 10_000, 3)), [point(90_000, 1)]);
		expect(longestSteadyStretch(points).map((p) => p.tMs)).toEqual([60_000, 70_000, 80_000]);
		expect(longestSteadyStretch(points.slice(0, 6)).map((p) => p.tMs)).toHaveLength(6);
	});
});

describe('ErrorTally', () => {
	it('counts errors by where and normalized message, keeping a few examples', () => {
		const tally = new ErrorTally(() => 0);
		tally.record('rebuild', new Error('produce: transport with id "0b7c3d1e-2f4a-4b5c-8d9e-0f1a2b3c4d5e" not found (404)'));
		tally.record('rebuild', new Error('produce: transport with id "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d" not found (404)'));
		tally.record('ping', 'ping: no response within 10000 ms');
		expect(tally.total).toBe(3);
		const kinds = tally.byKind();
		expect(Object.keys(kinds)).toEqual(['rebuild: produce: transport with id "<uuid>" not found (404)', 'ping: ping: no response within <n> ms']);
		expect(kinds['rebuild: produce: transport with id "<uuid>" not found (404)']!.examples).toHaveLength(2);
	});

	it('takes peer ids, tokens and addresses out of messages', () => {
		expect(normalizeMessage('peer p-1234abcd-ef56-7890 gone')).toBe('peer p-<id> gone');
		expect(normalizeMessage('resume token Zm9vYmFyYmF6cXV4cXV1eGNvcmdl refused')).toBe('resume token <token> refused');
		expect(normalizeMessage('connect 127.0.0.1:40123 refused')).toBe('connect <address> refused');
	});
});

describe('nodeFigures', () => {
	it('reads the heap and the active handles from the server\'s /metrics', () => {
		const metrics = [
			'# HELP sfu_node_nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
			'# TYPE sfu_node_nodejs_heap_size_used_bytes gauge',
			'sfu_node_nodejs_heap_size_used_bytes 31457280',
			'sfu_node_nodejs_heap_size_total_bytes 52428800',
			'sfu_node_nodejs_active_handles{type="TLSSocket"} 28',
			'sfu_node_nodejs_active_handles{type="Timeout"} 5',
			'sfu_node_nodejs_active_handles_total 33',
		].join('\n');
		expect(nodeFigures(metrics)).toEqual({ heapUsedKiB: 30_720, activeHandles: 33, handlesByType: { TLSSocket: 28, Timeout: 5 } });
		expect(nodeFigures('')).toEqual({ heapUsedKiB: undefined, activeHandles: undefined, handlesByType: {} });
	});
});

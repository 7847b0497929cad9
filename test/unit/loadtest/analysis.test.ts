import { describe, expect, it } from 'vitest';
import type { StepResult, SweepResult } from '../../../loadtest/src/capacity/CapacityRun.js';
import { linearFit, microsPerPacket, summarizeSweep } from '../../../loadtest/src/capacity/analysis.js';
import { formatTable, lineChart } from '../../../loadtest/src/capacity/report.js';
import { summarize } from '../../../loadtest/src/stats/percentiles.js';

const thresholds = { maxLoss: 0.01, maxWorkerCpuPercent: 85 };

/** A step where workers spend `microsPerPacket` µs per forwarded packet plus `idle` % of a core. */
function step(load: number, options: { pps: number; workers: number[]; loss?: number; generator?: number; machine?: number; drops?: { server: number; generator: number } }): StepResult {
	const loss = options.loss ?? 0;
	const failures = [
		...(loss >= 0.01 ? [`loss ${(loss * 100).toFixed(2)}%`] : []),
		...options.workers.filter((percent) => percent > 85).map((percent) => `worker at ${percent}%`),
	];
	return {
		sweep: 'stream',
		shape: 'stream',
		load,
		subscribers: load,
		serverConsumers: load * 2,
		consumersPerWorker: options.workers.map(() => load),
		streams: load * 2,
		measuredStreams: load * 2,
		setupSeconds: 1,
		api: {},
		signalling: { joins: 1, joinTotal: summarize([10]), requests: summarize([2]), byMethod: {} },
		window: {
			seconds: 8,
			cpu: {
				workers: options.workers.map((percent, index) => ({ pid: 100 + index, percent })),
				server: 3,
				generator: options.generator ?? 20,
				helpers: 0,
				machine: options.machine ?? 50,
				others: 0,
			},
			rssBytes: { workers: options.workers.map(() => 20 * 2 ** 20), server: 90 * 2 ** 20, generator: 200 * 2 ** 20 },
			outgoing: { packetsPerSecond: options.pps, bitsPerSecond: options.pps * 8000, scale: 1 },
			measuredOutgoing: { packetsPerSecond: options.pps, bitsPerSecond: options.pps * 8000 },
			loss: { overall: loss, worstStream: loss, p95Stream: loss, streamsWithLoss: loss > 0 ? 1 : 0, streams: load * 2 },
			jitterMs: { audio: summarize([1]), video: summarize([1]) },
			silentStreams: 0,
			udpDrops: options.drops ?? { server: 0, generator: 0 },
		},
		publishers: { count: 1, packetsPerSecond: 300, bitsPerSecond: 2e6, keyFrameRequests: 0, keyFramesSent: 1 },
		generator: { lateTicks: 0, unknownPackets: 0 },
		pass: failures.length === 0,
		failures,
	};
}

function sweep(steps: StepResult[]): SweepResult {
	return {
		plan: { name: 'stream', shape: 'stream', profile: 'camera-720p', steps: steps.map((s) => s.load), server: { numWorkers: 1, routerConsumerSoftLimit: 400 }, browsers: 0, measureEvery: 1, realFrames: false },
		steps,
		stoppedBecause: 'test',
		backgroundCpuPercent: 0,
	};
}

describe('linearFit', () => {
	it('recovers slope and intercept of exact points', () => {
		const fit = linearFit([{ x: 0, y: 5 }, { x: 10, y: 25 }, { x: 20, y: 45 }]);
		expect(fit?.slope).toBeCloseTo(2, 10);
		expect(fit?.intercept).toBeCloseTo(5, 10);
		expect(fit?.r2).toBeCloseTo(1, 10);
	});

	it('needs two distinct x', () => {
		expect(linearFit([{ x: 1, y: 1 }])).toBeUndefined();
		expect(linearFit([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toBeUndefined();
	});
});

describe('summarizeSweep', () => {
	// 7 µs per packet + 2% idle: 100 kpps → 72%, 110 kpps → 79%, 120 kpps → 86% (over the threshold).
	const worker = (pps: number) => 2 + (7 * pps) / 1e4;

	it('finds the capacity (largest passing step), the fitted cost and the worker as the bottleneck', () => {
		const result = summarizeSweep(
			sweep([
				step(100, { pps: 50_000, workers: [worker(50_000)] }),
				step(200, { pps: 100_000, workers: [worker(100_000)] }),
				step(220, { pps: 110_000, workers: [worker(110_000)] }),
				step(240, { pps: 120_000, workers: [worker(120_000)], machine: 70 }),
			]),
			thresholds,
			2,
		);
		expect(result.capacity.load).toBe(220);
		expect(result.capacity.consumers).toBe(440);
		expect(result.cost.microsPerPacketFit).toBeCloseTo(7, 6);
		expect(result.cost.microsPerPacketAtCapacity).toBeCloseTo((worker(110_000) * 1e4) / 110_000, 6);
		// 85% of a core = 850 000 µs/s ÷ (7 µs × 250 packets/s per consumer) = 485 consumers.
		expect(result.perWorker.consumersAtThreshold).toBe(485);
		expect(result.capacity.limit).toMatch(/^240: worker at/);
		expect(result.bottleneck.verdict).toMatch(/mediasoup worker/);
	});

	it('blames the generator when it is saturated and its sockets drop', () => {
		const result = summarizeSweep(
			sweep([step(100, { pps: 5_000, workers: [40] }), step(200, { pps: 10_000, workers: [60], loss: 0.03, generator: 98, machine: 99, drops: { server: 10, generator: 5000 } })]),
			thresholds,
			2,
		);
		expect(result.capacity.load).toBe(100);
		expect(result.bottleneck.verdict).toMatch(/load generator/);
	});

	it('blames the shared machine when every core is busy and no single process is saturated', () => {
		const result = summarizeSweep(
			sweep([step(100, { pps: 5_000, workers: [40, 40] }), step(200, { pps: 10_000, workers: [70, 70], loss: 0.02, generator: 50, machine: 97, drops: { server: 800, generator: 100 } })]),
			thresholds,
			2,
		);
		expect(result.bottleneck.verdict).toMatch(/machine's CPU/);
	});

	it('names the workers\' receive buffers when they drop packets and nothing is saturated', () => {
		const result = summarizeSweep(
			sweep([step(100, { pps: 5_000, workers: [30, 30] }), step(200, { pps: 10_000, workers: [50, 50], loss: 0.013, generator: 60, machine: 84, drops: { server: 1170, generator: 0 } })]),
			thresholds,
			2,
		);
		expect(result.bottleneck.verdict).toMatch(/receive buffers/);
	});

	it('reports no capacity when the first step fails, and "not reached" when none does', () => {
		expect(summarizeSweep(sweep([step(100, { pps: 5_000, workers: [90] })]), thresholds, 2).capacity.load).toBeNull();
		const none = summarizeSweep(sweep([step(100, { pps: 5_000, workers: [30] })]), thresholds, 2);
		expect(none.capacity.load).toBe(100);
		expect(none.bottleneck.verdict).toMatch(/not reached/);
		expect(none.cost.microsPerPacketFit).toBeNull();
		expect(microsPerPacket(step(1, { pps: 0, workers: [1] }))).toBeNaN();
	});
});

describe('a sweep that ended with an error', () => {
	it('gives the error as the limit and names the server as what gave out', () => {
		const result = summarizeSweep(
			{ ...sweep([step(100, { pps: 50_000, workers: [40] }), step(200, { pps: 100_000, workers: [80] })]), stoppedBecause: 'error at 300: POST consume → HTTP 0: no response within 15000 ms' },
			thresholds,
			2,
		);
		expect(result.capacity.load).toBe(200);
		expect(result.capacity.limit).toMatch(/^error at 300/);
		expect(result.bottleneck.verdict).toMatch(/stopped answering.*80%/);
	});

	it('blames the shared machine when it was saturated before the server stalled', () => {
		const result = summarizeSweep(
			{ ...sweep([step(100, { pps: 50_000, workers: [40, 40] }), step(200, { pps: 100_000, workers: [68, 63], machine: 97, generator: 41 })]), stoppedBecause: 'error at 300: POST connect → HTTP 0: no response within 15000 ms' },
			thresholds,
			2,
		);
		expect(result.capacity.load).toBe(200);
		expect(result.bottleneck.verdict).toMatch(/machine's CPU \(97% busy\).*stopped answering/);
	});
});

describe('report', () => {
	it('draws one polyline per series and the limit line', () => {
		const svg = lineChart('t', 'y', [
			{ name: 'a', color: '#000', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }] },
			{ name: 'b', color: '#f00', points: [{ x: 1, y: 3 }] },
		], { y: 85, label: '85%' });
		expect(svg.startsWith('<svg')).toBe(true);
		expect(svg.match(/<polyline/g)).toHaveLength(2);
		expect(svg).toContain('stroke-dasharray="4 3"');
	});

	it('formats one table row per step under a header', () => {
		const table = formatTable([step(100, { pps: 5_000, workers: [40, 30] })]);
		const lines = table.split('\n');
		expect(lines).toHaveLength(2);
		expect(lines[1]).toContain('40%/30%');
	});
});

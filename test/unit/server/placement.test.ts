import { describe, expect, it } from 'vitest';
import { CONSUMERS_PER_CORE, MAX_WORKER_LOAD_PERCENT, chooseRouterForPeer, estimatedLoad, leastLoadedWorker, type WorkerLoad } from '../../../server/media/placement.js';

const worker = (index: number, load: Partial<WorkerLoad> = {}): WorkerLoad => ({ index, alive: true, consumers: 0, routers: 0, cpuPercent: 0, ...load });

describe('worker placement', () => {
	it('estimates load from CPU, or from consumers when the CPU sample lags behind', () => {
		expect(estimatedLoad(worker(0, { cpuPercent: 40 }))).toBe(40);
		expect(estimatedLoad(worker(0, { consumers: CONSUMERS_PER_CORE / 2, cpuPercent: 10 }))).toBe(50);
	});

	it('picks the least-loaded live worker, not the next in turn', () => {
		const loads = [worker(0, { cpuPercent: 70 }), worker(1, { cpuPercent: 20 }), worker(2, { cpuPercent: 5, alive: false })];
		expect(leastLoadedWorker(loads)?.index).toBe(1);
		expect(leastLoadedWorker([worker(0, { routers: 3 }), worker(1, { routers: 1 })])?.index).toBe(1);
		expect(leastLoadedWorker([worker(0, { alive: false })])).toBeUndefined();
	});

	it('keeps a room on its router while it has room', () => {
		const workers = [worker(0, { cpuPercent: 60 }), worker(1)];
		expect(chooseRouterForPeer([{ workerIndex: 0, consumers: 10 }], workers, 400)).toEqual({ kind: 'existing', workerIndex: 0 });
	});

	it('spreads a full room to the least-loaded worker, reusing its router there', () => {
		const workers = [worker(0, { consumers: 400 }), worker(1, { consumers: 100 }), worker(2, { consumers: 50 })];
		expect(chooseRouterForPeer([{ workerIndex: 0, consumers: 400 }], workers, 400)).toEqual({ kind: 'new', workerIndex: 2 });
		expect(chooseRouterForPeer([{ workerIndex: 0, consumers: 400 }, { workerIndex: 2, consumers: 400 }], workers, 400)).toEqual({ kind: 'existing', workerIndex: 2 });
		expect(chooseRouterForPeer([{ workerIndex: 0, consumers: 400 }, { workerIndex: 1, consumers: 90 }], workers, 400)).toEqual({ kind: 'existing', workerIndex: 1 });
	});

	it('spreads a room whose worker is near a full core, even under the consumer limit', () => {
		const workers = [worker(0, { cpuPercent: MAX_WORKER_LOAD_PERCENT + 1 }), worker(1, { cpuPercent: 30 })];
		expect(chooseRouterForPeer([{ workerIndex: 0, consumers: 10 }], workers, 400)).toEqual({ kind: 'new', workerIndex: 1 });
	});

	it('treats a worker that answers its load sample late as saturated', () => {
		expect(estimatedLoad(worker(0, { stalled: true }))).toBeGreaterThan(100);
		expect(leastLoadedWorker([worker(0, { stalled: true }), worker(1, { cpuPercent: 80 })])?.index).toBe(1);
		// When every worker is saturated, one is still chosen.
		expect(leastLoadedWorker([worker(0, { stalled: true })])?.index).toBe(0);
	});

	it('moves a room off a dead worker', () => {
		const workers = [worker(0, { alive: false }), worker(1)];
		expect(chooseRouterForPeer([{ workerIndex: 0, consumers: 0 }], workers, 400)).toEqual({ kind: 'new', workerIndex: 1 });
		expect(chooseRouterForPeer([], [worker(0, { alive: false })], 400)).toBeUndefined();
	});
});

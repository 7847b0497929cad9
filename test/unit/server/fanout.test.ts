import { describe, expect, it } from 'vitest';
import { FAN_OUT_BATCH, inBatches, settleInBatches } from '../../../server/rooms/fanOut.js';

describe('fan-out in batches', () => {
	it('does one batch now and the rest on later turns of the event loop', async () => {
		const done: number[] = [];
		inBatches(Array.from({ length: FAN_OUT_BATCH * 2 + 1 }, (_, i) => i), (i) => done.push(i));
		expect(done).toHaveLength(FAN_OUT_BATCH);
		await new Promise((resolve) => setImmediate(resolve));
		await new Promise((resolve) => setImmediate(resolve));
		expect(done).toHaveLength(FAN_OUT_BATCH * 2 + 1);
	});

	it('settles when every task has, failures included', async () => {
		const settled: number[] = [];
		const work = settleInBatches([1, 2, 3], async (n) => {
			await new Promise((resolve) => setTimeout(resolve, n * 5));
			settled.push(n);
			if (n === 2) throw new Error('refused');
		}, 10_000);
		await work;
		expect(settled.sort()).toEqual([1, 2, 3]);
		await expect(settleInBatches([], async () => {}, 10_000)).resolves.toBeUndefined();
	});

	it('stops waiting at its bound when a task never settles', async () => {
		const started = Date.now();
		await settleInBatches([1, 2], (n) => (n === 1 ? Promise.resolve() : new Promise(() => {})), 50);
		expect(Date.now() - started).toBeGreaterThanOrEqual(45);
	});
});

import { describe, expect, it } from 'vitest';
import { Pacer } from '../../../loadtest/src/media/Pacer.js';

const packets = (count: number, size = 1000) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i));

describe('Pacer', () => {
	it('lets a burst leave at the pacing rate, not at once', () => {
		// 800 kbit/s = 100 bytes/ms: ten 1000-byte packets need ~100 ms.
		const pacer = new Pacer(800_000, 500, 2500);
		pacer.enqueue(packets(10), 0);
		const sentAt: number[] = [];
		for (let t = 0; t <= 200; t += 5) for (const _ of pacer.drain(t)) sentAt.push(t);
		expect(sentAt).toHaveLength(10);
		expect(sentAt[0]).toBe(0);
		expect(sentAt.slice(0, 2)).toEqual([0, 0]);
		// After the two-packet burst, one packet per 10 ms.
		expect(sentAt[9]).toBeGreaterThanOrEqual(75);
		expect(sentAt[9]).toBeLessThanOrEqual(85);
	});

	it('keeps order and does not hoard budget while idle', () => {
		const pacer = new Pacer(800_000, 500, 2500);
		expect(pacer.drain(0)).toEqual([]);
		expect(pacer.drain(1000)).toEqual([]);
		const queued = packets(5);
		pacer.enqueue(queued, 1000);
		const first = pacer.drain(1000);
		expect(first).toEqual(queued.slice(0, 2));
		expect(pacer.queued).toEqual({ packets: 3, bytes: 3000 });
	});

	it('drains faster when the queue holds more than its time limit', () => {
		// 80 kbit/s = 10 bytes/ms, 100 kB queued: at the pacing rate 10 s, bounded to ~500 ms.
		const pacer = new Pacer(80_000, 500, 2500);
		pacer.enqueue(packets(100), 0);
		let sent = 0;
		let t = 0;
		for (; t <= 2000 && sent < 100; t += 5) sent += pacer.drain(t).length;
		expect(sent).toBe(100);
		expect(t).toBeLessThanOrEqual(600);
	});

	it('refuses a rate of zero', () => {
		expect(() => new Pacer(0)).toThrow(RangeError);
	});
});

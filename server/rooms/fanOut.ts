/**
 * Work for every peer of a room, a batch per event-loop turn: offering a
 * new producer to a thousand viewers (or telling them something) does not
 * hold the loop for the whole audience, so other peers' requests are
 * answered in between.
 */
export const FAN_OUT_BATCH = 64;

export function inBatches<T>(items: readonly T[], task: (item: T) => void, size = FAN_OUT_BATCH): void {
	let index = 0;
	const next = () => {
		const end = Math.min(index + size, items.length);
		for (; index < end; index++) task(items[index]!);
		if (index < items.length) setImmediate(next);
	};
	next();
}

/** inBatches for asynchronous work: resolves once every task has settled, or after `timeoutMs`, whichever is first. */
export function settleInBatches<T>(items: readonly T[], task: (item: T) => Promise<unknown>, timeoutMs: number, size = FAN_OUT_BATCH): Promise<void> {
	return new Promise<void>((resolve) => {
		let pending = items.length;
		const timer = setTimeout(resolve, timeoutMs);
		timer.unref();
		const settled = () => {
			if (--pending > 0) return;
			clearTimeout(timer);
			resolve();
		};
		if (pending === 0) settled();
		inBatches(items, (item) => void task(item).then(settled, settled), size);
	});
}

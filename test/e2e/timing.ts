/** Join-to-first-remote-frame: read from the page's own performance measure, and summarised. */
import type { Page } from 'playwright-core';
import { MEDIA_TIMEOUT_MS, until } from './harness.js';

/** The page's `sfu:join-to-first-frame` measure (ms), once the first remote frame was shown. */
export async function joinToFirstFrame(page: Page): Promise<number> {
	return until(
		'the page to measure its first remote frame',
		() =>
			page.evaluate(() => {
				const entry = performance.getEntriesByName('sfu:join-to-first-frame', 'measure')[0];
				return entry ? entry.duration : undefined;
			}),
		MEDIA_TIMEOUT_MS,
	);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) throw new Error('no values');
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.max(Math.ceil((p / 100) * sorted.length), 1);
	return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Latency percentiles (nearest-rank) and a bounded sample store per label. */

export type Percentiles = { count: number; p50: number; p95: number; p99: number; max: number };

/** Nearest-rank percentile of ascending-sorted values; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	if (p <= 0) return sorted[0]!;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(values: readonly number[]): Percentiles {
	const sorted = [...values].sort((a, b) => a - b);
	return {
		count: sorted.length,
		p50: percentile(sorted, 50),
		p95: percentile(sorted, 95),
		p99: percentile(sorted, 99),
		max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
	};
}

/**
 * Samples per label (e.g. per request method), at most `capacity` each: past
 * that, reservoir sampling keeps a uniform sample so memory stays bounded.
 */
export class LatencySamples {
	private readonly samples = new Map<string, { values: number[]; seen: number }>();

	constructor(
		private readonly capacity = 10_000,
		private readonly random: () => number = Math.random,
	) {}

	add(label: string, valueMs: number): void {
		let entry = this.samples.get(label);
		if (!entry) {
			entry = { values: [], seen: 0 };
			this.samples.set(label, entry);
		}
		entry.seen++;
		if (entry.values.length < this.capacity) {
			entry.values.push(valueMs);
			return;
		}
		const slot = Math.floor(this.random() * entry.seen);
		if (slot < this.capacity) entry.values[slot] = valueMs;
	}

	labels(): string[] {
		return [...this.samples.keys()].sort();
	}

	summary(label: string): Percentiles {
		return summarize(this.samples.get(label)?.values ?? []);
	}

	/** Every label's samples together. */
	overall(): Percentiles {
		return summarize([...this.samples.values()].flatMap((entry) => entry.values));
	}

	/** The samples of the given labels together. */
	summaryOf(labels: readonly string[]): Percentiles {
		return summarize(labels.flatMap((label) => this.samples.get(label)?.values ?? []));
	}

	clear(): void {
		this.samples.clear();
	}
}

/**
 * Is a series (RSS, open fds) flat after its warm-up? The samples after the
 * warm-up are split in thirds: the mean of the last third is compared with
 * the mean of the first, and a least-squares slope per minute is fitted over
 * all of them. A leak shows as a last third above the first and a slope that
 * does not average out.
 */
import { linearFit } from '../capacity/analysis.js';

export type Point = { tMs: number; value: number };

export type Tolerance = {
	/** Allowed growth of the last third's mean over the first's, as a fraction of the first (e.g. 0.05). */
	relative: number;
	/** …or in the series' own unit, whichever is larger. */
	absolute: number;
};

export type Flatness = {
	/** Samples after the warm-up. */
	samples: number;
	warmupMs: number;
	/** Over the whole series (warm-up included). */
	start: number;
	end: number;
	min: number;
	max: number;
	firstThirdMean: number;
	lastThirdMean: number;
	/** lastThirdMean − firstThirdMean. */
	change: number;
	changePercent: number;
	/** Least-squares slope after the warm-up, per minute (in the series' unit). */
	slopePerMinute: number;
	r2: number;
	/** The slope over the last half only: a leak keeps it up, growth that settles after the warm-up does not. */
	lastHalfSlopePerMinute: number;
	/** The change is within the tolerance (undefined: too few samples to say). */
	flat: boolean | undefined;
	tolerance: Tolerance;
};

const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length);

/**
 * Flatness of `series` (time-ordered) after `warmupMs` from its first point.
 * At least 6 samples after the warm-up are needed for a verdict.
 */
export function flatness(series: readonly Point[], warmupMs: number, tolerance: Tolerance): Flatness {
	const values = series.map((point) => point.value);
	const origin = series[0]?.tMs ?? 0;
	const steady = series.filter((point) => point.tMs - origin >= warmupMs);
	const third = Math.floor(steady.length / 3);
	const firstThirdMean = third > 0 ? mean(steady.slice(0, third).map((point) => point.value)) : Number.NaN;
	const lastThirdMean = third > 0 ? mean(steady.slice(steady.length - third).map((point) => point.value)) : Number.NaN;
	const change = lastThirdMean - firstThirdMean;
	const perMinute = (points: readonly Point[]) => linearFit(points.map((point) => ({ x: (point.tMs - origin) / 60_000, y: point.value })));
	const fit = perMinute(steady);
	const lastHalf = perMinute(steady.slice(Math.floor(steady.length / 2)));
	const allowed = Math.max(tolerance.absolute, tolerance.relative * Math.abs(firstThirdMean));
	return {
		samples: steady.length,
		warmupMs,
		start: values[0] ?? Number.NaN,
		end: values[values.length - 1] ?? Number.NaN,
		min: values.length > 0 ? Math.min(...values) : Number.NaN,
		max: values.length > 0 ? Math.max(...values) : Number.NaN,
		firstThirdMean,
		lastThirdMean,
		change,
		changePercent: firstThirdMean !== 0 ? (change / firstThirdMean) * 100 : Number.NaN,
		slopePerMinute: fit?.slope ?? Number.NaN,
		r2: fit?.r2 ?? Number.NaN,
		lastHalfSlopePerMinute: lastHalf?.slope ?? Number.NaN,
		flat: steady.length >= 6 && Number.isFinite(change) ? change <= allowed : undefined,
		tolerance,
	};
}

/**
 * The soak run's memory and handle figures: the server's Node process over
 * the whole run, each worker over its own life (a killed worker's
 * replacement starts afresh, so its series is judged apart).
 */
import { flatness, type Flatness, type Point } from './flatness.js';
import type { Sample } from './Sampler.js';

/** RSS may move by 5% or 4 MiB between the first and last third; fds by 5% or 4. */
export const RSS_TOLERANCE = { relative: 0.05, absolute: 4096 };
export const FD_TOLERANCE = { relative: 0.05, absolute: 4 };
/** The V8 heap (sampled between collections, so noisy): 10% or 4 MiB; active handles: 5% or 5. */
export const HEAP_TOLERANCE = { relative: 0.1, absolute: 4096 };
export const HANDLE_TOLERANCE = { relative: 0.05, absolute: 5 };

/**
 * A worker over its life, and over its longest stretch at one load (the
 * same number of routers): a replacement starts empty and takes rooms at the
 * next kill, a step that is not a leak, so the verdict comes from the stretch.
 */
export type WorkerFlatness = {
	slot: number;
	pid: number;
	samples: number;
	fromMs: number;
	lifeMs: number;
	rssKiB: Flatness;
	fds: Flatness;
	steady: { routers: number; fromMs: number; toMs: number; rssKiB: Flatness; fds: Flatness };
};

export type SoakFlatness = { serverRssKiB: Flatness; serverFds: Flatness; serverHeapUsedKiB: Flatness; serverActiveHandles: Flatness; workers: WorkerFlatness[] };

type WorkerPoint = { tMs: number; worker: Sample['workers'][number] };

/**
 * The worker's longest run of consecutive points with one router count,
 * preferring runs that carry routers (an idle replacement's flat line says
 * little); the first of equals.
 */
export function longestSteadyStretch(points: readonly WorkerPoint[]): WorkerPoint[] {
	const stretches: WorkerPoint[][] = [];
	for (const point of points) {
		const current = stretches[stretches.length - 1];
		if (current && current[0]!.worker.routers === point.worker.routers) current.push(point);
		else stretches.push([point]);
	}
	const span = (stretch: WorkerPoint[]): number => stretch[stretch.length - 1]!.tMs - stretch[0]!.tMs;
	const loaded = stretches.filter((stretch) => stretch[0]!.worker.routers > 0);
	const candidates = loaded.length > 0 ? loaded : stretches;
	return candidates.reduce<WorkerPoint[]>((best, stretch) => (best.length === 0 || span(stretch) > span(best) ? stretch : best), []);
}

function workerFlatness(slot: number, pid: number, points: WorkerPoint[], warmupMs: number): WorkerFlatness {
	const series = (stretch: WorkerPoint[], pick: (worker: Sample['workers'][number]) => number | undefined): Point[] =>
		stretch.flatMap(({ tMs, worker }) => {
			const value = pick(worker);
			return value === undefined ? [] : [{ tMs, value }];
		});
	const steady = longestSteadyStretch(points);
	return {
		slot,
		pid,
		samples: points.length,
		fromMs: points[0]!.tMs,
		lifeMs: points[points.length - 1]!.tMs - points[0]!.tMs,
		rssKiB: flatness(series(points, (worker) => worker.rssKiB), warmupMs, RSS_TOLERANCE),
		fds: flatness(series(points, (worker) => worker.fds), warmupMs, FD_TOLERANCE),
		steady: {
			routers: steady[0]!.worker.routers,
			fromMs: steady[0]!.tMs,
			toMs: steady[steady.length - 1]!.tMs,
			rssKiB: flatness(series(steady, (worker) => worker.rssKiB), warmupMs, RSS_TOLERANCE),
			fds: flatness(series(steady, (worker) => worker.fds), warmupMs, FD_TOLERANCE),
		},
	};
}

/** Flatness of the server's series over the run, and of each worker over its own life (a killed worker's replacement starts afresh). */
export function analyse(samples: readonly Sample[], warmupMs: number): SoakFlatness {
	const series = (pick: (sample: Sample) => number | undefined): Point[] =>
		samples.flatMap((sample) => {
			const value = pick(sample);
			return value === undefined ? [] : [{ tMs: sample.tMs, value }];
		});
	const lives = new Map<number, { slot: number; points: WorkerPoint[] }>();
	for (const sample of samples) {
		for (const worker of sample.workers) {
			if (worker.pid <= 0) continue;
			const life = lives.get(worker.pid) ?? { slot: worker.slot, points: [] };
			life.points.push({ tMs: sample.tMs, worker });
			lives.set(worker.pid, life);
		}
	}
	const workers = [...lives].map(([pid, life]) => workerFlatness(life.slot, pid, life.points, warmupMs));
	return {
		serverRssKiB: flatness(series((sample) => sample.server.rssKiB), warmupMs, RSS_TOLERANCE),
		serverFds: flatness(series((sample) => sample.server.fds), warmupMs, FD_TOLERANCE),
		serverHeapUsedKiB: flatness(series((sample) => sample.server.heapUsedKiB), warmupMs, HEAP_TOLERANCE),
		serverActiveHandles: flatness(series((sample) => sample.server.activeHandles), warmupMs, HANDLE_TOLERANCE),
		workers: workers.sort((a, b) => a.slot - b.slot || a.fromMs - b.fromMs),
	};
}

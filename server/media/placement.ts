/**
 * Placement policy, kept free of mediasoup objects so it can be tested alone:
 * which worker gets a new router, and which of a room's routers (or a new
 * one on another worker) a new peer is attached to.
 */

/** What the pool measures of one worker. */
export type WorkerLoad = {
	index: number;
	alive: boolean;
	/** Consumers currently on the worker's routers (pipe consumers included). */
	consumers: number;
	routers: number;
	/** CPU used by the worker process over the last sample, in % of one core. */
	cpuPercent: number;
	/** The worker has not answered its last load sample for over a second: it is saturated. */
	stalled?: boolean;
};

/**
 * Consumers one core carries at full load. Measured (DESIGN.md §3): about 800
 * subscribers of ~500 kbit/s per core; used only to weigh a count of consumers
 * that the CPU sample does not show yet against the CPU that it does.
 */
export const CONSUMERS_PER_CORE = 800;

/**
 * Above this estimated load (% of one core) a worker takes no more peers of
 * rooms it already carries; they spread to another worker. Loss starts near
 * a full core, and a saturated worker also answers control requests late.
 */
export const MAX_WORKER_LOAD_PERCENT = 85;

/** A stalled worker counts as this loaded, so it is chosen only when every worker is. */
const STALLED_LOAD_PERCENT = 1000;

/** Estimated load in % of one core: what the CPU shows, or what the consumers predict if more. */
export function estimatedLoad(load: WorkerLoad): number {
	if (load.stalled) return STALLED_LOAD_PERCENT;
	return Math.max(load.cpuPercent, (load.consumers / CONSUMERS_PER_CORE) * 100);
}

function compareLoad(a: WorkerLoad, b: WorkerLoad): number {
	return estimatedLoad(a) - estimatedLoad(b) || a.consumers - b.consumers || a.routers - b.routers || a.index - b.index;
}

/** The least-loaded live worker, or undefined when none is alive. */
export function leastLoadedWorker(loads: readonly WorkerLoad[]): WorkerLoad | undefined {
	return loads.filter((load) => load.alive).sort(compareLoad)[0];
}

/** One of a room's routers, as placement sees it. */
export type RoomRouterLoad = {
	workerIndex: number;
	/** Consumers on this router (this room's only). */
	consumers: number;
};

export type RouterChoice = { kind: 'existing'; workerIndex: number } | { kind: 'new'; workerIndex: number };

/**
 * Where a new peer of a room goes. A room stays on its routers while one of
 * them has room under `softLimit` consumers and its worker is below
 * MAX_WORKER_LOAD_PERCENT (piping between routers costs CPU, so a meeting
 * should not be spread needlessly); once all are full, the peer goes to the
 * least-loaded worker of the pool, on the room's router there or on a new one.
 */
export function chooseRouterForPeer(
	roomRouters: readonly RoomRouterLoad[],
	workers: readonly WorkerLoad[],
	softLimit: number,
): RouterChoice | undefined {
	const byIndex = new Map(workers.map((load) => [load.index, load]));
	const withRoom = roomRouters
		.filter((router) => {
			const worker = byIndex.get(router.workerIndex);
			return worker?.alive && router.consumers < softLimit && estimatedLoad(worker) < MAX_WORKER_LOAD_PERCENT;
		})
		.sort((a, b) => compareLoad(byIndex.get(a.workerIndex)!, byIndex.get(b.workerIndex)!));
	if (withRoom[0]) return { kind: 'existing', workerIndex: withRoom[0].workerIndex };

	const worker = leastLoadedWorker(workers);
	if (!worker) return undefined;
	const hasRouter = roomRouters.some((router) => router.workerIndex === worker.index);
	return { kind: hasRouter ? 'existing' : 'new', workerIndex: worker.index };
}

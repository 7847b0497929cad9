/**
 * The routers of one room: the first on the least-loaded worker, and more on
 * other workers once the room outgrows one (a stream with many viewers).
 * Producers reach the routers of their consumers through pipeToRouter, once
 * per producer and router.
 */
import type { types as ms } from 'mediasoup';
import type { Logger } from '../log.js';
import { mediaCodecs } from '../media/codecs.js';
import { chooseRouterForPeer } from '../media/placement.js';
import type { WorkerPool } from '../media/WorkerPool.js';

/** How long a peer or a lost primary router waits for a worker to be replaced. */
const WORKER_WAIT_MS = 10_000;

export type RoomRouter = {
	readonly router: ms.Router;
	readonly workerIndex: number;
	readonly workerPid: number;
	readonly webRtcServer: ms.WebRtcServer;
};

export class RoomRouters {
	readonly #pool: WorkerPool;
	readonly #logger: Logger;
	readonly #softLimit: number;
	readonly #byWorker = new Map<number, RoomRouter>();
	/** Routers being created, so two peers arriving together do not create two on one worker. */
	readonly #creating = new Map<number, Promise<RoomRouter>>();
	/** `${producerId}/${routerId}` → pipe in progress or done. */
	readonly #pipes = new Map<string, Promise<void>>();
	readonly #onRouterLost: (lost: RoomRouter) => void;
	#primary: RoomRouter | undefined;
	/** Every router of the room has the same codecs, so the same capabilities: kept across the loss of any. */
	#rtpCapabilities: ms.RtpCapabilities | undefined;
	#closed = false;

	private constructor(pool: WorkerPool, logger: Logger, softLimit: number, onRouterLost: (lost: RoomRouter) => void) {
		this.#pool = pool;
		this.#logger = logger;
		this.#softLimit = softLimit;
		this.#onRouterLost = onRouterLost;
	}

	static async create(pool: WorkerPool, logger: Logger, softLimit: number, onRouterLost: (lost: RoomRouter) => void): Promise<RoomRouters> {
		const routers = new RoomRouters(pool, logger, softLimit, onRouterLost);
		routers.#primary = await routers.#createOn(pool.pickWorker().index);
		routers.#rtpCapabilities = routers.#primary.router.rtpCapabilities;
		return routers;
	}

	/** The first router: RTP observers (speaker detection) live here. */
	get primary(): RoomRouter {
		if (!this.#primary) throw new Error('room has no router');
		return this.#primary;
	}

	isPrimary(router: RoomRouter): boolean {
		return router === this.#primary;
	}

	/**
	 * After the primary router was lost with its worker: another router of
	 * the room becomes primary, or a new one is created once a worker runs
	 * (the pool replaces a dead one within a second or so).
	 */
	async restorePrimary(): Promise<RoomRouter> {
		if (this.#primary && this.#byWorker.get(this.#primary.workerIndex) === this.#primary) return this.#primary;
		this.#primary = undefined;
		const survivor = this.all[0];
		if (survivor) return (this.#primary = survivor);
		const worker = await this.#liveWorker();
		return (this.#primary ??= this.#byWorker.get(worker) ?? (await this.#createOn(worker)));
	}

	get all(): RoomRouter[] {
		return [...this.#byWorker.values()];
	}

	get rtpCapabilities(): ms.RtpCapabilities {
		if (!this.#rtpCapabilities) throw new Error('room has no router');
		return this.#rtpCapabilities;
	}

	/** Picks (or creates) the router a new peer's transports go on. */
	async forNewPeer(): Promise<RoomRouter> {
		const choose = () =>
			chooseRouterForPeer(
				this.all.map((room) => ({ workerIndex: room.workerIndex, consumers: this.#pool.routerConsumers(room.router) })),
				this.#pool.loads(),
				this.#softLimit,
			);
		// Right after a worker died, its replacement may not run yet: wait for it rather than fail the peer.
		let choice = choose();
		if (!choice) {
			await this.#liveWorker();
			choice = choose();
		}
		if (!choice) throw new Error('no mediasoup worker is running');
		const existing = this.#byWorker.get(choice.workerIndex);
		if (existing) return existing;
		return this.#createOn(choice.workerIndex);
	}

	/** Makes a producer available on `target` (no-op when it already lives there). */
	async ensureProducer(producerId: string, source: RoomRouter, target: RoomRouter): Promise<void> {
		if (source.router === target.router) return;
		await this.#pipeOnce(producerId, target, () => source.router.pipeToRouter({ producerId, router: target.router }));
	}

	async ensureDataProducer(dataProducerId: string, source: RoomRouter, target: RoomRouter): Promise<void> {
		if (source.router === target.router) return;
		await this.#pipeOnce(dataProducerId, target, () => source.router.pipeToRouter({ dataProducerId, router: target.router }));
	}

	/** Forgets pipes of a closed producer, so its id is never reused stale. */
	forgetProducer(producerId: string): void {
		for (const key of this.#pipes.keys()) if (key.startsWith(`${producerId}/`)) this.#pipes.delete(key);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const { router } of this.#byWorker.values()) router.close();
		this.#byWorker.clear();
	}

	/** The index of a live worker, waiting up to WORKER_WAIT_MS for one to be (re)started. */
	async #liveWorker(): Promise<number> {
		const live = () => this.#pool.loads().find((load) => load.alive)?.index;
		const now = live();
		if (now !== undefined) return now;
		return new Promise<number>((resolve, reject) => {
			const ready = () => {
				const index = live();
				if (index === undefined) return;
				clearTimeout(timer);
				this.#pool.off('workerready', ready);
				resolve(index);
			};
			const timer = setTimeout(() => {
				this.#pool.off('workerready', ready);
				reject(new Error(`no mediasoup worker is running (none came back within ${WORKER_WAIT_MS} ms)`));
			}, WORKER_WAIT_MS);
			timer.unref();
			this.#pool.on('workerready', ready);
		});
	}

	async #pipeOnce(id: string, target: RoomRouter, pipe: () => Promise<unknown>): Promise<void> {
		const key = `${id}/${target.router.id}`;
		let pending = this.#pipes.get(key);
		if (!pending) {
			pending = pipe().then(() => undefined);
			this.#pipes.set(key, pending);
			pending.catch(() => this.#pipes.delete(key));
		}
		await pending;
	}

	async #createOn(workerIndex: number): Promise<RoomRouter> {
		const inFlight = this.#creating.get(workerIndex);
		if (inFlight) return inFlight;
		const creation = (async () => {
			const worker = this.#pool.worker(workerIndex);
			if (!worker) throw new Error(`mediasoup worker ${workerIndex} is not running`);
			const router = await worker.worker.createRouter({ mediaCodecs });
			const roomRouter: RoomRouter = { router, workerIndex, workerPid: worker.pid, webRtcServer: worker.webRtcServer };
			if (this.#closed) {
				router.close();
				throw new Error('room closed');
			}
			this.#byWorker.set(workerIndex, roomRouter);
			router.on('workerclose', () => {
				this.#byWorker.delete(workerIndex);
				for (const key of this.#pipes.keys()) if (key.endsWith(`/${router.id}`)) this.#pipes.delete(key);
				this.#onRouterLost(roomRouter);
			});
			this.#logger.info({ event: 'router-created', routerId: router.id, workerIndex, workerPid: worker.pid, routers: this.#byWorker.size }, 'router created');
			return roomRouter;
		})();
		this.#creating.set(workerIndex, creation);
		try {
			return await creation;
		} finally {
			this.#creating.delete(workerIndex);
		}
	}
}

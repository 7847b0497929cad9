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
		return routers;
	}

	/** The first router: RTP observers (speaker detection) live here. */
	get primary(): RoomRouter {
		if (!this.#primary) throw new Error('room has no router');
		return this.#primary;
	}

	get all(): RoomRouter[] {
		return [...this.#byWorker.values()];
	}

	get rtpCapabilities(): ms.RtpCapabilities {
		return this.primary.router.rtpCapabilities;
	}

	/** Picks (or creates) the router a new peer's transports go on. */
	async forNewPeer(): Promise<RoomRouter> {
		const choice = chooseRouterForPeer(
			this.all.map((room) => ({ workerIndex: room.workerIndex, consumers: this.#pool.routerConsumers(room.router) })),
			this.#pool.loads(),
			this.#softLimit,
		);
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

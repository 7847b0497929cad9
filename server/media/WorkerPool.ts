/**
 * N mediasoup workers (one per core by default), each with one WebRtcServer
 * (one UDP and one TCP port for all its WebRTC transports). The pool measures
 * each worker's load (consumers, CPU) for placement, and replaces a worker
 * that dies: the process keeps running, and the rooms that lost a router are
 * told through the `workerdied` event.
 */
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { resolveAnnouncedAddress } from './network.js';
import { leastLoadedWorker, type WorkerLoad } from './placement.js';

export type MediaWorker = {
	readonly index: number;
	readonly worker: ms.Worker;
	readonly webRtcServer: ms.WebRtcServer;
	readonly pid: number;
	alive: boolean;
	consumers: number;
	routers: number;
	cpuPercent: number;
	/** ru_utime + ru_stime at the last sample, in ms. */
	cpuTimeMs: number;
	sampledAt: number;
	/** When the load sample now awaiting the worker's answer was asked for. */
	samplePendingSince: number | undefined;
};

/** A worker that takes longer than this to answer a load sample is treated as saturated. */
const STALL_MS = 1000;

type PoolEvents = {
	/** A worker died; its routers (and everything on them) are gone. */
	workerdied: [index: number, pid: number];
	/** A worker (first start or replacement) is ready. */
	workerready: [MediaWorker];
	/** Replacing a dead worker failed; the pool retries with a growing delay. */
	workerreplacefailed: [index: number, attempt: number, error: Error];
};

export class WorkerPool extends EventEmitter<PoolEvents> {
	readonly #config: Config['mediasoup'];
	readonly #logger: Logger;
	readonly #slots: (MediaWorker | undefined)[];
	readonly #routerConsumers = new WeakMap<ms.Router, { count: number }>();
	readonly #announcedIp: string | undefined;
	#sampler: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(config: Config['mediasoup'], logger: Logger) {
		super();
		this.#config = config;
		this.#logger = logger.child({ module: 'WorkerPool' });
		this.#slots = new Array<MediaWorker | undefined>(config.numWorkers).fill(undefined);
		this.#announcedIp = resolveAnnouncedAddress(config.listenIp, config.announcedAddress, this.#logger).address;
	}

	static async start(config: Config['mediasoup'], logger: Logger): Promise<WorkerPool> {
		const pool = new WorkerPool(config, logger);
		try {
			for (let index = 0; index < config.numWorkers; index++) await pool.#startWorker(index);
		} catch (error) {
			pool.close();
			throw error;
		}
		pool.#sampler = setInterval(() => void pool.#sampleCpu(), config.loadSampleIntervalMs);
		pool.#sampler.unref();
		return pool;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get size(): number {
		return this.#slots.length;
	}

	/** Workers that are running now. */
	get workers(): MediaWorker[] {
		return this.#slots.filter((slot): slot is MediaWorker => slot !== undefined && WorkerPool.#running(slot));
	}

	/**
	 * A dying worker closes (and its routers emit 'workerclose') before it
	 * emits 'died': whoever reacts to a lost router must not pick it again.
	 */
	static #running(slot: MediaWorker): boolean {
		return slot.alive && !slot.worker.closed;
	}

	get plainTransportListenIp(): ms.TransportListenIp {
		const { plainTransportListenIp: ip, plainTransportAnnouncedAddress: announced } = this.#config;
		return announced ? { ip, announcedIp: announced } : { ip };
	}

	get rtpPorts(): { min: number; max: number } {
		return { min: this.#config.rtcMinPort, max: this.#config.rtcMaxPort };
	}

	worker(index: number): MediaWorker | undefined {
		const slot = this.#slots[index];
		return slot && WorkerPool.#running(slot) ? slot : undefined;
	}

	loads(): WorkerLoad[] {
		return this.#slots.map((slot, index) => ({
			index,
			alive: slot !== undefined && WorkerPool.#running(slot),
			consumers: slot?.consumers ?? 0,
			routers: slot?.routers ?? 0,
			cpuPercent: slot?.cpuPercent ?? 0,
			stalled: slot?.samplePendingSince !== undefined && Date.now() - slot.samplePendingSince > STALL_MS,
		}));
	}

	/** Consumers on one router (maintained from mediasoup's observer events). */
	routerConsumers(router: ms.Router): number {
		return this.#routerConsumers.get(router)?.count ?? 0;
	}

	/** The least-loaded live worker; throws when none is alive (all died and not yet replaced). */
	pickWorker(): MediaWorker {
		const choice = leastLoadedWorker(this.loads());
		const worker = choice && this.worker(choice.index);
		if (!worker) throw new Error('no mediasoup worker is running');
		return worker;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#sampler);
		for (const slot of this.#slots) slot?.worker.close();
		this.removeAllListeners();
	}

	async #startWorker(index: number): Promise<MediaWorker> {
		const worker = await mediasoup.createWorker({
			logLevel: this.#config.workerLogLevel,
			rtcMinPort: this.#config.rtcMinPort,
			rtcMaxPort: this.#config.rtcMaxPort,
			appData: { index },
		});
		const logger = this.#logger.child({ workerIndex: index, workerPid: worker.pid });
		let webRtcServer: ms.WebRtcServer;
		try {
			const port = this.#config.webRtcServerPort === 0 ? undefined : this.#config.webRtcServerPort + index;
			const listen = { ip: this.#config.listenIp, announcedIp: this.#announcedIp, port };
			webRtcServer = await worker.createWebRtcServer({
				listenInfos: [
					{ protocol: 'udp', ...listen },
					{ protocol: 'tcp', ...listen },
				],
			});
		} catch (error) {
			worker.close();
			throw new Error(`worker ${index} cannot listen on ${this.#config.listenIp} port ${this.#config.webRtcServerPort + index} (mediasoup.webRtcServerPort): ${(error as Error).message}`);
		}
		const usage = await worker.getResourceUsage();
		const slot: MediaWorker = {
			index,
			worker,
			webRtcServer,
			pid: worker.pid,
			alive: true,
			consumers: 0,
			routers: 0,
			cpuPercent: 0,
			cpuTimeMs: usage.ru_utime + usage.ru_stime,
			sampledAt: Date.now(),
			samplePendingSince: undefined,
		};
		this.#trackConsumers(slot);
		worker.on('died', (error) => this.#onWorkerDied(slot, error));
		this.#slots[index] = slot;
		logger.info({ event: 'worker-started', webRtcServer: webRtcServer.id }, 'mediasoup worker started');
		this.emit('workerready', slot);
		return slot;
	}

	#trackConsumers(slot: MediaWorker): void {
		slot.worker.observer.on('newrouter', (router) => {
			const counter = { count: 0 };
			this.#routerConsumers.set(router, counter);
			slot.routers++;
			router.observer.once('close', () => slot.routers--);
			router.observer.on('newtransport', (transport) => {
				transport.observer.on('newconsumer', (consumer) => {
					counter.count++;
					slot.consumers++;
					consumer.observer.once('close', () => {
						counter.count--;
						slot.consumers--;
					});
				});
			});
		});
	}

	async #sampleCpu(): Promise<void> {
		await Promise.all(
			this.workers.map(async (slot) => {
				// A saturated worker answers late; one sample at a time, and `loads()` reports it stalled meanwhile.
				if (slot.samplePendingSince !== undefined) return;
				slot.samplePendingSince = Date.now();
				try {
					const usage = await slot.worker.getResourceUsage();
					const now = Date.now();
					const cpuTimeMs = usage.ru_utime + usage.ru_stime;
					const elapsed = now - slot.sampledAt;
					if (elapsed > 0) slot.cpuPercent = Math.max(0, ((cpuTimeMs - slot.cpuTimeMs) / elapsed) * 100);
					slot.cpuTimeMs = cpuTimeMs;
					slot.sampledAt = now;
				} catch {
					// The worker is closing or died: its 'died' handler deals with it.
				} finally {
					slot.samplePendingSince = undefined;
				}
			}),
		);
	}

	#onWorkerDied(slot: MediaWorker, error: Error): void {
		slot.alive = false;
		slot.consumers = 0;
		slot.routers = 0;
		this.#logger.error({ event: 'worker-died', workerIndex: slot.index, workerPid: slot.pid, err: error }, 'mediasoup worker died; replacing it');
		this.emit('workerdied', slot.index, slot.pid);
		void this.#replace(slot.index, 1);
	}

	async #replace(index: number, attempt: number): Promise<void> {
		if (this.#closed) return;
		try {
			const slot = await this.#startWorker(index);
			if (this.#closed) slot.worker.close();
			else this.#logger.info({ event: 'worker-replaced', workerIndex: index, workerPid: slot.pid, attempt }, 'mediasoup worker replaced');
		} catch (error) {
			const delayMs = Math.min(10_000, 500 * 2 ** attempt);
			this.#logger.error({ event: 'worker-replace-failed', workerIndex: index, attempt, delayMs, err: error }, 'could not replace mediasoup worker; retrying');
			this.emit('workerreplacefailed', index, attempt, error as Error);
			setTimeout(() => void this.#replace(index, attempt + 1), delayMs).unref();
		}
	}
}

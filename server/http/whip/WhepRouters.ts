/**
 * Routers for WHEP players. A WHEP player makes the offer, so the payload
 * types are its own, and a mediasoup consumer always sends with its
 * router's payload types. A router created with the offer's payload types
 * (as `preferredPayloadType`), with the stage's producers piped into it,
 * gives consumers that speak the player's numbering. Players that offer
 * the same numbering (every Chromium does) share one such router per room,
 * codec and worker.
 *
 * mediasoup 3.12's pipeToRouter keeps the producer's id, which clashes
 * inside one worker; the pipe here gives the piped producer an id of its
 * own, so a WHEP router can sit on the worker of the stage it plays.
 */
import type { types as ms } from 'mediasoup';
import type { MediaWorker } from '../../media/WorkerPool.js';
import type { Room } from '../../rooms/Room.js';
import type { OfferSection } from './sdp.js';

type Entry = {
	router: ms.Router;
	/** Original producer id → the piped producer's id in this router. */
	piped: Map<string, Promise<string>>;
	/** Source router id → the pipe transports between it and this router. */
	pipes: Map<string, Promise<{ local: ms.PipeTransport; remote: ms.PipeTransport }>>;
};

/** The offer's payload type for the codec `producer` sends, if the section offers it. */
export function offeredPayloadType(section: OfferSection, codec: ms.RtpCodecParameters): number | undefined {
	const [, name] = codec.mimeType.split('/') as [string, string];
	const fmtp = (payload: number) => Object.fromEntries((section.media.fmtp?.find((f) => f.payload === payload)?.config ?? '').split(';').map((pair) => pair.trim().split('=') as [string, string]).filter(([key]) => key));
	for (const rtp of section.media.rtp) {
		if (rtp.codec.toLowerCase() !== name.toLowerCase() || (rtp.rate ?? 0) !== codec.clockRate) continue;
		if (name.toLowerCase() !== 'h264') return rtp.payload;
		const params = fmtp(rtp.payload);
		const wanted = codec.parameters ?? {};
		const profile = (value: unknown) => String(value ?? '42e01f').slice(0, 4).toLowerCase();
		if (String(params['packetization-mode'] ?? '0') === String(wanted['packetization-mode'] ?? '0') && profile(params['profile-level-id']) === profile(wanted['profile-level-id'])) return rtp.payload;
	}
	return undefined;
}

export class WhepRouters {
	readonly #entries = new Map<string, Promise<Entry>>();
	readonly #watched = new WeakSet<Room>();

	/** A router on `worker` for `room` whose codecs carry exactly these payload types. */
	async routerFor(room: Room, worker: MediaWorker, mediaCodecs: ms.RtpCodecCapability[]): Promise<ms.Router> {
		return (await this.#entry(room, worker, mediaCodecs)).router;
	}

	/** Pipes a producer of `source` into the WHEP router once; returns the id to consume there. */
	async pipe(room: Room, worker: MediaWorker, mediaCodecs: ms.RtpCodecCapability[], producerId: string, source: ms.Router): Promise<string> {
		const entry = await this.#entry(room, worker, mediaCodecs);
		let piping = entry.piped.get(producerId);
		if (!piping) {
			piping = this.#pipeProducer(entry, producerId, source);
			entry.piped.set(producerId, piping);
			piping.catch(() => entry.piped.delete(producerId));
		}
		return piping;
	}

	async #pipeProducer(entry: Entry, producerId: string, source: ms.Router): Promise<string> {
		let pair = entry.pipes.get(source.id);
		if (!pair) {
			pair = (async () => {
				const [local, remote] = await Promise.all([source.createPipeTransport({ listenIp: '127.0.0.1' }), entry.router.createPipeTransport({ listenIp: '127.0.0.1' })]);
				await Promise.all([local.connect({ ip: remote.tuple.localIp, port: remote.tuple.localPort }), remote.connect({ ip: local.tuple.localIp, port: local.tuple.localPort })]);
				local.observer.once('close', () => remote.close());
				remote.observer.once('close', () => local.close());
				return { local, remote };
			})();
			entry.pipes.set(source.id, pair);
			pair.catch(() => entry.pipes.delete(source.id));
		}
		const { local, remote } = await pair;
		const pipeConsumer = await local.consume({ producerId });
		let pipeProducer: ms.Producer;
		try {
			pipeProducer = await remote.produce({ kind: pipeConsumer.kind, rtpParameters: pipeConsumer.rtpParameters, paused: pipeConsumer.producerPaused });
		} catch (error) {
			pipeConsumer.close();
			throw error;
		}
		pipeConsumer.observer.once('close', () => pipeProducer.close());
		pipeConsumer.observer.on('pause', () => void pipeProducer.pause().catch(() => {}));
		pipeConsumer.observer.on('resume', () => void pipeProducer.resume().catch(() => {}));
		pipeProducer.observer.once('close', () => {
			pipeConsumer.close();
			entry.piped.delete(producerId);
		});
		return pipeProducer.id;
	}

	#entry(room: Room, worker: MediaWorker, mediaCodecs: ms.RtpCodecCapability[]): Promise<Entry> {
		const key = `${room.id}|${worker.index}|${JSON.stringify(mediaCodecs)}`;
		let entry = this.#entries.get(key);
		if (!entry) {
			// A copy: mediasoup normalises the codecs it is given in place, which would change the key.
			entry = worker.worker.createRouter({ mediaCodecs: structuredClone(mediaCodecs) }).then((router) => {
				router.observer.once('close', () => this.#entries.delete(key));
				return { router, piped: new Map(), pipes: new Map() };
			});
			this.#entries.set(key, entry);
			entry.catch(() => this.#entries.delete(key));
			if (!this.#watched.has(room)) {
				this.#watched.add(room);
				room.once('close', () => {
					for (const [candidate, pending] of this.#entries) {
						if (!candidate.startsWith(`${room.id}|`)) continue;
						this.#entries.delete(candidate);
						pending.then(({ router }) => router.close(), () => {});
					}
				});
			}
		}
		return entry;
	}
}

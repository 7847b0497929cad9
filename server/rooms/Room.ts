/**
 * A conference or a stream: its peers, its routers, and the fan-out that
 * gives every joined peer a consumer for every other peer's producer.
 *
 * Request handling (validation, ownership) lives in signalling/ and http/;
 * placement policy in media/placement.ts; each consumer's lifecycle in
 * ConsumerOffers. This class keeps membership, producers and their fan-out,
 * and the room's own lifecycle (empty grace period, lost workers).
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import protoo, { type WebSocketTransport } from 'protoo-server';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { conflict, limitReached } from '../signalling/errors.js';
import type { NotificationMethod, NotificationsFromServer, PeerId, PeerInfo, RoomId, RoomSummary } from '../signalling/protocol.js';
import { ConsumerOffers } from './ConsumerOffers.js';
import { Peer, type OwnerLookup, type PeerTransport, type ProducerAppData } from './Peer.js';
import { RoomRouters, type RoomRouter } from './RoomRouters.js';
import { SpeakerDetection } from './speakers.js';

type RoomEvents = { close: [] };

export type CloseReason = NotificationsFromServer['reconnectRequired']['reason'];

export class Room extends EventEmitter<RoomEvents> {
	readonly id: RoomId;
	readonly createdAt = new Date();
	readonly logger: Logger;
	readonly peers = new Map<PeerId, Peer>();

	readonly #config: Config;
	readonly #protoo = new protoo.Room();
	readonly #routers: RoomRouters;
	readonly #offers: ConsumerOffers;
	readonly #choosingRouter = new WeakMap<Peer, Promise<RoomRouter>>();
	#speakers: SpeakerDetection | undefined;
	#emptyTimer: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(id: RoomId, routers: RoomRouters, config: Config, logger: Logger) {
		super();
		this.id = id;
		this.#routers = routers;
		this.#offers = new ConsumerOffers(routers);
		this.#config = config;
		this.logger = logger;
	}

	static async create({ id, pool, config, logger }: { id: RoomId; pool: WorkerPool; config: Config; logger: Logger }): Promise<Room> {
		const roomLogger = logger.child({ roomId: id });
		// The routers report a lost router to the room, which exists only once they do.
		let onRouterLost = (_lost: RoomRouter): void => {};
		const routers = await RoomRouters.create(pool, roomLogger, config.mediasoup.routerConsumerSoftLimit, (lost) => onRouterLost(lost));
		const room = new Room(id, routers, config, roomLogger);
		onRouterLost = (lost) => room.#onRouterLost(lost);
		try {
			room.#speakers = await SpeakerDetection.create(routers.primary.router, {
				onActiveSpeaker: (peerId) => room.#broadcast('activeSpeaker', { peerId }),
				onSpeakingPeers: (peerVolumes) => room.#broadcast('speakingPeers', { peerVolumes }),
			});
		} catch (error) {
			routers.close();
			throw error;
		}
		room.logger.info({ event: 'room-created', workerPid: routers.primary.workerPid }, 'room created');
		room.#scheduleCloseIfEmpty();
		return room;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get rtpCapabilities(): ms.RtpCapabilities {
		return this.#routers.rtpCapabilities;
	}

	get routers(): RoomRouter[] {
		return this.#routers.all;
	}

	joinedPeers(): Peer[] {
		return [...this.peers.values()].filter((peer) => peer.joined);
	}

	/** Who owns an id of the given kind, for telling 403 from 404. */
	readonly ownerOf: OwnerLookup = (collection, id) => [...this.peers.values()].find((peer) => peer[collection].has(id));

	/**
	 * A new protoo connection. A peer already connected with this id is
	 * replaced: told so, closed (others see it leave), and the new session
	 * starts clean.
	 */
	connectPeer(peerId: PeerId, transport: WebSocketTransport): Peer {
		this.#assertOpen();
		const previous = this.peers.get(peerId);
		if (previous) {
			previous.logger.info({ event: 'peer-replaced' }, 'session replaced by a new connection with the same peerId');
			previous.notify('sessionReplaced', {});
			this.closePeer(previous);
		}
		const channel = this.#protoo.createPeer(peerId, transport);
		const peer = new Peer({ id: peerId, kind: 'webrtc', channel, logger: this.logger.child({ peerId }) });
		this.peers.set(peerId, peer);
		channel.on('close', () => this.closePeer(peer));
		this.#cancelEmptyTimer();
		peer.logger.info({ event: 'peer-connected', peers: this.peers.size }, 'peer connected');
		return peer;
	}

	/** A broadcaster (HTTP-driven RTP ingest/egress) joins at once. */
	addBroadcaster({ id, displayName, device, rtpCapabilities }: { id: PeerId; displayName: string; device: Peer['device']; rtpCapabilities?: ms.RtpCapabilities }): Peer {
		this.#assertOpen();
		const peer = new Peer({ id, kind: 'broadcaster', logger: this.logger.child({ peerId: id, broadcaster: true }) });
		peer.displayName = displayName;
		peer.device = device;
		peer.rtpCapabilities = rtpCapabilities;
		peer.joined = true;
		this.peers.set(id, peer);
		this.#cancelEmptyTimer();
		for (const other of this.joinedPeers()) if (other !== peer) other.notify('newPeer', peer.info());
		peer.logger.info({ event: 'broadcaster-created' }, 'broadcaster created');
		return peer;
	}

	/** Closes a peer and everything it had; others see `peerClosed`. Idempotent. */
	closePeer(peer: Peer): void {
		peer.close();
		if (this.peers.get(peer.id) !== peer) return;
		this.peers.delete(peer.id);
		if (peer.joined) for (const other of this.joinedPeers()) other.notify('peerClosed', { peerId: peer.id });
		peer.logger.info({ event: 'peer-closed', peers: this.peers.size, seconds: Math.round((Date.now() - peer.connectedAt) / 1000) }, 'peer left');
		this.#scheduleCloseIfEmpty();
	}

	/** The router a peer's transports go on: chosen with its first transport. */
	async routerFor(peer: Peer): Promise<RoomRouter> {
		if (peer.router) return peer.router;
		// One choice per peer, even when two of its transports are requested at once (HTTP clients).
		let choosing = this.#choosingRouter.get(peer);
		if (!choosing) {
			choosing = this.#routers.forNewPeer().then((router) => {
				peer.router = router;
				peer.logger.debug({ workerPid: router.workerPid }, 'router assigned');
				return router;
			});
			this.#choosingRouter.set(peer, choosing);
			choosing.catch(() => this.#choosingRouter.delete(peer));
		}
		return choosing;
	}

	/** Marks a peer joined; returns the others. Consumers for what they produce follow. */
	join(peer: Peer, { displayName, device, rtpCapabilities, sctpCapabilities }: Pick<Peer, 'displayName' | 'device' | 'rtpCapabilities' | 'sctpCapabilities'>): PeerInfo[] {
		peer.displayName = displayName;
		peer.device = device;
		peer.rtpCapabilities = rtpCapabilities;
		peer.sctpCapabilities = sctpCapabilities;
		peer.joined = true;
		const others = this.joinedPeers().filter((other) => other !== peer);
		for (const other of others) other.notify('newPeer', peer.info());
		peer.logger.info({ event: 'peer-joined', displayName, device, joined: others.length + 1 }, 'peer joined');
		// After the join response has gone out: the client learns about peers before their consumers.
		setImmediate(() => this.#consumeExisting(peer));
		return others.map((other) => other.info());
	}

	changeDisplayName(peer: Peer, displayName: string): void {
		const oldDisplayName = peer.displayName;
		peer.displayName = displayName;
		for (const other of this.joinedPeers()) if (other !== peer) other.notify('peerDisplayNameChanged', { peerId: peer.id, displayName, oldDisplayName });
	}

	attachTransport(peer: Peer, transport: PeerTransport): void {
		peer.addTransport(transport);
		if (transport.appData.consuming) this.#consumeExisting(peer);
	}

	/** Creates a producer of `peer` on its transport and gives it to every other joined peer. */
	async produce(peer: Peer, transport: PeerTransport, options: { kind: ms.MediaKind; rtpParameters: ms.RtpParameters; paused?: boolean; appData?: Record<string, unknown> }): Promise<ms.Producer<ProducerAppData>> {
		const { maxProducersPerPeer } = this.#config.rooms;
		if (peer.producers.size >= maxProducersPerPeer) throw limitReached(`at most ${maxProducersPerPeer} producers per peer (rooms.maxProducersPerPeer)`);
		const producer = await transport.produce<ProducerAppData>({
			kind: options.kind,
			rtpParameters: options.rtpParameters,
			paused: options.paused ?? false,
			appData: { ...options.appData, peerId: peer.id },
		});
		peer.addProducer(producer);
		producer.on('score', (score) => peer.notify('producerScore', { producerId: producer.id, score }));
		producer.observer.once('close', () => {
			this.#routers.forgetProducer(producer.id);
			this.#speakers?.remove(producer.id);
		});
		if (producer.kind === 'audio') void this.#detectSpeaker(peer, producer);
		for (const other of this.joinedPeers()) if (other !== peer) void this.#offers.consume(other, peer, producer);
		peer.logger.info({ event: 'producer-created', producerId: producer.id, kind: producer.kind, type: producer.type, appData: options.appData }, 'producer created');
		return producer;
	}

	/** Creates a data producer of `peer` (its transport must have SCTP) and gives it to every other joined peer. */
	async produceData(peer: Peer, transport: PeerTransport, options: { sctpStreamParameters: ms.SctpStreamParameters; label?: string; protocol?: string; appData?: Record<string, unknown> }): Promise<ms.DataProducer<ProducerAppData>> {
		const { maxDataProducersPerPeer } = this.#config.rooms;
		if (peer.dataProducers.size >= maxDataProducersPerPeer) throw limitReached(`at most ${maxDataProducersPerPeer} data producers per peer (rooms.maxDataProducersPerPeer)`);
		if (!transport.sctpParameters) throw conflict(`transport "${transport.id}" has no SCTP: create it with SCTP enabled`);
		const dataProducer = await transport.produceData<ProducerAppData>({
			sctpStreamParameters: options.sctpStreamParameters,
			label: options.label ?? '',
			protocol: options.protocol ?? '',
			appData: { ...options.appData, peerId: peer.id },
		});
		peer.addDataProducer(dataProducer);
		dataProducer.observer.once('close', () => this.#routers.forgetProducer(dataProducer.id));
		for (const other of this.joinedPeers()) if (other !== peer) void this.#offers.consumeData(other, peer, dataProducer);
		return dataProducer;
	}

	/** Makes another peer's producer available on `peer`'s router (for broadcaster consumers). */
	async bringProducerTo(peer: Peer, producerId: string): Promise<void> {
		const owner = this.ownerOf('producers', producerId);
		if (owner?.router && peer.router) await this.#routers.ensureProducer(producerId, owner.router, peer.router);
	}

	async bringDataProducerTo(peer: Peer, dataProducerId: string): Promise<void> {
		const owner = this.ownerOf('dataProducers', dataProducerId);
		if (owner?.router && peer.router) await this.#routers.ensureDataProducer(dataProducerId, owner.router, peer.router);
	}

	summary(): RoomSummary {
		const peers = [...this.peers.values()];
		const count = (pick: (peer: Peer) => number) => peers.reduce((sum, peer) => sum + pick(peer), 0);
		return {
			id: this.id,
			createdAt: this.createdAt.toISOString(),
			peers: peers.filter((peer) => peer.kind === 'webrtc').length,
			broadcasters: peers.filter((peer) => peer.kind === 'broadcaster').length,
			producers: count((peer) => peer.producers.size),
			consumers: count((peer) => peer.consumers.size),
			workerPids: this.#routers.all.map((router) => router.workerPid),
		};
	}

	/** Closes the room; with a reason, peers are first told to reconnect. */
	close(reason?: CloseReason): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#cancelEmptyTimer();
		for (const peer of [...this.peers.values()]) {
			if (reason) peer.notify('reconnectRequired', { reason });
			peer.close();
		}
		this.peers.clear();
		this.#routers.close();
		this.#protoo.close();
		this.logger.info({ event: 'room-closed', reason: reason ?? 'empty' }, 'room closed');
		this.emit('close');
	}

	#assertOpen(): void {
		if (this.#closed) throw new Error(`room ${this.id} is closed`);
	}

	#broadcast<M extends NotificationMethod>(method: M, data: NotificationsFromServer[M]): void {
		for (const peer of this.joinedPeers()) peer.notify(method, data);
	}

	#scheduleCloseIfEmpty(): void {
		if (this.#closed || this.peers.size > 0 || this.#emptyTimer) return;
		this.#emptyTimer = setTimeout(() => {
			this.#emptyTimer = undefined;
			if (this.peers.size === 0) this.close();
		}, this.#config.rooms.emptyRoomGraceMs);
		this.#emptyTimer.unref();
	}

	#cancelEmptyTimer(): void {
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = undefined;
	}

	/** A worker died with one of our routers: its peers lost their media and must reconnect. */
	#onRouterLost(lost: RoomRouter): void {
		if (this.#closed) return;
		this.logger.warn({ event: 'router-lost', workerPid: lost.workerPid }, 'router lost with its worker');
		if (lost === this.#routers.primary || this.#routers.all.length === 0) {
			this.close('worker-died');
			return;
		}
		for (const peer of [...this.peers.values()]) {
			if (peer.router !== lost) continue;
			peer.notify('reconnectRequired', { reason: 'worker-died' });
			this.closePeer(peer);
		}
	}

	async #detectSpeaker(peer: Peer, producer: ms.Producer): Promise<void> {
		try {
			const primary = this.#routers.primary;
			if (peer.router) await this.#routers.ensureProducer(producer.id, peer.router, primary);
			if (!producer.closed) await this.#speakers?.add(producer.id, peer.id);
		} catch (error) {
			if (!producer.closed) peer.logger.warn({ err: error, producerId: producer.id }, 'cannot add producer to speaker detection');
		}
	}

	/** Gives a peer that just became able to consume everything the others already produce. */
	#consumeExisting(peer: Peer): void {
		if (peer.kind !== 'webrtc' || !peer.joined || peer.closed || !peer.consumingTransport()) return;
		for (const other of this.joinedPeers()) {
			if (other === peer) continue;
			for (const producer of other.producers.values()) void this.#offers.consume(peer, other, producer);
			for (const dataProducer of other.dataProducers.values()) void this.#offers.consumeData(peer, other, dataProducer);
		}
	}
}

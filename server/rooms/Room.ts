/**
 * A conference or a stream: its peers, its routers, and the fan-out that
 * gives every joined peer a consumer for every other peer's producer.
 *
 * Request handling (validation, ownership) lives in signalling/ and http/;
 * placement policy in media/placement.ts; each consumer's lifecycle in
 * ConsumerOffers. This class keeps membership, producers and their fan-out,
 * and the room's own lifecycle (empty grace period, lost workers).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import protoo, { type WebSocketTransport } from 'protoo-server';
import { Access, publishPermissions } from '../auth/roles.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { conflict, limitReached, notFound } from '../signalling/errors.js';
import type { JoinResponse, NotificationMethod, NotificationsFromServer, PeerId, PeerInfo, ResumeResponse, RoomId, RoomSummary } from '../signalling/protocol.js';
import { Audience } from './Audience.js';
import { inBatches, settleInBatches } from './fanOut.js';
import { ConsumerOffers } from './ConsumerOffers.js';
import { Moderation } from './Moderation.js';
import { Peer, type OwnerLookup, type PeerTransport, type ProducerAppData } from './Peer.js';
import { RoomRouters, type RoomRouter } from './RoomRouters.js';
import { SpeakerDetection } from './speakers.js';

type RoomEvents = { close: [] };

/** How long `produceData` waits for the members to accept their data consumers before it answers anyway. */
const DATA_OFFER_WAIT_MS = 2000;

export type CloseReason = NotificationsFromServer['reconnectRequired']['reason'];

export class Room extends EventEmitter<RoomEvents> {
	readonly id: RoomId;
	readonly createdAt = new Date();
	readonly logger: Logger;
	readonly peers = new Map<PeerId, Peer>();
	/** Lock, lobby and removed identities; the hosts' actions. */
	readonly moderation: Moderation;
	/** The joined peers that may not publish: counted, not announced. */
	readonly audience: Audience;

	readonly #config: Config;
	readonly #protoo = new protoo.Room();
	readonly #routers: RoomRouters;
	readonly #offers: ConsumerOffers;
	readonly #choosingRouter = new WeakMap<Peer, Promise<RoomRouter>>();
	/** Sessions whose connection dropped: closed when their grace window ends. */
	readonly #graceTimers = new Map<Peer, NodeJS.Timeout>();
	/** Peers whose new connection took their session over and whose `resume` request is awaited. */
	readonly #resuming = new WeakSet<Peer>();
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
		this.moderation = new Moderation(this, config.limits.lobbyWaitMs);
		this.audience = new Audience(this);
	}

	static async create({ id, pool, config, logger }: { id: RoomId; pool: WorkerPool; config: Config; logger: Logger }): Promise<Room> {
		const roomLogger = logger.child({ roomId: id });
		// The routers report a lost router to the room, which exists only once they do.
		let onRouterLost = (_lost: RoomRouter): void => {};
		const routers = await RoomRouters.create(pool, roomLogger, config.mediasoup.routerConsumerSoftLimit, (lost) => onRouterLost(lost));
		const room = new Room(id, routers, config, roomLogger);
		onRouterLost = (lost) => room.#onRouterLost(lost);
		try {
			await room.#startSpeakerDetection(routers.primary);
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
	 * A new protoo connection, its identity already proven (or open mode). A
	 * peer already connected with this id is the same person reconnecting: it
	 * is replaced (told so, closed, others see it leave) and the new session
	 * starts clean.
	 */
	connectPeer(peerId: PeerId, transport: WebSocketTransport, { access, credentialExpiresAt, assignedName }: { access: Access; credentialExpiresAt?: number; assignedName?: string }): Peer {
		this.#assertOpen();
		const previous = this.peers.get(peerId);
		if (previous) {
			previous.logger.info({ event: 'peer-replaced' }, 'session replaced by a new connection with the same peerId');
			previous.notify('sessionReplaced', {});
			this.closePeer(previous);
		}
		const channel = this.#protoo.createPeer(peerId, transport);
		const resumeToken = this.#config.rooms.resumeGraceMs > 0 ? randomBytes(24).toString('base64url') : undefined;
		const peer = new Peer({ id: peerId, kind: 'webrtc', channel, logger: this.logger.child({ peerId }), access, credentialExpiresAt, assignedName, resumeToken });
		this.peers.set(peerId, peer);
		channel.on('close', () => this.#connectionLost(peer, channel));
		this.#cancelEmptyTimer();
		peer.logger.info({ event: 'peer-connected', peers: this.peers.size, role: access.role }, 'peer connected');
		return peer;
	}

	/** Whether this room holds a session of `peerId` whose resume token is `token`. */
	canResume(peerId: PeerId, token: string): boolean {
		const peer = this.peers.get(peerId);
		if (this.#closed || !peer || peer.kind !== 'webrtc' || peer.closed || !peer.joined || !peer.resumeToken) return false;
		const expected = Buffer.from(peer.resumeToken);
		const given = Buffer.from(token);
		return expected.length === given.length && timingSafeEqual(expected, given);
	}

	/**
	 * A connection of a peer whose session this room still holds, showing its
	 * resume token: it takes the session over (a connection that dropped, or
	 * one the server has not yet noticed is dead). The client's first request
	 * is then `resume`. Check `canResume` first.
	 */
	resumeSession(peerId: PeerId, token: string, transport: WebSocketTransport): Peer {
		this.#assertOpen();
		const peer = this.peers.get(peerId);
		if (!peer || !this.canResume(peerId, token)) throw new Error(`no session of ${peerId} to resume`);
		clearTimeout(this.#graceTimers.get(peer));
		this.#graceTimers.delete(peer);
		const away = peer.disconnectedAt === undefined ? 0 : Date.now() - peer.disconnectedAt;
		const old = peer.detachChannel();
		// Its close handler sees that the peer moved on and does nothing.
		if (old && !old.closed) old.close();
		const channel = this.#protoo.createPeer(peerId, transport);
		peer.attachChannel(channel);
		channel.on('close', () => this.#connectionLost(peer, channel));
		this.#resuming.add(peer);
		peer.logger.info({ event: 'session-taken-over', awayMs: away, oldConnectionOpen: old !== undefined && !old.closed }, 'a new connection took the session over');
		return peer;
	}

	/**
	 * The `resume` request of a connection that took a session over: the room
	 * as `join` tells it, and what the server still holds. The others see the
	 * peer back; consumers of producers that appeared meanwhile follow.
	 */
	resume(peer: Peer): ResumeResponse {
		if (!this.#resuming.has(peer)) throw notFound('no session to resume on this connection (its grace window ended, or the server restarted): join afresh');
		this.#resuming.delete(peer);
		if (Room.#visible(peer)) for (const other of this.joinedPeers()) if (other !== peer) other.notify('peerReconnecting', { peerId: peer.id, reconnecting: false });
		peer.logger.info({ event: 'session-resumed', transports: peer.transports.size, producers: peer.producers.size, consumers: peer.consumers.size }, 'session resumed');
		setImmediate(() => {
			if (peer.closed) return;
			this.#consumeExisting(peer);
			if (peer.access.can('moderate')) this.moderation.tellLobby(peer);
			this.audience.tellHands(peer, { always: true });
		});
		return {
			...this.#membership(peer, false),
			transports: [...peer.transports.values()].map((transport) => ({
				id: transport.id,
				direction: transport.appData.producing ? 'send' : 'recv',
				iceState: 'iceState' in transport ? transport.iceState : 'completed',
				dtlsState: 'dtlsState' in transport ? transport.dtlsState : 'connected',
			})),
			producers: [...peer.producers.values()].map((producer) => ({
				id: producer.id,
				kind: producer.kind,
				paused: producer.paused,
				...(typeof producer.appData.source === 'string' ? { source: producer.appData.source } : {}),
			})),
			consumers: [...peer.consumers.values()].map((consumer) => ({ id: consumer.id, producerId: consumer.producerId, paused: consumer.paused, producerPaused: consumer.producerPaused })),
			dataProducers: [...peer.dataProducers.values()].map((dataProducer) => ({ id: dataProducer.id, label: dataProducer.label })),
			dataConsumers: [...peer.dataConsumers.values()].map((dataConsumer) => ({ id: dataConsumer.id, dataProducerId: dataConsumer.dataProducerId })),
		};
	}

	/** The peer says it leaves for good: closed at once, no grace window. */
	leave(peer: Peer): void {
		peer.logger.info({ event: 'peer-leaving' }, 'peer leaves');
		this.closePeer(peer);
	}

	/**
	 * A peer's connection closed. Unless the peer is gone anyway (it left,
	 * was closed, or never joined), the room keeps its session for
	 * rooms.resumeGraceMs: the others see `peerReconnecting`, its media keeps
	 * flowing, and a new connection with its resume token takes it over.
	 */
	#connectionLost(peer: Peer, channel: NonNullable<Peer['channel']>): void {
		if (peer.channel !== channel || peer.closed) return;
		const graceMs = this.#config.rooms.resumeGraceMs;
		if (this.#closed || !peer.joined || !peer.resumeToken || graceMs === 0) {
			this.closePeer(peer);
			return;
		}
		peer.detachChannel();
		this.#resuming.delete(peer);
		if (Room.#visible(peer)) for (const other of this.joinedPeers()) if (other !== peer) other.notify('peerReconnecting', { peerId: peer.id, reconnecting: true });
		peer.logger.info({ event: 'connection-lost', graceMs }, 'connection lost: keeping the session for a resume');
		const timer = setTimeout(() => {
			this.#graceTimers.delete(peer);
			if (peer.closed || peer.connected) return;
			peer.logger.info({ event: 'resume-grace-ended', graceMs }, 'no resume within the grace window: closing the peer');
			this.closePeer(peer);
		}, graceMs);
		timer.unref();
		this.#graceTimers.set(peer, timer);
	}

	/**
	 * A broadcaster (HTTP-driven: RTP ingest/egress, WHIP, WHEP) joins at
	 * once, with the service role unless its credential gave another.
	 */
	addBroadcaster({ id, displayName, device, rtpCapabilities, access = new Access('service') }: { id: PeerId; displayName: string; device: Peer['device']; rtpCapabilities?: ms.RtpCapabilities; access?: Access }): Peer {
		this.#assertOpen();
		const peer = new Peer({ id, kind: 'broadcaster', logger: this.logger.child({ peerId: id, broadcaster: true }), access });
		peer.displayName = displayName;
		peer.device = device;
		peer.rtpCapabilities = rtpCapabilities;
		peer.joined = true;
		this.peers.set(id, peer);
		this.#cancelEmptyTimer();
		this.#announce(peer);
		if (Audience.includes(peer)) this.audience.changed();
		peer.logger.info({ event: 'broadcaster-created' }, 'broadcaster created');
		return peer;
	}

	/** Closes a peer and everything it had; others see `peerClosed`. Idempotent. */
	closePeer(peer: Peer): void {
		peer.close();
		clearTimeout(this.#graceTimers.get(peer));
		this.#graceTimers.delete(peer);
		if (this.peers.get(peer.id) !== peer) return;
		this.peers.delete(peer.id);
		this.moderation.forget(peer);
		this.audience.lowerHand(peer.id);
		if (peer.joined && Room.#visible(peer)) for (const other of this.joinedPeers()) other.notify('peerClosed', { peerId: peer.id });
		if (peer.joined && Audience.includes(peer)) this.audience.changed();
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

	/**
	 * A peer asks to join: a guest waits in the lobby, anyone else is in.
	 * Consumers for what the others produce follow the response.
	 */
	join(peer: Peer, { displayName, device, rtpCapabilities, sctpCapabilities }: Pick<Peer, 'displayName' | 'device' | 'rtpCapabilities' | 'sctpCapabilities'>): JoinResponse {
		this.moderation.checkMayJoin(peer);
		peer.displayName = peer.assignedName ?? displayName;
		peer.device = device;
		peer.rtpCapabilities = rtpCapabilities;
		peer.sctpCapabilities = sctpCapabilities;
		if (peer.access.role === 'guest') {
			this.moderation.enterLobby(peer);
			return this.#membership(peer, true);
		}
		return this.admit(peer);
	}

	/** Makes a peer a member: announced to those who see it, told of those it sees, given their media. */
	admit(peer: Peer): JoinResponse {
		peer.joined = true;
		this.#announce(peer);
		if (Audience.includes(peer)) this.audience.changed();
		const others = this.joinedPeers().filter((other) => other !== peer && Room.#visible(other));
		peer.logger.info({ event: 'peer-joined', displayName: peer.displayName, device: peer.device, role: peer.access.role, members: others.length + 1, audience: this.audience.count }, 'peer joined');
		// After the join response has gone out: the client learns about peers before their consumers.
		setImmediate(() => {
			this.#consumeExisting(peer);
			if (peer.access.can('moderate')) this.moderation.tellLobby(peer);
			this.audience.tellHands(peer);
		});
		return this.#membership(peer, false);
	}

	/** What `join`, `admitted` and `resume` tell a peer: the stage, its access, the room's state. */
	#membership(peer: Peer, lobby: boolean): JoinResponse {
		const others = lobby ? [] : this.joinedPeers().filter((other) => other !== peer && Room.#visible(other));
		const { resumeGraceMs } = this.#config.rooms;
		return {
			peers: others.map((other) => other.info()),
			role: peer.access.role,
			permissions: peer.access.list(),
			locked: this.moderation.locked,
			lobby,
			audience: this.audience.count,
			...(peer.resumeToken && !lobby ? { resume: { token: peer.resumeToken, graceMs: resumeGraceMs } } : {}),
		};
	}

	changeDisplayName(peer: Peer, displayName: string): void {
		const oldDisplayName = peer.displayName;
		peer.displayName = displayName;
		if (Room.#visible(peer)) for (const other of this.joinedPeers()) if (other !== peer) other.notify('peerDisplayNameChanged', { peerId: peer.id, displayName, oldDisplayName });
	}

	/**
	 * Changes a peer's access (a host's action) and carries it out: what it
	 * may no longer publish is closed, without `subscribe` its consumers go,
	 * and who sees whom is brought up to date on both sides.
	 */
	changeAccess(peer: Peer, change: (access: Access) => void, by: PeerId | undefined, { keepProducers = false } = {}): void {
		const visibleBefore = Room.#visible(peer);
		const roleBefore = peer.access.role;
		change(peer.access);
		for (const producer of keepProducers ? [] : [...peer.producers.values()]) {
			if (!peer.access.canAll(publishPermissions(producer.kind, producer.appData.source))) producer.close();
		}
		if (!peer.access.can('subscribe')) {
			for (const consumer of [...peer.consumers.values()]) {
				consumer.close();
				peer.notify('consumerClosed', { consumerId: consumer.id });
			}
			for (const dataConsumer of [...peer.dataConsumers.values()]) {
				dataConsumer.close();
				peer.notify('dataConsumerClosed', { dataConsumerId: dataConsumer.id });
			}
		}
		peer.notify('permissionsChanged', { role: peer.access.role, permissions: peer.access.list(), by });
		if (!peer.joined) return;
		const visible = Room.#visible(peer);
		if (visible !== visibleBefore) {
			// On stage (announced to everyone, its hand down), or back in the audience (gone for the others).
			for (const other of this.joinedPeers()) {
				if (other === peer) continue;
				if (visible) other.notify('newPeer', peer.info());
				else other.notify('peerClosed', { peerId: peer.id });
			}
			if (visible) this.audience.lowerHand(peer.id);
			this.audience.changed();
		} else if (visible && roleBefore !== peer.access.role) {
			for (const other of this.joinedPeers()) if (other !== peer) other.notify('peerRoleChanged', { peerId: peer.id, role: peer.access.role });
		}
		this.#consumeExisting(peer);
		if (peer.access.can('moderate')) this.moderation.tellLobby(peer);
		this.audience.tellHands(peer, { always: true });
	}

	/** The audience for a host to choose from: raised hands first, then by arrival; at most `limit`. */
	audienceList(limit: number): { count: number; audience: (PeerInfo & { handRaised: boolean })[] } {
		const raised = new Set(this.audience.hands().map((hand) => hand.peerId));
		const members = this.joinedPeers().filter(Audience.includes);
		members.sort((a, b) => Number(raised.has(b.id)) - Number(raised.has(a.id)));
		return { count: members.length, audience: members.slice(0, limit).map((peer) => ({ ...peer.info(), handRaised: raised.has(peer.id) })) };
	}

	/** Joined peers that may moderate. */
	moderators(): Peer[] {
		return this.joinedPeers().filter((peer) => peer.access.can('moderate'));
	}

	/** Everyone in the room, including those in the lobby. */
	broadcastToAll<M extends NotificationMethod>(method: M, data: NotificationsFromServer[M]): void {
		for (const peer of this.peers.values()) peer.notify(method, data);
	}

	/** Whether a peer is announced (newPeer, peerClosed, its changes): those who may publish are; the audience is counted instead. */
	static #visible(peer: Peer): boolean {
		return !Audience.includes(peer);
	}

	#announce(peer: Peer): void {
		if (!Room.#visible(peer)) return;
		for (const other of this.joinedPeers()) if (other !== peer) other.notify('newPeer', peer.info());
	}

	attachTransport(peer: Peer, transport: PeerTransport): void {
		peer.addTransport(transport);
		if (transport.appData.consuming) this.#consumeExisting(peer);
	}

	/** Creates a producer of `peer` on its transport and gives it to every other joined peer. */
	async produce(peer: Peer, transport: PeerTransport, options: { kind: ms.MediaKind; rtpParameters: ms.RtpParameters; paused?: boolean; appData?: Record<string, unknown> }): Promise<ms.Producer<ProducerAppData>> {
		const { maxProducersPerPeer } = this.#config.rooms;
		if (peer.producers.size >= maxProducersPerPeer) throw limitReached(`at most ${maxProducersPerPeer} producers per peer (rooms.maxProducersPerPeer)`);
		peer.access.require(publishPermissions(options.kind, options.appData?.source), 'produce');
		const producer = await transport.produce<ProducerAppData>({
			kind: options.kind,
			rtpParameters: options.rtpParameters,
			paused: options.paused ?? false,
			// Key frames asked of the sender at most this often, however many consumers ask (PLI/FIR storms).
			keyFrameRequestDelay: this.#config.limits.keyFrameRequestIntervalMs,
			appData: { ...options.appData, peerId: peer.id },
		});
		peer.addProducer(producer);
		producer.on('score', (score) => peer.notify('producerScore', { producerId: producer.id, score }));
		producer.observer.once('close', () => {
			this.#routers.forgetProducer(producer.id);
			this.#speakers?.remove(producer.id);
		});
		if (producer.kind === 'audio') void this.#detectSpeaker(peer, producer);
		inBatches(this.joinedPeers(), (other) => {
			if (other !== peer) void this.#offers.consume(other, peer, producer);
		});
		peer.logger.info({ event: 'producer-created', producerId: producer.id, kind: producer.kind, type: producer.type, appData: options.appData }, 'producer created');
		return producer;
	}

	/** Creates a data producer of `peer` (its transport must have SCTP) and gives it to every other joined peer. */
	async produceData(peer: Peer, transport: PeerTransport, options: { sctpStreamParameters: ms.SctpStreamParameters; label?: string; protocol?: string; appData?: Record<string, unknown> }): Promise<ms.DataProducer<ProducerAppData>> {
		const { maxDataProducersPerPeer } = this.#config.rooms;
		if (peer.dataProducers.size >= maxDataProducersPerPeer) throw limitReached(`at most ${maxDataProducersPerPeer} data producers per peer (rooms.maxDataProducersPerPeer)`);
		peer.access.require(options.label === 'chat' ? 'chat' : 'publishData', 'produceData');
		if (!transport.sctpParameters) throw conflict(`transport "${transport.id}" has no SCTP: create it with SCTP enabled`);
		const dataProducer = await transport.produceData<ProducerAppData>({
			sctpStreamParameters: options.sctpStreamParameters,
			label: options.label ?? '',
			protocol: options.protocol ?? '',
			appData: { ...options.appData, peerId: peer.id },
		});
		peer.addDataProducer(dataProducer);
		dataProducer.observer.once('close', () => this.#routers.forgetProducer(dataProducer.id));
		// Answered once the members have it (or after a bound): the first message sent on it then reaches them.
		await settleInBatches(this.joinedPeers().filter((other) => other !== peer), (other) => this.#offers.consumeData(other, peer, dataProducer), DATA_OFFER_WAIT_MS);
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
		this.moderation.close();
		this.audience.close();
		for (const timer of this.#graceTimers.values()) clearTimeout(timer);
		this.#graceTimers.clear();
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

	async #startSpeakerDetection(primary: RoomRouter): Promise<void> {
		this.#speakers = await SpeakerDetection.create(primary.router, {
			onActiveSpeaker: (peerId) => this.#broadcast('activeSpeaker', { peerId }),
			onSpeakingPeers: (peerVolumes) => this.#broadcast('speakingPeers', { peerVolumes }),
		});
	}

	/**
	 * A worker died with one of our routers. The sessions on it stay: each
	 * WebRTC peer there gets `mediaReset` and builds new transports (on a
	 * live worker), while the media of peers on other workers never stops.
	 * Broadcasters there (HTTP-driven, nobody to rebuild them) are closed.
	 * A lost primary router is replaced, and speaker detection with it.
	 */
	#onRouterLost(lost: RoomRouter): void {
		if (this.#closed) return;
		const primaryLost = this.#routers.isPrimary(lost);
		const affected = [...this.peers.values()].filter((peer) => peer.router === lost);
		this.logger.warn({ event: 'router-lost', workerPid: lost.workerPid, primary: primaryLost, peers: affected.length }, 'router lost with its worker: its peers rebuild their media');
		for (const peer of affected) {
			peer.router = undefined;
			this.#choosingRouter.delete(peer);
			if (peer.kind === 'broadcaster') {
				this.closePeer(peer);
				continue;
			}
			peer.logger.info({ event: 'media-reset', reason: 'worker-died' }, 'media lost with its worker: the client rebuilds it');
			peer.notify('mediaReset', { reason: 'worker-died' });
		}
		if (primaryLost) void this.#restorePrimary();
	}

	async #restorePrimary(): Promise<void> {
		this.#speakers = undefined;
		try {
			const primary = await this.#routers.restorePrimary();
			if (this.#closed) return;
			await this.#startSpeakerDetection(primary);
			for (const peer of this.joinedPeers()) for (const producer of peer.producers.values()) if (producer.kind === 'audio') void this.#detectSpeaker(peer, producer);
			this.logger.info({ event: 'primary-router-restored', workerPid: primary.workerPid }, 'room has a primary router again');
		} catch (error) {
			if (this.#closed) return;
			this.logger.error({ event: 'primary-router-lost', err: error }, 'cannot replace the room\'s primary router: closing the room');
			this.close('worker-died');
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

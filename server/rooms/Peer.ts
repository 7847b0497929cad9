/**
 * One participant of a room: a browser (or bot) connected over protoo, or a
 * broadcaster driven over HTTP. The peer owns its transports; mediasoup closes
 * a transport's producers and consumers with it, and the maps here follow
 * those close events, so closing the peer releases everything it had.
 */
import type { types as ms } from 'mediasoup';
import type { Peer as ProtooPeer } from 'protoo-server';
import { Access } from '../auth/roles.js';
import type { Logger } from '../log.js';
import { forbidden, notFound } from '../signalling/errors.js';
import type {
	NotificationMethod,
	NotificationsFromServer,
	PeerDevice,
	PeerId,
	PeerInfo,
	RequestsFromServer,
} from '../signalling/protocol.js';
import type { RoomRouter } from './RoomRouters.js';

export type TransportAppData = { producing: boolean; consuming: boolean };
export type ProducerAppData = Record<string, unknown> & { peerId: PeerId };
export type PeerTransport = ms.WebRtcTransport<TransportAppData> | ms.PlainTransport<TransportAppData>;

export type PeerKind = 'webrtc' | 'broadcaster';

/** Resolves which peer owns an id, to tell "not yours" (403) from "no such thing" (404). */
export type OwnerLookup = (collection: 'transports' | 'producers' | 'consumers' | 'dataProducers' | 'dataConsumers', id: string) => Peer | undefined;

export class Peer {
	readonly id: PeerId;
	readonly kind: PeerKind;
	readonly logger: Logger;
	readonly connectedAt = Date.now();
	/** Role and permissions; changed live by hosts. */
	readonly access: Access;
	/** When the peer's token expires (ms since the epoch); TURN credentials live no longer. Infinity without a token. */
	readonly credentialExpiresAt: number;
	/** The display name the peer's token gives it: the client cannot choose another. */
	readonly assignedName: string | undefined;
	displayName = '';
	device: PeerDevice = {};
	joined = false;
	rtpCapabilities: ms.RtpCapabilities | undefined;
	sctpCapabilities: ms.SctpCapabilities | undefined;
	/** The router this peer's transports live on; set with its first transport. */
	router: RoomRouter | undefined;

	readonly transports = new Map<string, PeerTransport>();
	readonly producers = new Map<string, ms.Producer<ProducerAppData>>();
	readonly consumers = new Map<string, ms.Consumer>();
	readonly dataProducers = new Map<string, ms.DataProducer<ProducerAppData>>();
	readonly dataConsumers = new Map<string, ms.DataConsumer>();
	/** Producers this peer consumes or is being given, so none is consumed twice. */
	readonly consumedProducerIds = new Set<string>();
	readonly consumedDataProducerIds = new Set<string>();

	#channel: ProtooPeer | undefined;
	/** The secret a new connection shows to take this session over after a drop (`ResumeCredential`). */
	readonly resumeToken: string | undefined;
	/** Since when its connection is gone while the room keeps the session (ms since the epoch). */
	disconnectedAt: number | undefined;
	#closed = false;
	#queue: Promise<unknown> = Promise.resolve();
	#queued = 0;

	constructor({ id, kind, channel, logger, access, credentialExpiresAt = Infinity, assignedName, resumeToken }: { id: PeerId; kind: PeerKind; channel?: ProtooPeer; logger: Logger; access: Access; credentialExpiresAt?: number; assignedName?: string; resumeToken?: string }) {
		this.id = id;
		this.resumeToken = resumeToken;
		this.assignedName = assignedName;
		this.kind = kind;
		this.access = access;
		this.credentialExpiresAt = credentialExpiresAt;
		this.#channel = channel;
		this.logger = logger;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get channel(): ProtooPeer | undefined {
		return this.#channel;
	}

	/** Whether its signalling connection is up (broadcasters have none and are always "connected"). */
	get connected(): boolean {
		return this.kind === 'broadcaster' || (this.#channel !== undefined && !this.#channel.closed);
	}

	/** Its connection dropped: notifications are not sent, requests fail, until `attachChannel`. */
	detachChannel(): ProtooPeer | undefined {
		const channel = this.#channel;
		this.#channel = undefined;
		this.disconnectedAt ??= Date.now();
		return channel;
	}

	/** A new connection takes the session over. */
	attachChannel(channel: ProtooPeer): void {
		this.#channel = channel;
		this.disconnectedAt = undefined;
	}

	info(): PeerInfo {
		return { id: this.id, displayName: this.displayName, device: this.device, role: this.access.role };
	}

	/** The transport consumers go on: the first one created with `consuming`. */
	consumingTransport(): PeerTransport | undefined {
		for (const transport of this.transports.values()) {
			if (transport.appData.consuming && !transport.closed) return transport;
		}
		return undefined;
	}

	/** Fire-and-forget: a peer that cannot be reached is closed by its own close handlers. */
	notify<M extends NotificationMethod>(method: M, data: NotificationsFromServer[M]): void {
		if (!this.#channel || this.#closed) return;
		this.#channel.notify(method, data).catch(() => {});
	}

	async request<M extends keyof RequestsFromServer>(method: M, data: RequestsFromServer[M]['data']): Promise<RequestsFromServer[M]['response']> {
		if (!this.#channel || this.#closed) throw new Error(`peer ${this.id} has no signalling channel`);
		return this.#channel.request(method, data);
	}

	/** Runs a peer's requests one at a time, in the order they arrived. */
	serialize<T>(task: () => Promise<T>): Promise<T> {
		this.#queued += 1;
		const result = this.#queue.then(task, task).finally(() => {
			this.#queued -= 1;
		});
		this.#queue = result.catch(() => {});
		return result;
	}

	/** Requests waiting or running in `serialize` (bounded by limits.maxQueuedRequests). */
	get queued(): number {
		return this.#queued;
	}

	addTransport(transport: PeerTransport): void {
		this.transports.set(transport.id, transport);
		(transport as ms.Transport).observer.once('close', () => this.transports.delete(transport.id));
	}

	addProducer(producer: ms.Producer<ProducerAppData>): void {
		this.producers.set(producer.id, producer);
		producer.observer.once('close', () => this.producers.delete(producer.id));
	}

	addConsumer(consumer: ms.Consumer): void {
		this.consumers.set(consumer.id, consumer);
		consumer.observer.once('close', () => {
			this.consumers.delete(consumer.id);
			this.consumedProducerIds.delete(consumer.producerId);
		});
	}

	addDataProducer(dataProducer: ms.DataProducer<ProducerAppData>): void {
		this.dataProducers.set(dataProducer.id, dataProducer);
		dataProducer.observer.once('close', () => this.dataProducers.delete(dataProducer.id));
	}

	addDataConsumer(dataConsumer: ms.DataConsumer): void {
		this.dataConsumers.set(dataConsumer.id, dataConsumer);
		dataConsumer.observer.once('close', () => {
			this.dataConsumers.delete(dataConsumer.id);
			this.consumedDataProducerIds.delete(dataConsumer.dataProducerId);
		});
	}

	/** This peer's object of the given collection, or a 404/403 error saying why not. */
	own<C extends 'transports' | 'producers' | 'consumers' | 'dataProducers' | 'dataConsumers'>(
		collection: C,
		id: string,
		ownerOf: OwnerLookup,
	): NonNullable<ReturnType<Peer[C]['get']>> {
		const item = this[collection].get(id) as ReturnType<Peer[C]['get']>;
		if (item) return item as NonNullable<typeof item>;
		const singular = collection.replace(/s$/, '');
		if (ownerOf(collection, id)) throw forbidden(`${singular} "${id}" belongs to another peer`);
		throw notFound(`${singular} "${id}" not found`);
	}

	/** Closes the signalling channel and every transport (and with them all producers and consumers). */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const transport of this.transports.values()) transport.close();
		if (this.#channel && !this.#channel.closed) this.#channel.close();
	}
}

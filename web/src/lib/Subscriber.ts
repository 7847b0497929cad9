/**
 * What this peer receives: the receiving transport, the consumers the
 * server offers (`newConsumer`), the chat's data consumers, and what the
 * server says about them. Layer commands (preferred layers, priority,
 * pausing tiles nobody sees) go out from here, and are told again after a
 * resume, since some may have been lost with the connection.
 */
import { parseScalabilityMode } from 'mediasoup-client';
import type { Device, types as msc } from 'mediasoup-client';
import type { NewConsumerData, NewDataConsumerData, NotificationsFromServer, PeerId } from '../../../server/signalling/protocol.js';
import { CHAT_LABEL, parseChat } from './chat.js';
import type { LayerCommand } from './layers.js';
import { MediaTransport, slow, transportOptions } from './MediaTransport.js';
import type { CurrentSignalling } from './MediaTransport.js';
import { SCTP_CAPABILITIES, toRecords } from './Publisher.js';
import type { IcePolicy, ServerIceState } from './reconnect.js';
import type { LocalSession, ResumePlan } from './resume.js';
import type { Emit } from './roomEvents.js';
import { isMediaSource } from './sources.js';
import type { RtcStatLike } from './stats.js';

export type SubscriberOptions = {
	emit: Emit;
	signalling: CurrentSignalling;
	forceTcp: boolean;
	icePolicy?: IcePolicy | undefined;
	/** A peer's display name now (chat messages show it). */
	peerName: (peerId: PeerId) => string | undefined;
	/** The receiving transport's ICE could not be restarted. */
	onGaveUp: () => void;
	/** Its path looks broken: the signalling may be dead too. */
	onInterrupted?: (() => void) | undefined;
};

type SentLayers = {
	layers?: { spatialLayer: number; temporalLayer: number } | undefined;
	priority?: number | undefined;
};

export class Subscriber {
	readonly #options: SubscriberOptions;
	readonly #emit: Emit;
	#generation = 0;
	#transport: MediaTransport | undefined;
	#opening: Promise<void> | undefined;
	readonly #consumers = new Map<string, msc.Consumer>();
	/** Consumers being created; the server may close one before we are done (then we drop it). */
	readonly #pending = new Set<string>();
	readonly #closedWhilePending = new Set<string>();
	readonly #dataConsumers = new Map<string, msc.DataConsumer>();
	/** The last preferred layers and priority asked per consumer, to ask again after a resume. */
	readonly #sent = new Map<string, SentLayers>();
	/** The receiving path was interrupted (ICE `disconnected`/`failed`) and has not come back yet. */
	#interrupted = false;

	constructor(options: SubscriberOptions) {
		this.#options = options;
		this.#emit = options.emit;
	}

	get hasTransport(): boolean {
		return this.#transport !== undefined;
	}

	/** Created once, and set up as soon as the server answers: it offers consumers as soon as the transport exists. */
	openTransport(device: Device): Promise<void> {
		if (this.#transport) return Promise.resolve();
		if (this.#opening) return this.#opening;
		const signalling = this.#options.signalling();
		if (!signalling) return Promise.reject(new Error('not connected to the server'));
		const generation = this.#generation;
		const opening = signalling
			.request('createWebRtcTransport', { forceTcp: this.#options.forceTcp, producing: false, consuming: true, sctpCapabilities: SCTP_CAPABILITIES })
			.then((info) => {
				if (generation !== this.#generation) return;
				this.#transport = new MediaTransport({
					direction: 'recv',
					transport: device.createRecvTransport(transportOptions(info)),
					signalling: this.#options.signalling,
					icePolicy: this.#options.icePolicy,
					onState: (state) => this.#transportState(state),
					onGaveUp: this.#options.onGaveUp,
					onInterrupted: this.#options.onInterrupted,
				});
			})
			.finally(() => {
				if (this.#opening === opening) this.#opening = undefined;
			});
		this.#opening = opening;
		return opening;
	}

	/** Back after an interruption: ask for key frames, so pictures come back now rather than at the next periodic one. */
	#transportState(state: msc.ConnectionState): void {
		this.#emit('transportState', 'recv', state);
		if (state === 'disconnected' || state === 'failed') this.#interrupted = true;
		if (state !== 'connected' || !this.#interrupted) return;
		this.#interrupted = false;
		const signalling = this.#options.signalling();
		for (const consumer of this.#consumers.values()) {
			if (consumer.kind === 'video' && !consumer.closed && !consumer.paused) signalling?.notify('requestConsumerKeyFrame', { consumerId: consumer.id });
		}
	}

	// -------------------------------------------------------------------------
	// What the server offers and says.
	// -------------------------------------------------------------------------

	async consume(data: NewConsumerData): Promise<void> {
		const transport = this.#transport;
		if (!transport || transport.closed) throw new Error('not ready to consume');
		const source = isMediaSource(data.appData.source) ? data.appData.source : 'unknown';
		this.#pending.add(data.id);
		const started = performance.now();
		const consumer = await transport.transport
			.consume({
				id: data.id,
				producerId: data.producerId,
				kind: data.kind,
				rtpParameters: data.rtpParameters as msc.RtpParameters,
				// Microphone and camera of one peer in one stream: the browser keeps them in sync.
				streamId: `${data.peerId}-${source === 'screen' || source === 'screen-audio' ? 'screen' : 'camera'}`,
				appData: { ...data.appData },
			})
			.finally(() => {
				this.#pending.delete(data.id);
				slow(`consume ${data.kind} of ${data.peerId}`, started);
			});
		if (this.#closedWhilePending.delete(data.id) || transport.closed || transport !== this.#transport) {
			consumer.close();
			throw new Error(`consumer ${data.id} was closed by the server before it was ready`);
		}
		this.#consumers.set(consumer.id, consumer);
		consumer.on('transportclose', () => this.#consumers.delete(consumer.id));
		const { spatialLayers, temporalLayers } = parseScalabilityMode(consumer.rtpParameters.encodings?.[0]?.scalabilityMode);
		this.#emit('consumerAdded', {
			id: consumer.id,
			peerId: data.peerId,
			producerId: data.producerId,
			kind: data.kind,
			source,
			track: consumer.track,
			producerPaused: data.producerPaused,
			spatialLayers: data.type === 'simulcast' ? Math.max(spatialLayers, data.rtpParameters.encodings?.length ?? 1) : spatialLayers,
			temporalLayers,
			topLayerHeight: plausibleHeight(data.appData.height),
			codec: consumer.rtpParameters.codecs[0]?.mimeType ?? '',
		});
	}

	async consumeData(data: NewDataConsumerData): Promise<void> {
		const transport = this.#transport;
		if (!transport || transport.closed) throw new Error('not ready to consume data');
		const dataConsumer = await transport.transport.consumeData({
			id: data.id,
			dataProducerId: data.dataProducerId,
			sctpStreamParameters: data.sctpStreamParameters,
			label: data.label,
			protocol: data.protocol,
			appData: { ...data.appData },
		});
		this.#dataConsumers.set(dataConsumer.id, dataConsumer);
		dataConsumer.on('transportclose', () => this.#dataConsumers.delete(dataConsumer.id));
		if (data.label !== CHAT_LABEL) return;
		dataConsumer.on('message', (raw: unknown) => {
			const chat = parseChat(raw);
			if (!chat) return;
			this.#emit('chatMessage', {
				id: `${data.peerId}-${chat.sentAt}-${Math.random()}`,
				peerId: data.peerId,
				displayName: this.#options.peerName(data.peerId) ?? chat.displayName,
				text: chat.text,
				sentAt: chat.sentAt,
				receivedAt: Date.now(),
				own: false,
			});
		});
	}

	consumerClosed(consumerId: string): void {
		if (this.#pending.has(consumerId)) this.#closedWhilePending.add(consumerId);
		const consumer = this.#consumers.get(consumerId);
		if (!consumer) return;
		this.#consumers.delete(consumerId);
		this.#sent.delete(consumerId);
		consumer.close();
		this.#emit('consumerClosed', consumerId);
	}

	dataConsumerClosed(dataConsumerId: string): void {
		this.#dataConsumers.get(dataConsumerId)?.close();
		this.#dataConsumers.delete(dataConsumerId);
	}

	producerPaused(consumerId: string, paused: boolean): void {
		if (this.#consumers.has(consumerId)) this.#emit('consumerProducerPaused', consumerId, paused);
	}

	layersChanged({ consumerId, spatialLayer, temporalLayer }: NotificationsFromServer['consumerLayersChanged']): void {
		this.#emit('consumerLayers', consumerId, spatialLayer, temporalLayer);
	}

	score({ consumerId, score }: NotificationsFromServer['consumerScore']): void {
		this.#emit('consumerScore', consumerId, score);
	}

	/** Layer adaptation: preferred layers, priority, and pausing of tiles nobody sees. */
	applyLayerCommand(command: LayerCommand): void {
		const consumer = this.#consumers.get(command.data.consumerId);
		if (!consumer || consumer.closed) return;
		const signalling = this.#options.signalling();
		const sent = this.#sent.get(consumer.id) ?? {};
		this.#sent.set(consumer.id, sent);
		switch (command.method) {
			case 'pauseConsumer':
				consumer.pause();
				signalling?.notify('pauseConsumer', command.data);
				break;
			case 'resumeConsumer':
				consumer.resume();
				signalling?.notify('resumeConsumer', command.data);
				// The picture should come back now, not at the next periodic key frame.
				signalling?.notify('requestConsumerKeyFrame', command.data);
				break;
			case 'setConsumerPreferredLayers':
				sent.layers = { spatialLayer: command.data.spatialLayer, temporalLayer: command.data.temporalLayer };
				signalling?.notify('setConsumerPreferredLayers', command.data);
				break;
			case 'setConsumerPriority':
				sent.priority = command.data.priority;
				signalling?.notify('setConsumerPriority', command.data);
				break;
		}
	}

	async stats(consumerId: string): Promise<{ browser: RtcStatLike[]; server: unknown[] } | undefined> {
		const consumer = this.#consumers.get(consumerId);
		const signalling = this.#options.signalling();
		if (!consumer || consumer.closed || !signalling) return undefined;
		const [browser, server] = await Promise.all([
			consumer.getStats().then(toRecords),
			signalling.request('getConsumerStats', { consumerId }).catch(() => []),
		]);
		return { browser, server };
	}

	// -------------------------------------------------------------------------
	// The session's life.
	// -------------------------------------------------------------------------

	localState(): Pick<LocalSession, 'consumers' | 'dataConsumerIds'> & { transport?: LocalSession['transports'][number] | undefined } {
		const transport = this.#transport;
		return {
			transport: transport && !transport.closed ? { direction: 'recv', id: transport.id, connectionState: transport.connectionState } : undefined,
			consumers: [...this.#consumers.values()].filter((c) => !c.closed).map((c) => ({ id: c.id, producerId: c.producerId, paused: c.paused })),
			dataConsumerIds: [...this.#dataConsumers.keys()],
		};
	}

	suspend(): void {
		this.#transport?.suspend();
	}

	networkChanged(): void {
		this.#transport?.networkChanged();
	}

	/** Our part of a resume's plan: close what the server closed, tell again what it may have missed. */
	resume(plan: ResumePlan, serverIceState: ServerIceState | undefined): void {
		if (plan.dropTransports.includes('recv')) {
			this.#dropAll();
			this.#transport?.close();
			this.#transport = undefined;
		} else if (serverIceState) {
			this.#transport?.resumed(serverIceState, plan.pathLost);
		}
		for (const id of plan.dropConsumers) this.consumerClosed(id);
		for (const id of plan.dropDataConsumers) this.dataConsumerClosed(id);
		for (const { consumerId, paused } of plan.senderPauses) this.producerPaused(consumerId, paused);
		const signalling = this.#options.signalling();
		if (!signalling) return;
		for (const { consumerId, paused } of plan.consumerPauses) {
			signalling.notify(paused ? 'pauseConsumer' : 'resumeConsumer', { consumerId });
			if (!paused) signalling.notify('requestConsumerKeyFrame', { consumerId });
		}
		for (const [consumerId, sent] of this.#sent) {
			if (!this.#consumers.has(consumerId)) {
				this.#sent.delete(consumerId);
				continue;
			}
			if (sent.layers) signalling.notify('setConsumerPreferredLayers', { consumerId, ...sent.layers });
			if (sent.priority !== undefined) signalling.notify('setConsumerPriority', { consumerId, priority: sent.priority });
		}
	}

	teardown(): void {
		this.#generation++;
		this.#interrupted = false;
		this.#dropAll();
		this.#opening = undefined;
		this.#transport?.close();
		this.#transport = undefined;
	}

	#dropAll(): void {
		for (const id of this.#consumers.keys()) this.#emit('consumerClosed', id);
		this.#consumers.clear();
		this.#pending.clear();
		this.#closedWhilePending.clear();
		this.#dataConsumers.clear();
		this.#sent.clear();
	}
}

function plausibleHeight(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) && value >= 90 && value <= 4320 ? value : undefined;
}

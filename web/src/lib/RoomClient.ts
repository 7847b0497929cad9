/**
 * One participant's session in one room, as the page sees it: the facade
 * over the session's lifecycle (Session.ts: WebSocket, liveness,
 * reconnection, resume), what we send (Publisher.ts) and what we receive
 * (Subscriber.ts). The lib's modules are the only users of mediasoup-client
 * and protoo-client; composables listen to this class's typed events. What
 * our role allows, and what a host changes in it, is decided in access.ts;
 * what a resume must fix, in resume.ts.
 */
import { Device, detectDeviceAsync } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';
import type { JoinRequest, JoinResponse, PeerId, Permission, RequestData, ResponseData, ResumeResponse, Role } from '../../../server/signalling/protocol';
import { accessFromJoin, can, keepsPublishing, moderated, permissionsChanged, provisionalAccess } from './access.js';
import type { AccessChange, AccessState } from './access.js';
import { userError } from './errors.js';
import type { LayerCommand } from './layers.js';
import type { LivenessPolicy } from './liveness.js';
import type { ModerationMethod } from './moderation.js';
import { Publisher, SCTP_CAPABILITIES } from './Publisher.js';
import type { IcePolicy, ServerIceState, SessionPolicy, SessionState, SocketLossCause } from './reconnect.js';
import { planResume } from './resume.js';
import type { LocalSession } from './resume.js';
import type { ChatMessage, Emit, RoomClientEvents } from './roomEvents.js';
import { Session } from './Session.js';
import type { JoinOutcome, SessionHost } from './Session.js';
import type { VideoCodecChoice } from './settings.js';
import type { Signalling } from './Signalling.js';
import { SignallingError } from './Signalling.js';
import type { MediaSource } from './sources.js';
import type { RtcStatLike } from './stats.js';
import { Subscriber } from './Subscriber.js';
import { TypedEmitter } from './TypedEmitter.js';

export type { MediaSource } from './sources.js';
export { mediaSources } from './sources.js';
export type { ChatMessage, ProducerState, RemoteConsumer, RoomClientEvents, TransportDirection } from './roomEvents.js';

export type RoomClientOptions = {
	/** wss://host:port/?roomId=…&token=… (reconnects reuse it: the same token takes the session back) */
	url: string;
	/** The token's identity. */
	peerId: PeerId;
	/** The token's role, for the page until the server answers the join. */
	role: Role;
	displayName: string;
	videoCodec: VideoCodecChoice;
	/** Use ICE over TCP only (restrictive networks). */
	forceTcp?: boolean;
	/** Reconnection back-off and limits. */
	sessionPolicy?: SessionPolicy;
	/** Ping period and the silence after which the connection is taken for dead. */
	liveness?: LivenessPolicy;
	icePolicy?: IcePolicy;
};

/**
 * Permissions that need a sending transport at once. Chat alone does not: a
 * stream's audience (who may chat but not publish) opens one only when it
 * first sends a message, so a thousand silent viewers cost the server no
 * sending transports.
 */
const PUBLISHING: readonly Permission[] = ['publishAudio', 'publishVideo', 'publishScreen', 'publishData'];

export class RoomClient extends TypedEmitter<RoomClientEvents> {
	readonly peerId: PeerId;
	readonly #session: Session;
	readonly #publisher: Publisher;
	readonly #subscriber: Subscriber;
	/** Bumped at every teardown: async work of an older session checks it and stops. */
	#generation = 0;
	#displayName: string;
	/** The name was changed in this session: told again after a resume, in case the change was lost. */
	#renamed = false;
	#device: Device | undefined;
	readonly #peerNames = new Map<PeerId, string>();
	#access: AccessState;

	constructor(options: RoomClientOptions) {
		super();
		this.peerId = options.peerId;
		this.#displayName = options.displayName;
		this.#access = provisionalAccess(options.role);
		const emit: Emit = (event, ...args) => this.emit(event, ...args);
		const signalling = () => this.#session.signalling;
		const onGaveUp = () => {
			if (this.#session.state.phase === 'joined') this.#session.mediaFailed();
		};
		// ICE in trouble: is the signalling's path dead too? (A new address kills both.)
		const onInterrupted = () => this.#session.suspectConnection();
		const forceTcp = options.forceTcp ?? false;
		this.#publisher = new Publisher({
			emit,
			signalling,
			joined: () => this.#session.state.phase === 'joined',
			videoCodec: options.videoCodec,
			forceTcp,
			icePolicy: options.icePolicy,
			onGaveUp,
			onInterrupted,
		});
		this.#subscriber = new Subscriber({ emit, signalling, forceTcp, icePolicy: options.icePolicy, peerName: (id) => this.#peerNames.get(id), onGaveUp, onInterrupted });
		this.#session = new Session({ url: options.url, host: this.#host(), policy: options.sessionPolicy, liveness: options.liveness });
		this.#session.on('state', (state) => this.emit('session', state));
		this.#session.on('error', (error) => this.emit('error', error));
	}

	/** Whether this browser can take part at all (WebRTC, and a handler mediasoup-client knows). */
	static async browserSupported(): Promise<boolean> {
		if (typeof RTCPeerConnection === 'undefined') return false;
		return (await detectDeviceAsync()) !== undefined;
	}

	get session(): SessionState {
		return this.#session.state;
	}

	get displayName(): string {
		return this.#displayName;
	}

	get access(): AccessState {
		return this.#access;
	}

	/** Connects and joins; progress and failures arrive as 'session' events. */
	start(): void {
		this.#session.start();
	}

	/** For good: the server closes our peer at once (no grace window), the others see us leave. */
	leave(): void {
		this.#session.leave();
		this.removeAllListeners();
	}

	// -------------------------------------------------------------------------
	// What the page asks for.
	// -------------------------------------------------------------------------

	/** Publishes (or replaces) the track of a source. The caller keeps owning the track. */
	publish(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
		return this.#publisher.publish(source, track, paused);
	}

	/** Stops sending a source; the server closes the consumers of the others. */
	unpublish(source: MediaSource): Promise<void> {
		return this.#publisher.unpublish(source);
	}

	/** Mute/unmute: pauses the producer so the others see the state (and receive nothing). */
	setPaused(source: MediaSource, paused: boolean): Promise<void> {
		return this.#publisher.setPaused(source, paused);
	}

	isPublished(source: MediaSource): boolean {
		return this.#publisher.isPublished(source);
	}

	changeDisplayName(displayName: string): void {
		this.#displayName = displayName;
		this.#renamed = true;
		this.#session.signalling?.notify('changeDisplayName', { displayName });
	}

	/** Layer adaptation: preferred layers, priority, and pausing of tiles nobody sees. */
	applyLayerCommand(command: LayerCommand): void {
		this.#subscriber.applyLayerCommand(command);
	}

	/** Raises or lowers our hand (a viewer asking to come on stage); hosts and participants see it. */
	async raiseHand(raised: boolean): Promise<void> {
		await this.#joinedSignalling().request('raiseHand', { raised });
	}

	/** A host's request (lib/moderation.ts); refused with 403 by the server without the `moderate` permission. */
	async moderate<M extends ModerationMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		return this.#joinedSignalling().request(method, data);
	}

	async sendChat(text: string): Promise<ChatMessage> {
		const producer = this.#publisher.chatProducer ?? (await this.#openChatOnDemand());
		if (!producer || producer.closed || producer.readyState !== 'open') throw new Error('chat is not connected');
		const wire = this.#publisher.sendChat(producer, text, this.#displayName);
		return { id: `${this.peerId}-${wire.sentAt}-${Math.random()}`, peerId: this.peerId, displayName: this.#displayName, text: wire.text, sentAt: wire.sentAt, receivedAt: wire.sentAt, own: true };
	}

	producerStats(source: MediaSource): Promise<{ browser: RtcStatLike[]; server: unknown[] } | undefined> {
		return this.#publisher.stats(source);
	}

	consumerStats(consumerId: string): Promise<{ browser: RtcStatLike[]; server: unknown[] } | undefined> {
		return this.#subscriber.stats(consumerId);
	}

	#joinedSignalling(): Signalling {
		const signalling = this.#session.signalling;
		if (!signalling || this.#session.state.phase !== 'joined') throw new Error('not in the room');
		return signalling;
	}

	async #openChatOnDemand(): Promise<msc.DataProducer | undefined> {
		const device = this.#device;
		if (!device || this.#session.state.phase !== 'joined' || !can(this.#access, 'chat')) return undefined;
		return this.#publisher.openChatOnDemand(device);
	}

	// -------------------------------------------------------------------------
	// The session's host: join, resume, suspend, tear down.
	// -------------------------------------------------------------------------

	#host(): SessionHost {
		return {
			join: (signalling) => this.#join(signalling),
			resume: (signalling, response, lostBy) => this.#resume(signalling, response, lostBy),
			suspendMedia: () => {
				this.#publisher.suspend();
				this.#subscriber.suspend();
			},
			teardownMedia: () => this.#teardownMedia(),
			networkChanged: () => {
				this.#publisher.networkChanged();
				this.#subscriber.networkChanged();
			},
			notifications: this.#notificationHandlers(),
			requests: {
				newConsumer: async (data) => {
					await this.#subscriber.consume(data);
					return {};
				},
				newDataConsumer: async (data) => {
					await this.#subscriber.consumeData(data);
					return {};
				},
			},
		};
	}

	/** Device, join, then (unless in the lobby) the transports our permissions need, and what the user wants to publish. */
	async #join(signalling: Signalling): Promise<JoinOutcome | undefined> {
		const generation = this.#generation;
		const stale = () => generation !== this.#generation || signalling.closed;
		const routerRtpCapabilities = await signalling.request('getRouterRtpCapabilities', {});
		if (stale()) return undefined;
		// A new Device per join: after a worker died, the router is a new one.
		const device = await Device.factory();
		await device.load({ routerRtpCapabilities: routerRtpCapabilities as msc.RtpCapabilities });
		if (stale()) return undefined;
		this.#device = device;
		// Join before the transports: its answer says what we may do (a guest may not create any yet).
		const response = await signalling.request('join', {
			displayName: this.#displayName,
			device: { flag: 'web', name: device.handlerName, version: navigator.userAgent.slice(0, 200) },
			rtpCapabilities: device.recvRtpCapabilities as JoinRequest['rtpCapabilities'],
			sctpCapabilities: SCTP_CAPABILITIES,
		});
		if (stale()) return undefined;
		this.#renamed = false;
		this.#admit(response);
		if (response.lobby) return { lobby: true };
		await this.#enter(generation);
		return stale() ? undefined : { lobby: false, resume: response.resume };
	}

	/** The answer of a join or an admission: who we are here, and whom we see. */
	#admit(response: JoinResponse): void {
		this.#setAccess(accessFromJoin(response));
		this.#peerNames.clear();
		for (const peer of response.peers) this.#peerNames.set(peer.id, peer.displayName);
		this.emit('peers', response.peers, { resumed: false });
		this.emit('audience', response.audience);
	}

	/**
	 * In the room: the transports our permissions need, what the user wants to
	 * publish (what the role allows), and the chat. Safe to run again after a
	 * change of permissions or a resume: it only adds what is missing.
	 */
	async #enter(generation: number): Promise<void> {
		const device = this.#device;
		if (!device) return;
		const wanted: Promise<void>[] = [];
		if (PUBLISHING.some((permission) => can(this.#access, permission))) wanted.push(this.#publisher.openTransport(device));
		if (can(this.#access, 'subscribe')) wanted.push(this.#subscriber.openTransport(device));
		await Promise.all(wanted);
		if (generation !== this.#generation) return;
		const chatNow = can(this.#access, 'chat') && this.#publisher.hasTransport;
		await Promise.all([this.#publisher.produceMissing((source) => keepsPublishing(this.#access, source)), chatNow ? this.#publisher.openChat() : undefined]);
		// The audience's chat opens on its first message: until then the page may offer to send.
		if (can(this.#access, 'chat') && !this.#publisher.hasTransport && generation === this.#generation) this.emit('chatReady', true);
	}

	/**
	 * The server gave our session back. Access first (a host may have acted
	 * while we were away), then what it holds against what we have, then
	 * whatever is still missing, as after a join.
	 */
	async #resume(signalling: Signalling, response: ResumeResponse, lostBy: SocketLossCause | undefined): Promise<void> {
		const generation = this.#generation;
		this.#apply(permissionsChanged(this.#access, response, this.#publisher.published));
		if (this.#access.locked !== response.locked) this.#setAccess({ ...this.#access, locked: response.locked });
		const sending = this.#publisher.localState();
		const receiving = this.#subscriber.localState();
		const local: LocalSession = {
			transports: [sending.transport, receiving.transport].filter((t) => t !== undefined),
			producers: sending.producers,
			chatProducerId: sending.chatProducerId,
			consumers: receiving.consumers,
			dataConsumerIds: receiving.dataConsumerIds,
			peerIds: [...this.#peerNames.keys()],
			mutedByHost: this.#access.mutedByHost,
		};
		const plan = planResume(local, response, lostBy);
		console.info('resume plan', JSON.stringify(plan));
		const serverIce = (id: string | undefined) => response.transports.find((t) => t.id === id)?.iceState as ServerIceState | undefined;
		this.#peerNames.clear();
		for (const peer of response.peers) this.#peerNames.set(peer.id, peer.displayName);
		for (const peerId of plan.peersGone) this.emit('peerLeft', peerId);
		this.emit('peers', response.peers, { resumed: true });
		this.emit('audience', response.audience);
		for (const transportId of plan.closeTransportsOnServer) signalling.notify('closeTransport', { transportId });
		this.#subscriber.resume(plan, serverIce(receiving.transport?.id));
		await this.#publisher.resume(plan, serverIce(sending.transport?.id));
		if (this.#renamed) signalling.notify('changeDisplayName', { displayName: this.#displayName });
		if (generation !== this.#generation) return;
		await this.#enter(generation);
	}

	/**
	 * The server lost our media with its worker, but not the session: new
	 * transports (on a live worker), what the user publishes produced again;
	 * the server offers the others' media on the new receiving transport.
	 * Every router of a room has the same capabilities, so the Device stays.
	 */
	#resetMedia(reason: string): void {
		console.info('media reset by the server', reason);
		const device = this.#device;
		this.#teardownMedia();
		this.#device = device;
		this.emit('mediaReset', reason);
		if (this.#session.state.phase !== 'joined') return;
		this.#enter(this.#generation).catch((error: unknown) => {
			console.warn('rebuilding the media failed', error);
			if (this.#session.state.phase === 'joined') this.#session.mediaFailed();
		});
	}

	#teardownMedia(): void {
		this.#generation++;
		this.#publisher.teardown();
		this.#subscriber.teardown();
		this.#device = undefined;
	}

	// -------------------------------------------------------------------------
	// Our access: what a host (or the role) changes in what we publish.
	// -------------------------------------------------------------------------

	#setAccess(state: AccessState): void {
		this.#access = state;
		this.emit('access', state);
	}

	#apply({ state, withdraw, pause }: AccessChange): void {
		this.#setAccess(state);
		for (const source of pause) this.#publisher.pauseLocally(source);
		for (const source of withdraw) this.#publisher.withdraw(source);
	}

	/** After a change of permissions, what is now allowed and missing (a transport, the chat). */
	#reenter(): void {
		if (this.#session.state.phase !== 'joined') return;
		this.#enter(this.#generation).catch((error: unknown) => {
			console.warn('applying new permissions failed', error);
			this.emit('error', userError('unexpected', error instanceof Error ? error.message : String(error)));
		});
	}

	/** Out of the lobby: in as after a join. */
	#admitted(response: JoinResponse): void {
		if (this.#session.state.phase !== 'lobby') return;
		const generation = this.#generation;
		this.#admit(response);
		this.#enter(generation).then(
			() => {
				if (generation === this.#generation) this.#session.admitted(response.resume);
			},
			(error: unknown) => {
				console.warn('entering after the admission failed', error);
				if (generation === this.#generation) this.#session.admitted(response.resume);
			},
		);
	}

	// -------------------------------------------------------------------------
	// What the server tells (the session's own notifications are Session's).
	// -------------------------------------------------------------------------

	#notificationHandlers(): SessionHost['notifications'] {
		return {
			newPeer: (peer) => {
				this.#peerNames.set(peer.id, peer.displayName);
				this.emit('peerJoined', peer);
			},
			peerClosed: ({ peerId }) => {
				this.#peerNames.delete(peerId);
				this.emit('peerLeft', peerId);
			},
			peerReconnecting: ({ peerId, reconnecting }) => this.emit('peerReconnecting', peerId, reconnecting),
			mediaReset: ({ reason }) => this.#resetMedia(reason),
			peerDisplayNameChanged: ({ peerId, displayName }) => {
				this.#peerNames.set(peerId, displayName);
				this.emit('peerRenamed', peerId, displayName);
			},
			producerScore: ({ producerId, score }) => {
				const source = this.#publisher.sourceOf(producerId);
				if (source) this.emit('producerScore', source, score);
			},
			consumerScore: (data) => this.#subscriber.score(data),
			consumerPaused: ({ consumerId }) => this.#subscriber.producerPaused(consumerId, true),
			consumerResumed: ({ consumerId }) => this.#subscriber.producerPaused(consumerId, false),
			consumerLayersChanged: (data) => this.#subscriber.layersChanged(data),
			consumerClosed: ({ consumerId }) => this.#subscriber.consumerClosed(consumerId),
			dataConsumerClosed: ({ dataConsumerId }) => this.#subscriber.dataConsumerClosed(dataConsumerId),
			activeSpeaker: ({ peerId }) => this.emit('activeSpeaker', peerId),
			speakingPeers: ({ peerVolumes }) => this.emit('speakingPeers', peerVolumes),
			permissionsChanged: (data) => {
				this.#apply(permissionsChanged(this.#access, data, this.#publisher.published));
				this.#reenter();
			},
			moderated: (event) => {
				this.#apply(moderated(this.#access, event, this.#publisher.published));
				this.emit('moderated', event);
			},
			peerRoleChanged: ({ peerId, role }) => this.emit('peerRoleChanged', peerId, role),
			roomLocked: ({ locked }) => this.#setAccess({ ...this.#access, locked }),
			lobbyChanged: ({ waiting }) => this.emit('lobbyChanged', waiting),
			admitted: (response) => this.#admitted(response),
			audienceChanged: ({ count }) => this.emit('audience', count),
			handsChanged: ({ raised }) => this.emit('hands', raised),
		};
	}
}

export { SignallingError };

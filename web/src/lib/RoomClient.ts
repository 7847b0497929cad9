/**
 * One participant's session in one room: the protoo signalling, the
 * mediasoup-client Device, its two transports, producers, consumers and the
 * chat data channel. The only module that touches mediasoup-client and
 * protoo-client; composables listen to its typed events. What our role
 * allows, and what a host changes in it, is decided in access.ts; this
 * class carries it out on the producers.
 *
 * What the user publishes (tracks per source, paused or not) is kept as
 * intent, so that after a reconnection the session is rebuilt from it.
 */
import { Device, detectDeviceAsync, parseScalabilityMode } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';
import type {
	ClientAppData,
	CreateWebRtcTransportResponse,
	JoinRequest,
	JoinResponse,
	LobbyEntry,
	Permission,
	ProduceDataRequest,
	ProduceRequest,
	NewConsumerData,
	NewDataConsumerData,
	NotificationsFromServer,
	PeerId,
	PeerInfo,
	RaisedHand,
	RequestData,
	ResponseData,
	Role,
} from '../../../server/signalling/protocol';
import { accessFromJoin, can, keepsPublishing, moderated, permissionsChanged, provisionalAccess } from './access.js';
import type { AccessChange, AccessState } from './access.js';
import type { ModerationMethod } from './moderation.js';
import { Signalling, SignallingError } from './Signalling.js';
import { isMediaSource } from './sources.js';
import type { MediaSource } from './sources.js';
import type { ServerNotificationHandlers, ServerRequestHandlers } from './Signalling.js';
import { TypedEmitter } from './TypedEmitter.js';
import { cameraSimulcastEncodings, opusCodecOptions, pickVideoCodec, screenEncodings } from './encodings.js';
import type { EncodingSettings } from './encodings.js';
import { joinError, userError } from './errors.js';
import type { UserError } from './errors.js';
import type { LayerCommand } from './layers.js';
import {
	defaultSessionPolicy,
	iceTransition,
	initialIceState,
	initialSessionState,
	sessionTransition,
} from './reconnect.js';
import type { IceEffect, IceRecoveryState, SessionEffect, SessionEvent, SessionPolicy, SessionState } from './reconnect.js';
import type { VideoCodecChoice } from './settings.js';
import type { RtcStatLike } from './stats.js';

export type { MediaSource } from './sources.js';
export { mediaSources } from './sources.js';

export type RemoteConsumer = {
	id: string;
	peerId: PeerId;
	producerId: string;
	kind: 'audio' | 'video';
	source: MediaSource | 'unknown';
	track: MediaStreamTrack;
	/** Paused by its sender (muted microphone, camera off). */
	producerPaused: boolean;
	spatialLayers: number;
	temporalLayers: number;
	/** Height of the top layer as the sender declared it (appData.height), when it did. */
	topLayerHeight?: number | undefined;
	codec: string;
};

export type ChatMessage = {
	id: string;
	peerId: PeerId;
	displayName: string;
	text: string;
	sentAt: number;
	receivedAt: number;
	own: boolean;
};

export type TransportDirection = 'send' | 'recv';

export type ProducerState = { source: MediaSource; producerId: string; paused: boolean; codec: string };

export type RoomClientEvents = {
	session: [SessionState];
	/** The room's other peers, complete (after each join). */
	peers: [PeerInfo[]];
	peerJoined: [PeerInfo];
	peerLeft: [PeerId];
	peerRenamed: [PeerId, string];
	consumerAdded: [RemoteConsumer];
	consumerClosed: [string];
	consumerProducerPaused: [string, boolean];
	consumerLayers: [string, number | null, number | null];
	consumerScore: [string, NotificationsFromServer['consumerScore']['score']];
	/** A producer was created (undefined: closed) for a source. */
	producer: [MediaSource, ProducerState | undefined];
	producerScore: [MediaSource, NotificationsFromServer['producerScore']['score']];
	/** A published track ended by itself (device unplugged, the browser's "stop sharing"); it is unpublished. */
	trackEnded: [MediaSource];
	activeSpeaker: [PeerId | null];
	speakingPeers: [NotificationsFromServer['speakingPeers']['peerVolumes']];
	chatReady: [boolean];
	chatMessage: [ChatMessage];
	transportState: [TransportDirection, msc.ConnectionState];
	/** Our role, permissions, the room's lock and a host's mute: after the join, an admission, and each change. */
	access: [AccessState];
	/** Hosts: who waits in the lobby now. */
	lobbyChanged: [LobbyEntry[]];
	/** How many joined peers may not publish (a stream's audience): at the join, then as it changes. */
	audience: [number];
	/** Peers with `seeParticipants`: the raised hands now, oldest first. */
	hands: [RaisedHand[]];
	peerRoleChanged: [PeerId, Role];
	/** A host acted on our media; what that means for what we publish is done already. */
	moderated: [NotificationsFromServer['moderated']];
	/** The server stopped a source (a host, or a role that no longer allows it): it is unpublished. */
	mediaWithdrawn: [MediaSource];
	/** Something the user should see; the session may go on. */
	error: [UserError];
};

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
	sessionPolicy?: SessionPolicy;
};

type Publication = { track: MediaStreamTrack; paused: boolean };

/** What every current Chromium/Firefox/Safari supports; mediasoup-client no longer reports it. */
const SCTP_CAPABILITIES = { numStreams: { OS: 1024, MIS: 1024 } };

const CHAT_LABEL = 'chat';
const MAX_CHAT_LENGTH = 2000;

/**
 * Permissions that need a sending transport at once. Chat alone does not: a
 * stream's audience (who may chat but not publish) opens one only when it
 * first sends a message, so a thousand silent viewers cost the server no
 * sending transports.
 */
const PUBLISHING: readonly Permission[] = ['publishAudio', 'publishVideo', 'publishScreen', 'publishData'];

/** How long a first chat message of the audience waits for its data channel to open. */
const CHAT_OPEN_TIMEOUT_MS = 10_000;

type ChatWire = { text: string; sentAt: number; displayName: string };

function parseChat(raw: unknown): ChatWire | undefined {
	if (typeof raw !== 'string' || raw.length > MAX_CHAT_LENGTH * 4) return undefined;
	try {
		const value = JSON.parse(raw) as Partial<ChatWire>;
		if (typeof value.text !== 'string' || value.text.trim() === '') return undefined;
		return {
			text: value.text.slice(0, MAX_CHAT_LENGTH),
			sentAt: typeof value.sentAt === 'number' ? value.sentAt : Date.now(),
			displayName: typeof value.displayName === 'string' ? value.displayName.slice(0, 100) : '',
		};
	} catch {
		return undefined;
	}
}

export class RoomClient extends TypedEmitter<RoomClientEvents> {
	readonly peerId: PeerId;
	readonly #options: RoomClientOptions;
	readonly #policy: SessionPolicy;
	#session: SessionState = initialSessionState;
	#signalling: Signalling | undefined;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	/** Bumped at every teardown: async work of an older session checks it and stops. */
	#generation = 0;
	#displayName: string;

	#device: Device | undefined;
	readonly #transports = new Map<TransportDirection, msc.Transport>();
	readonly #openingTransports = new Map<TransportDirection, Promise<void>>();
	readonly #ice = new Map<TransportDirection, { state: IceRecoveryState; timer?: ReturnType<typeof setTimeout> }>();
	readonly #publications = new Map<MediaSource, Publication>();
	readonly #producers = new Map<MediaSource, msc.Producer>();
	/** Sources being produced right now, so a second publish waits instead of producing twice. */
	readonly #producing = new Map<MediaSource, Promise<void>>();
	readonly #consumers = new Map<string, msc.Consumer>();
	/** Consumers being created; the server may close one before we are done (then we drop it). */
	readonly #pendingConsumers = new Set<string>();
	readonly #closedWhilePending = new Set<string>();
	readonly #dataConsumers = new Map<string, msc.DataConsumer>();
	#chatProducer: msc.DataProducer | undefined;
	#chatOpening: Promise<void> | undefined;
	readonly #peerNames = new Map<PeerId, string>();
	#access: AccessState;

	constructor(options: RoomClientOptions) {
		super();
		this.#options = options;
		this.#policy = options.sessionPolicy ?? defaultSessionPolicy;
		this.peerId = options.peerId;
		this.#displayName = options.displayName;
		this.#access = provisionalAccess(options.role);
	}

	/** Whether this browser can take part at all (WebRTC, and a handler mediasoup-client knows). */
	static async browserSupported(): Promise<boolean> {
		if (typeof RTCPeerConnection === 'undefined') return false;
		return (await detectDeviceAsync()) !== undefined;
	}

	get session(): SessionState {
		return this.#session;
	}

	get displayName(): string {
		return this.#displayName;
	}

	get access(): AccessState {
		return this.#access;
	}

	/** Connects and joins; progress and failures arrive as 'session' events. */
	start(): void {
		this.#dispatch({ type: 'start' });
	}

	leave(): void {
		this.#dispatch({ type: 'leave' });
		this.removeAllListeners();
	}

	// -------------------------------------------------------------------------
	// Local media: intent first, then the producer if the session is up.
	// -------------------------------------------------------------------------

	/** Publishes (or replaces) the track of a source. The caller keeps owning the track. */
	async publish(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
		this.#publications.set(source, { track, paused });
		await this.#producing.get(source);
		const producer = this.#producers.get(source);
		if (producer && !producer.closed) {
			await producer.replaceTrack({ track });
			await this.#applyPaused(source, producer, paused);
			return;
		}
		if (this.#session.phase === 'joined') await this.#produce(source, this.#generation);
	}

	/** Stops sending a source; the server closes the consumers of the others. */
	async unpublish(source: MediaSource): Promise<void> {
		this.#publications.delete(source);
		await this.#producing.get(source);
		const producer = this.#producers.get(source);
		if (!producer) return;
		this.#producers.delete(source);
		producer.close();
		this.#signalling?.notify('closeProducer', { producerId: producer.id });
		this.emit('producer', source, undefined);
	}

	/** Mute/unmute: pauses the producer so the others see the state (and receive nothing). */
	async setPaused(source: MediaSource, paused: boolean): Promise<void> {
		const publication = this.#publications.get(source);
		if (!publication) return;
		publication.paused = paused;
		await this.#producing.get(source);
		const producer = this.#producers.get(source);
		if (producer && !producer.closed) await this.#applyPaused(source, producer, paused);
	}

	isPublished(source: MediaSource): boolean {
		return this.#publications.has(source);
	}

	changeDisplayName(displayName: string): void {
		this.#displayName = displayName;
		this.#signalling?.notify('changeDisplayName', { displayName });
	}

	/** Layer adaptation: preferred layers, priority, and pausing of tiles nobody sees. */
	applyLayerCommand(command: LayerCommand): void {
		const signalling = this.#signalling;
		const consumer = this.#consumers.get(command.data.consumerId);
		if (!signalling || !consumer || consumer.closed) return;
		switch (command.method) {
			case 'pauseConsumer':
				consumer.pause();
				signalling.notify('pauseConsumer', command.data);
				break;
			case 'resumeConsumer':
				consumer.resume();
				signalling.notify('resumeConsumer', command.data);
				// The picture should come back now, not at the next periodic key frame.
				signalling.notify('requestConsumerKeyFrame', command.data);
				break;
			case 'setConsumerPreferredLayers':
				signalling.notify('setConsumerPreferredLayers', command.data);
				break;
			case 'setConsumerPriority':
				signalling.notify('setConsumerPriority', command.data);
				break;
		}
	}

	/** Raises or lowers our hand (a viewer asking to come on stage); hosts and participants see it. */
	async raiseHand(raised: boolean): Promise<void> {
		const signalling = this.#signalling;
		if (!signalling || this.#session.phase !== 'joined') throw new Error('not in the room');
		await signalling.request('raiseHand', { raised });
	}

	/** A host's request (lib/moderation.ts); refused with 403 by the server without the `moderate` permission. */
	async moderate<M extends ModerationMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		const signalling = this.#signalling;
		if (!signalling || this.#session.phase !== 'joined') throw new Error('not in the room');
		return signalling.request(method, data);
	}

	async sendChat(text: string): Promise<ChatMessage> {
		const trimmed = text.trim().slice(0, MAX_CHAT_LENGTH);
		const producer = this.#chatProducer ?? (await this.#openChatOnDemand());
		if (!producer || producer.closed || producer.readyState !== 'open') {
			throw new Error('chat is not connected');
		}
		const sentAt = Date.now();
		const wire: ChatWire = { text: trimmed, sentAt, displayName: this.#displayName };
		producer.send(JSON.stringify(wire));
		return { id: `${this.peerId}-${sentAt}-${Math.random()}`, peerId: this.peerId, displayName: this.#displayName, text: trimmed, sentAt, receivedAt: sentAt, own: true };
	}

	// -------------------------------------------------------------------------
	// Stats: the browser's view and the server's.
	// -------------------------------------------------------------------------

	async producerStats(source: MediaSource): Promise<{ browser: RtcStatLike[]; server: unknown[] } | undefined> {
		const producer = this.#producers.get(source);
		const signalling = this.#signalling;
		if (!producer || producer.closed || !signalling) return undefined;
		const [browser, server] = await Promise.all([
			producer.getStats().then(toRecords),
			signalling.request('getProducerStats', { producerId: producer.id }).catch(() => []),
		]);
		return { browser, server };
	}

	async consumerStats(consumerId: string): Promise<{ browser: RtcStatLike[]; server: unknown[] } | undefined> {
		const consumer = this.#consumers.get(consumerId);
		const signalling = this.#signalling;
		if (!consumer || consumer.closed || !signalling) return undefined;
		const [browser, server] = await Promise.all([
			consumer.getStats().then(toRecords),
			signalling.request('getConsumerStats', { consumerId }).catch(() => []),
		]);
		return { browser, server };
	}

	// -------------------------------------------------------------------------
	// Session state machine: events in, effects out.
	// -------------------------------------------------------------------------

	#dispatch(event: SessionEvent): void {
		const { state, effects } = sessionTransition(this.#session, event, this.#policy);
		const changed = state !== this.#session;
		this.#session = state;
		for (const effect of effects) this.#run(effect);
		if (changed) this.emit('session', state);
	}

	#run(effect: SessionEffect): void {
		switch (effect.type) {
			case 'openSocket':
				this.#openSocket();
				break;
			case 'closeSocket':
				this.#signalling?.close();
				this.#signalling = undefined;
				break;
			case 'teardownMedia':
				this.#teardownMedia();
				break;
			case 'join':
				this.#settle(this.#generation, this.#join(this.#generation));
				break;
			case 'scheduleRetry':
				clearTimeout(this.#retryTimer);
				this.#retryTimer = setTimeout(() => this.#dispatch({ type: 'retryDue' }), effect.delayMs);
				break;
			case 'cancelRetry':
				clearTimeout(this.#retryTimer);
				this.#retryTimer = undefined;
				break;
		}
	}

	#openSocket(): void {
		this.#signalling?.close();
		this.#signalling = new Signalling(
			this.#options.url,
			{
				open: () => this.#dispatch({ type: 'socketOpen' }),
				failed: () => this.#dispatch({ type: 'socketFailed' }),
				disconnected: () => this.#dispatch({ type: 'socketDisconnected' }),
				closed: () => this.#dispatch({ type: 'socketClosed' }),
			},
			this.#notificationHandlers(),
			this.#requestHandlers(),
		);
	}

	/** The outcome of a join (or of an admission from the lobby) drives the session. */
	#settle(generation: number, work: Promise<'joined' | 'lobby' | undefined>): void {
		work.then(
			(outcome) => {
				if (generation === this.#generation) this.#dispatch({ type: outcome === 'lobby' ? 'lobby' : 'joined' });
			},
			(error: unknown) => {
				if (generation !== this.#generation) return;
				const { error: shown, retriable } = joinError(error);
				console.warn('join failed', error);
				// With the server's reason ("the room is locked"); the failed session shows no second one.
				this.emit('error', shown);
				this.#dispatch({ type: 'joinFailed', reason: shown.kind, retriable });
			},
		);
	}

	// -------------------------------------------------------------------------
	// Join: device, join, then (unless in the lobby) the transports our
	// permissions need, and what the user wants to publish.
	// -------------------------------------------------------------------------

	async #join(generation: number): Promise<'joined' | 'lobby' | undefined> {
		const signalling = this.#signalling;
		if (!signalling) throw new Error('no signalling');
		const stale = () => generation !== this.#generation || signalling !== this.#signalling;

		const routerRtpCapabilities = await signalling.request('getRouterRtpCapabilities', {});
		if (stale()) return undefined;
		// A new Device per session: after a worker died, the router is a new one.
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
		this.#admit(response);
		if (response.lobby) return 'lobby';
		await this.#enter(signalling, generation);
		return 'joined';
	}

	/** The answer of a join or an admission: who we are here, and whom we see. */
	#admit(response: JoinResponse): void {
		this.#setAccess(accessFromJoin(response));
		this.#peerNames.clear();
		for (const peer of response.peers) this.#peerNames.set(peer.id, peer.displayName);
		this.emit('peers', response.peers);
		this.emit('audience', response.audience);
	}

	/**
	 * In the room: the transports our permissions need, what the user wants to
	 * publish (what the role allows), and the chat. Safe to run again after a
	 * change of permissions: it only adds what is missing.
	 */
	async #enter(signalling: Signalling, generation: number): Promise<void> {
		await this.#openTransports(signalling, generation);
		if (generation !== this.#generation) return;
		for (const source of [...this.#publications.keys()]) if (!keepsPublishing(this.#access, source)) this.#withdraw(source);
		const unproduced = [...this.#publications.keys()].filter((source) => !this.#producers.has(source));
		// Publishing failures are shown but do not undo the join.
		const chatNow = can(this.#access, 'chat') && this.#transports.has('send');
		await Promise.all([...unproduced.map((source) => this.#produce(source, generation)), chatNow ? this.#openChat(generation) : undefined]);
		// The audience's chat opens on its first message: until then the page may offer to send.
		if (can(this.#access, 'chat') && !this.#transports.has('send') && generation === this.#generation) this.emit('chatReady', true);
	}

	/** The first message of a peer without a sending transport: open it, and the chat, now. */
	async #openChatOnDemand(): Promise<msc.DataProducer | undefined> {
		const signalling = this.#signalling;
		const device = this.#device;
		const generation = this.#generation;
		if (!signalling || !device || this.#session.phase !== 'joined' || !can(this.#access, 'chat')) return undefined;
		await this.#openTransport('send', device, signalling, generation);
		await this.#openChat(generation);
		const producer = this.#chatProducer;
		if (!producer || producer.readyState === 'open') return producer;
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error('the chat channel did not open')), CHAT_OPEN_TIMEOUT_MS);
			const done = () => {
				clearTimeout(timer);
				resolve();
			};
			producer.once('open', done);
			producer.once('close', done);
			producer.once('transportclose', done);
		});
		return producer;
	}

	/** Sending to publish or chat, receiving to subscribe: each created once, and set up as soon as it exists. */
	async #openTransports(signalling: Signalling, generation: number): Promise<void> {
		const device = this.#device;
		if (!device) return;
		const wanted: TransportDirection[] = [];
		if (PUBLISHING.some((permission) => can(this.#access, permission))) wanted.push('send');
		if (can(this.#access, 'subscribe')) wanted.push('recv');
		await Promise.all(wanted.map((direction) => this.#openTransport(direction, device, signalling, generation)));
	}

	#openTransport(direction: TransportDirection, device: Device, signalling: Signalling, generation: number): Promise<void> {
		if (this.#transports.has(direction)) return Promise.resolve();
		const running = this.#openingTransports.get(direction);
		if (running) return running;
		const forceTcp = this.#options.forceTcp ?? false;
		const opening = signalling
			.request('createWebRtcTransport', { forceTcp, producing: direction === 'send', consuming: direction === 'recv', sctpCapabilities: SCTP_CAPABILITIES })
			.then((info) => {
				if (generation !== this.#generation || signalling !== this.#signalling) return;
				// At once: the server offers consumers as soon as our receiving transport exists.
				const options = transportOptions(info);
				this.#setUpTransport(direction, direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options), signalling, generation);
			})
			.finally(() => {
				if (this.#openingTransports.get(direction) === opening) this.#openingTransports.delete(direction);
			});
		this.#openingTransports.set(direction, opening);
		return opening;
	}

	#setUpTransport(direction: TransportDirection, transport: msc.Transport, signalling: Signalling, generation: number): void {
		this.#transports.set(direction, transport);
		this.#ice.set(direction, { state: initialIceState });
		transport.on('connect', ({ dtlsParameters }, callback, errback) => {
			const started = performance.now();
			signalling
				.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters })
				.then(() => {
					slow(`connectWebRtcTransport (${direction})`, started);
					callback();
				}, errback);
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
				const { paused, ...forwarded } = appData as ClientAppData & { paused?: boolean };
				signalling
					.request('produce', {
						transportId: transport.id,
						kind,
						rtpParameters: rtpParameters as ProduceRequest['rtpParameters'],
						appData: forwarded,
						paused: paused === true,
					})
					.then(callback, errback);
			});
			transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
				signalling
					.request('produceData', {
						transportId: transport.id,
						sctpStreamParameters: sctpStreamParameters as ProduceDataRequest['sctpStreamParameters'],
						label,
						protocol,
						appData,
					})
					.then(callback, errback);
			});
		}
		transport.on('connectionstatechange', (state) => {
			if (generation !== this.#generation) return;
			this.emit('transportState', direction, state);
			this.#iceEvent(direction, { type: 'connectionState', state }, transport, signalling, generation);
		});
	}

	#iceEvent(
		direction: TransportDirection,
		event: Parameters<typeof iceTransition>[1],
		transport: msc.Transport,
		signalling: Signalling,
		generation: number,
	): void {
		const entry = this.#ice.get(direction);
		if (!entry || generation !== this.#generation) return;
		const { state, effects } = iceTransition(entry.state, event);
		entry.state = state;
		for (const effect of effects) this.#runIce(effect, direction, entry, transport, signalling, generation);
	}

	#runIce(
		effect: IceEffect,
		direction: TransportDirection,
		entry: { timer?: ReturnType<typeof setTimeout> },
		transport: msc.Transport,
		signalling: Signalling,
		generation: number,
	): void {
		switch (effect.type) {
			case 'startTimer':
				clearTimeout(entry.timer);
				entry.timer = setTimeout(() => this.#iceEvent(direction, { type: 'timer' }, transport, signalling, generation), effect.delayMs);
				break;
			case 'cancelTimer':
				clearTimeout(entry.timer);
				break;
			case 'restartIce':
				signalling
					.request('restartIce', { transportId: transport.id })
					.then((iceParameters) => transport.restartIce({ iceParameters }))
					.catch((error: unknown) => {
						console.warn('ICE restart failed', error);
						this.#iceEvent(direction, { type: 'restartFailed' }, transport, signalling, generation);
					});
				break;
			case 'rebuild':
				if (generation === this.#generation) this.#dispatch({ type: 'mediaFailed' });
				break;
		}
	}

	async #produce(source: MediaSource, generation: number): Promise<void> {
		const running = this.#producing.get(source);
		if (running) return running;
		const work = this.#produceNow(source, generation).finally(() => {
			if (this.#producing.get(source) === work) this.#producing.delete(source);
		});
		this.#producing.set(source, work);
		return work;
	}

	async #produceNow(source: MediaSource, generation: number): Promise<void> {
		const transport = this.#transports.get('send');
		const device = this.#device;
		const publication = this.#publications.get(source);
		if (!transport || !device || !publication || generation !== this.#generation) return;
		if (publication.track.readyState === 'ended') return;
		const kind = publication.track.kind === 'audio' ? 'audio' : 'video';
		let encodings: EncodingSettings[] | undefined;
		let codec: msc.RtpCodecCapability | undefined;
		if (kind === 'video') {
			encodings = [...(source === 'screen' ? screenEncodings : cameraSimulcastEncodings)];
			codec = pickVideoCodec(device.sendRtpCapabilities.codecs ?? [], this.#options.videoCodec);
			if (!codec && this.#options.videoCodec === 'h264') {
				this.emit('error', userError('unexpected', 'H.264 is not available between this browser and the server; sending VP8.'));
			}
		}
		try {
			const producer = await transport.produce({
				track: publication.track,
				encodings,
				codec,
				codecOptions: kind === 'audio' ? opusCodecOptions : { videoGoogleStartBitrate: 1000 },
				stopTracks: false,
				// A paused camera sends nothing at all, rather than black frames.
				zeroRtpOnPause: true,
				appData: { source, paused: publication.paused, ...declaredSize(publication.track) },
			});
			if (generation !== this.#generation || this.#publications.get(source) !== publication) {
				producer.close();
				if (generation === this.#generation) this.#signalling?.notify('closeProducer', { producerId: producer.id });
				return;
			}
			// The server knows it started paused; pause locally without telling it again.
			if (publication.paused) producer.pause();
			this.#producers.set(source, producer);
			producer.on('trackended', () => {
				// A device unplugged, or the browser's own "stop sharing" button.
				void this.unpublish(source);
				this.emit('trackEnded', source);
			});
			this.emit('producer', source, describeProducer(source, producer));
		} catch (error) {
			if (generation !== this.#generation) return;
			console.warn('produce failed', source, error);
			this.emit('error', userError('media-failed', `sending ${source}: ${error instanceof Error ? error.message : String(error)}`));
		}
	}

	async #applyPaused(source: MediaSource, producer: msc.Producer, paused: boolean): Promise<void> {
		if (producer.paused === paused) return;
		if (paused) {
			producer.pause();
			this.#signalling?.notify('pauseProducer', { producerId: producer.id });
		} else {
			// Asked, not told: while a host keeps us muted the server refuses (403), and we stay paused.
			try {
				await this.#signalling?.request('resumeProducer', { producerId: producer.id });
			} catch (error) {
				const publication = this.#publications.get(source);
				if (publication) publication.paused = true;
				throw error;
			}
			if (producer.closed) return;
			producer.resume();
		}
		this.emit('producer', source, describeProducer(source, producer));
	}

	/** Once per session, however many times entering asks for it. */
	#openChat(generation: number): Promise<void> {
		if (this.#chatProducer) return Promise.resolve();
		if (this.#chatOpening) return this.#chatOpening;
		const opening = this.#openChatNow(generation).finally(() => {
			if (this.#chatOpening === opening) this.#chatOpening = undefined;
		});
		this.#chatOpening = opening;
		return opening;
	}

	async #openChatNow(generation: number): Promise<void> {
		const transport = this.#transports.get('send');
		if (!transport) return;
		try {
			const producer = await transport.produceData({ ordered: true, label: CHAT_LABEL, appData: { source: 'chat' } });
			if (generation !== this.#generation) {
				producer.close();
				return;
			}
			this.#chatProducer = producer;
			const ready = () => this.emit('chatReady', producer.readyState === 'open' && !producer.closed);
			producer.on('open', ready);
			producer.on('close', ready);
			producer.on('transportclose', ready);
			ready();
		} catch (error) {
			if (generation !== this.#generation) return;
			console.warn('chat channel failed', error);
			this.emit('error', userError('chat-failed', error instanceof Error ? error.message : String(error)));
		}
	}

	#teardownMedia(): void {
		this.#generation++;
		for (const entry of this.#ice.values()) clearTimeout(entry.timer);
		this.#ice.clear();
		for (const [source] of this.#producers) this.emit('producer', source, undefined);
		this.#producers.clear();
		this.#producing.clear();
		for (const id of this.#consumers.keys()) this.emit('consumerClosed', id);
		this.#consumers.clear();
		this.#pendingConsumers.clear();
		this.#closedWhilePending.clear();
		this.#dataConsumers.clear();
		if (this.#chatProducer) this.emit('chatReady', false);
		this.#chatProducer = undefined;
		this.#chatOpening = undefined;
		this.#openingTransports.clear();
		// Closing a transport closes its producers, consumers and data channels, without stopping our tracks.
		for (const transport of this.#transports.values()) transport.close();
		this.#transports.clear();
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
		for (const source of pause) this.#pauseLocally(source);
		for (const source of withdraw) this.#withdraw(source);
	}

	/** The server paused it (a host's mute): pause here too, without telling it again. */
	#pauseLocally(source: MediaSource): void {
		const publication = this.#publications.get(source);
		if (publication) publication.paused = true;
		const producer = this.#producers.get(source);
		if (!producer || producer.closed || producer.paused) return;
		producer.pause();
		this.emit('producer', source, describeProducer(source, producer));
	}

	/** The server closed it (or would refuse it): unpublish here too, and let the page release the device. */
	#withdraw(source: MediaSource): void {
		this.#publications.delete(source);
		const producer = this.#producers.get(source);
		this.#producers.delete(source);
		producer?.close();
		if (producer) this.emit('producer', source, undefined);
		this.emit('mediaWithdrawn', source);
	}

	/** After a change of permissions, what is now allowed and missing (a transport, the chat). */
	#reenter(): void {
		const signalling = this.#signalling;
		if (!signalling || this.#session.phase !== 'joined') return;
		this.#enter(signalling, this.#generation).catch((error: unknown) => {
			console.warn('applying new permissions failed', error);
			this.emit('error', userError('unexpected', error instanceof Error ? error.message : String(error)));
		});
	}

	/** Out of the lobby: in as after a join. */
	#admitted(response: JoinResponse): void {
		const signalling = this.#signalling;
		if (!signalling || this.#session.phase !== 'lobby') return;
		const generation = this.#generation;
		this.#admit(response);
		this.#settle(generation, this.#enter(signalling, generation).then(() => 'joined' as const));
	}

	// -------------------------------------------------------------------------
	// What the server sends.
	// -------------------------------------------------------------------------

	#requestHandlers(): ServerRequestHandlers {
		return {
			newConsumer: async (data) => {
				await this.#consume(data);
				return {};
			},
			newDataConsumer: async (data) => {
				await this.#consumeData(data);
				return {};
			},
		};
	}

	async #consume(data: NewConsumerData): Promise<void> {
		const transport = this.#transports.get('recv');
		if (!transport || transport.closed) throw new Error('not ready to consume');
		const source = isMediaSource(data.appData.source) ? data.appData.source : 'unknown';
		this.#pendingConsumers.add(data.id);
		const started = performance.now();
		const consumer = await transport
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
				this.#pendingConsumers.delete(data.id);
				slow(`consume ${data.kind} of ${data.peerId}`, started);
			});
		if (this.#closedWhilePending.delete(data.id) || transport.closed) {
			consumer.close();
			throw new Error(`consumer ${data.id} was closed by the server before it was ready`);
		}
		this.#consumers.set(consumer.id, consumer);
		consumer.on('transportclose', () => this.#consumers.delete(consumer.id));
		const { spatialLayers, temporalLayers } = parseScalabilityMode(consumer.rtpParameters.encodings?.[0]?.scalabilityMode);
		this.emit('consumerAdded', {
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

	async #consumeData(data: NewDataConsumerData): Promise<void> {
		const transport = this.#transports.get('recv');
		if (!transport || transport.closed) throw new Error('not ready to consume data');
		const dataConsumer = await transport.consumeData({
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
			this.emit('chatMessage', {
				id: `${data.peerId}-${chat.sentAt}-${Math.random()}`,
				peerId: data.peerId,
				displayName: this.#peerNames.get(data.peerId) ?? chat.displayName,
				text: chat.text,
				sentAt: chat.sentAt,
				receivedAt: Date.now(),
				own: false,
			});
		});
	}

	#notificationHandlers(): ServerNotificationHandlers {
		return {
			newPeer: (peer) => {
				this.#peerNames.set(peer.id, peer.displayName);
				this.emit('peerJoined', peer);
			},
			peerClosed: ({ peerId }) => {
				this.#peerNames.delete(peerId);
				this.emit('peerLeft', peerId);
			},
			peerDisplayNameChanged: ({ peerId, displayName }) => {
				this.#peerNames.set(peerId, displayName);
				this.emit('peerRenamed', peerId, displayName);
			},
			producerScore: ({ producerId, score }) => {
				for (const [source, producer] of this.#producers) {
					if (producer.id === producerId) this.emit('producerScore', source, score);
				}
			},
			consumerScore: ({ consumerId, score }) => this.emit('consumerScore', consumerId, score),
			consumerPaused: ({ consumerId }) => {
				if (this.#consumers.has(consumerId)) this.emit('consumerProducerPaused', consumerId, true);
			},
			consumerResumed: ({ consumerId }) => {
				if (this.#consumers.has(consumerId)) this.emit('consumerProducerPaused', consumerId, false);
			},
			consumerLayersChanged: ({ consumerId, spatialLayer, temporalLayer }) =>
				this.emit('consumerLayers', consumerId, spatialLayer, temporalLayer),
			consumerClosed: ({ consumerId }) => {
				if (this.#pendingConsumers.has(consumerId)) this.#closedWhilePending.add(consumerId);
				const consumer = this.#consumers.get(consumerId);
				if (!consumer) return;
				this.#consumers.delete(consumerId);
				consumer.close();
				this.emit('consumerClosed', consumerId);
			},
			dataConsumerClosed: ({ dataConsumerId }) => {
				this.#dataConsumers.get(dataConsumerId)?.close();
				this.#dataConsumers.delete(dataConsumerId);
			},
			activeSpeaker: ({ peerId }) => this.emit('activeSpeaker', peerId),
			speakingPeers: ({ peerVolumes }) => this.emit('speakingPeers', peerVolumes),
			reconnectRequired: ({ reason }) => this.#dispatch({ type: 'reconnectRequired', reason }),
			sessionReplaced: () => this.#dispatch({ type: 'sessionReplaced' }),
			sessionEnded: ({ reason }) => this.#dispatch({ type: 'sessionEnded', reason }),
			permissionsChanged: (data) => {
				this.#apply(permissionsChanged(this.#access, data, [...this.#publications.keys()]));
				this.#reenter();
			},
			moderated: (event) => {
				this.#apply(moderated(this.#access, event, [...this.#publications.keys()]));
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

/**
 * The capture size, sent with a video producer (appData.width/height) so
 * receivers know the top simulcast layer's size before any frame arrives:
 * the layer policy picks by it.
 */
function declaredSize(track: MediaStreamTrack): { width?: number; height?: number } {
	if (track.kind !== 'video') return {};
	const { width, height } = track.getSettings();
	return { ...(width ? { width } : {}), ...(height ? { height } : {}) };
}

function plausibleHeight(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) && value >= 90 && value <= 4320 ? value : undefined;
}

/** Logs steps that take long enough for the server to give up on them (its requests time out after 30 s). */
function slow(what: string, started: number): void {
	const ms = performance.now() - started;
	if (ms > 3000) console.warn(`${what} took ${Math.round(ms)} ms`);
}

function transportOptions(info: CreateWebRtcTransportResponse): msc.TransportOptions {
	return {
		id: info.id,
		iceParameters: info.iceParameters,
		iceCandidates: info.iceCandidates as msc.IceCandidate[],
		dtlsParameters: info.dtlsParameters as msc.DtlsParameters,
		sctpParameters: info.sctpParameters as msc.SctpParameters | undefined,
		// TURN with time-limited credentials, when the server has it configured; rebuilt transports get fresh ones.
		iceServers: info.iceServers ?? [],
	};
}

function describeProducer(source: MediaSource, producer: msc.Producer): ProducerState {
	return { source, producerId: producer.id, paused: producer.paused, codec: producer.rtpParameters.codecs[0]?.mimeType ?? '' };
}

function toRecords(report: RTCStatsReport): RtcStatLike[] {
	const records: RtcStatLike[] = [];
	report.forEach((stat: RtcStatLike) => records.push({ ...stat }));
	return records;
}

export { SignallingError };

/**
 * What this peer sends: the sending transport, a producer per published
 * source, and the chat's data producer. What the user publishes (a track
 * per source, paused or not) is kept as intent, so that a rebuilt session
 * produces it again; a resumed one keeps its producers, and the resume plan
 * says what to fix.
 */
import type { Device, types as msc } from 'mediasoup-client';
import type { ClientAppData, ProduceDataRequest, ProduceRequest } from '../../../server/signalling/protocol.js';
import { CHAT_LABEL, chatWire } from './chat.js';
import type { ChatWire } from './chat.js';
import { cameraSimulcastEncodings, opusCodecOptions, pickVideoCodec, screenEncodings } from './encodings.js';
import type { EncodingSettings } from './encodings.js';
import { userError } from './errors.js';
import { MediaTransport, transportOptions } from './MediaTransport.js';
import type { CurrentSignalling } from './MediaTransport.js';
import type { IcePolicy, ServerIceState } from './reconnect.js';
import type { LocalSession, ResumePlan } from './resume.js';
import type { Emit, ProducerState } from './roomEvents.js';
import type { VideoCodecChoice } from './settings.js';
import type { MediaSource } from './sources.js';
import type { RtcStatLike } from './stats.js';

/** What every current Chromium/Firefox/Safari supports; mediasoup-client no longer reports it. */
export const SCTP_CAPABILITIES = { numStreams: { OS: 1024, MIS: 1024 } };

/** How long a first chat message of the audience waits for its data channel to open. */
const CHAT_OPEN_TIMEOUT_MS = 10_000;

type Publication = { track: MediaStreamTrack; paused: boolean };

export type PublisherOptions = {
	emit: Emit;
	signalling: CurrentSignalling;
	/** Whether the session is in the room now (publishing waits until it is). */
	joined: () => boolean;
	videoCodec: VideoCodecChoice;
	forceTcp: boolean;
	icePolicy?: IcePolicy | undefined;
	/** The sending transport's ICE could not be restarted. */
	onGaveUp: () => void;
	/** Its path looks broken: the signalling may be dead too. */
	onInterrupted?: (() => void) | undefined;
};

export class Publisher {
	readonly #options: PublisherOptions;
	readonly #emit: Emit;
	/** Bumped at every teardown: async work of an older session checks it and stops. */
	#generation = 0;
	#device: Device | undefined;
	#transport: MediaTransport | undefined;
	#opening: Promise<void> | undefined;
	readonly #publications = new Map<MediaSource, Publication>();
	readonly #producers = new Map<MediaSource, msc.Producer>();
	/** Sources being produced right now, so a second publish waits instead of producing twice. */
	readonly #producing = new Map<MediaSource, Promise<void>>();
	#chatProducer: msc.DataProducer | undefined;
	#chatOpening: Promise<void> | undefined;

	constructor(options: PublisherOptions) {
		this.#options = options;
		this.#emit = options.emit;
	}

	// -------------------------------------------------------------------------
	// Intent, and the producer if the session is up.
	// -------------------------------------------------------------------------

	/** Publishes (or replaces) the track of a source. The caller keeps owning the track. */
	async publish(source: MediaSource, track: MediaStreamTrack, paused: boolean): Promise<void> {
		this.#publications.set(source, { track, paused });
		await this.#producing.get(source);
		const producer = this.#producers.get(source);
		if (producer && !producer.closed) {
			await producer.replaceTrack({ track });
			await this.#applyPaused(source, producer, paused);
			return;
		}
		if (this.#options.joined()) await this.#produce(source);
	}

	/** Stops sending a source; the server closes the consumers of the others. */
	async unpublish(source: MediaSource): Promise<void> {
		this.#publications.delete(source);
		await this.#producing.get(source);
		const producer = this.#producers.get(source);
		if (!producer) return;
		this.#producers.delete(source);
		producer.close();
		// Lost while disconnected: the resume finds the producer on the server and closes it then.
		this.#options.signalling()?.notify('closeProducer', { producerId: producer.id });
		this.#emit('producer', source, undefined);
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

	get published(): MediaSource[] {
		return [...this.#publications.keys()];
	}

	get hasTransport(): boolean {
		return this.#transport !== undefined;
	}

	sourceOf(producerId: string): MediaSource | undefined {
		for (const [source, producer] of this.#producers) if (producer.id === producerId) return source;
		return undefined;
	}

	// -------------------------------------------------------------------------
	// In the room: the transport, what is not produced yet, the chat.
	// -------------------------------------------------------------------------

	/** Created once, and set up as soon as the server answers. */
	openTransport(device: Device): Promise<void> {
		this.#device = device;
		if (this.#transport) return Promise.resolve();
		if (this.#opening) return this.#opening;
		const signalling = this.#options.signalling();
		if (!signalling) return Promise.reject(new Error('not connected to the server'));
		const generation = this.#generation;
		const opening = signalling
			.request('createWebRtcTransport', { forceTcp: this.#options.forceTcp, producing: true, consuming: false, sctpCapabilities: SCTP_CAPABILITIES })
			.then((info) => {
				if (generation !== this.#generation) return;
				this.#transport = this.#setUp(device.createSendTransport(transportOptions(info)));
			})
			.finally(() => {
				if (this.#opening === opening) this.#opening = undefined;
			});
		this.#opening = opening;
		return opening;
	}

	/** Produces every published source that has no producer yet and that `allowed` says may be. */
	async produceMissing(allowed: (source: MediaSource) => boolean): Promise<void> {
		for (const source of this.published) if (!allowed(source)) this.withdraw(source);
		const missing = this.published.filter((source) => !this.#producers.has(source));
		// Publishing failures are shown but do not undo the join.
		await Promise.all(missing.map((source) => this.#produce(source)));
	}

	/** Once per session, however many times entering asks for it. */
	openChat(): Promise<void> {
		if (this.#chatProducer) return Promise.resolve();
		if (this.#chatOpening) return this.#chatOpening;
		const opening = this.#openChatNow(this.#generation).finally(() => {
			if (this.#chatOpening === opening) this.#chatOpening = undefined;
		});
		this.#chatOpening = opening;
		return opening;
	}

	/** The first message of a peer without a sending transport: open it, and the chat, now. */
	async openChatOnDemand(device: Device): Promise<msc.DataProducer | undefined> {
		await this.openTransport(device);
		await this.openChat();
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

	get chatProducer(): msc.DataProducer | undefined {
		return this.#chatProducer;
	}

	sendChat(producer: msc.DataProducer, text: string, displayName: string): ChatWire {
		const wire = chatWire(text, displayName, Date.now());
		producer.send(JSON.stringify(wire));
		return wire;
	}

	// -------------------------------------------------------------------------
	// What the server decides (a host, our role).
	// -------------------------------------------------------------------------

	/** The server paused it (a host's mute): pause here too, without telling it again. */
	pauseLocally(source: MediaSource): void {
		const publication = this.#publications.get(source);
		if (publication) publication.paused = true;
		const producer = this.#producers.get(source);
		if (!producer || producer.closed || producer.paused) return;
		producer.pause();
		this.#emit('producer', source, describeProducer(source, producer));
	}

	/** The server closed it (or would refuse it): unpublish here too, and let the page release the device. */
	withdraw(source: MediaSource): void {
		this.#publications.delete(source);
		const producer = this.#producers.get(source);
		this.#producers.delete(source);
		producer?.close();
		if (producer) this.#emit('producer', source, undefined);
		this.#emit('mediaWithdrawn', source);
	}

	// -------------------------------------------------------------------------
	// The session's life: suspended while the connection is away, resumed, torn down.
	// -------------------------------------------------------------------------

	localState(): Pick<LocalSession, 'producers' | 'chatProducerId'> & { transport?: LocalSession['transports'][number] | undefined } {
		const transport = this.#transport;
		return {
			transport: transport && !transport.closed ? { direction: 'send', id: transport.id, connectionState: transport.connectionState } : undefined,
			producers: [...this.#producers].filter(([, p]) => !p.closed).map(([source, p]) => ({ source, id: p.id, paused: p.paused })),
			chatProducerId: this.#chatProducer && !this.#chatProducer.closed ? this.#chatProducer.id : undefined,
		};
	}

	suspend(): void {
		this.#transport?.suspend();
	}

	networkChanged(): void {
		this.#transport?.networkChanged();
	}

	/** Carries out our part of a resume's plan; what is missing afterwards is produced by `produceMissing`. */
	async resume(plan: ResumePlan, serverIceState: ServerIceState | undefined): Promise<void> {
		const signalling = this.#options.signalling();
		if (plan.dropTransports.includes('send')) {
			this.#dropTransport();
		} else if (serverIceState) {
			this.#transport?.resumed(serverIceState, plan.pathLost);
		}
		for (const source of plan.withdrawProducers) this.withdraw(source);
		for (const producerId of plan.closeOnServer) signalling?.notify('closeProducer', { producerId });
		for (const source of plan.pauseHere) this.pauseLocally(source);
		for (const producerId of plan.pauseOnServer) signalling?.notify('pauseProducer', { producerId });
		if (plan.reopenChat) this.#dropChat();
		await Promise.all(
			plan.resumeOnServer.map(async (producerId) => {
				const source = this.sourceOf(producerId);
				if (!source) return;
				try {
					await signalling?.request('resumeProducer', { producerId });
				} catch (error) {
					console.warn('resuming a producer after the resume was refused', source, error);
					this.pauseLocally(source);
				}
			}),
		);
	}

	/** Everything closed: the server side is gone (a new join follows, or the user left). */
	teardown(): void {
		this.#generation++;
		for (const [source] of this.#producers) this.#emit('producer', source, undefined);
		this.#producers.clear();
		this.#producing.clear();
		this.#dropChat();
		this.#opening = undefined;
		this.#transport?.close();
		this.#transport = undefined;
		this.#device = undefined;
	}

	async stats(source: MediaSource): Promise<{ browser: RtcStatLike[]; server: unknown[] } | undefined> {
		const producer = this.#producers.get(source);
		const signalling = this.#options.signalling();
		if (!producer || producer.closed || !signalling) return undefined;
		const [browser, server] = await Promise.all([
			producer.getStats().then(toRecords),
			signalling.request('getProducerStats', { producerId: producer.id }).catch(() => []),
		]);
		return { browser, server };
	}

	// -------------------------------------------------------------------------

	#setUp(transport: msc.Transport): MediaTransport {
		const { signalling } = this.#options;
		transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
			const current = signalling();
			if (!current) return errback(new Error('not connected to the server'));
			const { paused, ...forwarded } = appData as ClientAppData & { paused?: boolean };
			current
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
			const current = signalling();
			if (!current) return errback(new Error('not connected to the server'));
			current
				.request('produceData', {
					transportId: transport.id,
					sctpStreamParameters: sctpStreamParameters as ProduceDataRequest['sctpStreamParameters'],
					label,
					protocol,
					appData,
				})
				.then(callback, errback);
		});
		return new MediaTransport({
			direction: 'send',
			transport,
			signalling,
			icePolicy: this.#options.icePolicy,
			onState: (state) => this.#emit('transportState', 'send', state),
			onGaveUp: this.#options.onGaveUp,
			onInterrupted: this.#options.onInterrupted,
		});
	}

	/** The server no longer has our sending transport: everything on it goes, and is produced again on a new one. */
	#dropTransport(): void {
		for (const [source] of this.#producers) this.#emit('producer', source, undefined);
		this.#producers.clear();
		this.#dropChat();
		this.#transport?.close();
		this.#transport = undefined;
	}

	#dropChat(): void {
		if (this.#chatProducer) {
			this.#chatProducer.close();
			this.#emit('chatReady', false);
		}
		this.#chatProducer = undefined;
		this.#chatOpening = undefined;
	}

	#produce(source: MediaSource): Promise<void> {
		const running = this.#producing.get(source);
		if (running) return running;
		const work = this.#produceNow(source, this.#generation).finally(() => {
			if (this.#producing.get(source) === work) this.#producing.delete(source);
		});
		this.#producing.set(source, work);
		return work;
	}

	async #produceNow(source: MediaSource, generation: number): Promise<void> {
		const transport = this.#transport;
		const device = this.#device;
		const publication = this.#publications.get(source);
		if (!transport || transport.closed || !device || !publication || generation !== this.#generation) return;
		if (publication.track.readyState === 'ended') return;
		const signalling = this.#options.signalling();
		const kind = publication.track.kind === 'audio' ? 'audio' : 'video';
		let encodings: EncodingSettings[] | undefined;
		let codec: msc.RtpCodecCapability | undefined;
		if (kind === 'video') {
			encodings = [...(source === 'screen' ? screenEncodings : cameraSimulcastEncodings)];
			codec = pickVideoCodec(device.sendRtpCapabilities.codecs ?? [], this.#options.videoCodec);
			if (!codec && this.#options.videoCodec === 'h264') {
				this.#emit('error', userError('unexpected', 'H.264 is not available between this browser and the server; sending VP8.'));
			}
		}
		try {
			const producer = await transport.transport.produce({
				track: publication.track,
				encodings,
				codec,
				codecOptions: kind === 'audio' ? opusCodecOptions : { videoGoogleStartBitrate: 1000 },
				stopTracks: false,
				// A paused camera sends nothing at all, rather than black frames.
				zeroRtpOnPause: true,
				appData: { source, paused: publication.paused, ...declaredSize(publication.track) },
			});
			if (generation !== this.#generation || this.#publications.get(source) !== publication || transport !== this.#transport) {
				producer.close();
				if (generation === this.#generation) this.#options.signalling()?.notify('closeProducer', { producerId: producer.id });
				return;
			}
			// The server knows it started paused; pause locally without telling it again.
			if (publication.paused) producer.pause();
			this.#producers.set(source, producer);
			producer.on('trackended', () => {
				// A device unplugged, or the browser's own "stop sharing" button.
				void this.unpublish(source);
				this.#emit('trackEnded', source);
			});
			this.#emit('producer', source, describeProducer(source, producer));
		} catch (error) {
			if (generation !== this.#generation) return;
			// Cut off with the connection: the resume produces it again (and closes the server's copy, if the answer was lost).
			if (!signalling || signalling.closed) {
				console.info('produce interrupted by the connection; done again after the resume', source);
				return;
			}
			console.warn('produce failed', source, error);
			this.#emit('error', userError('media-failed', `sending ${source}: ${error instanceof Error ? error.message : String(error)}`));
		}
	}

	async #applyPaused(source: MediaSource, producer: msc.Producer, paused: boolean): Promise<void> {
		if (producer.paused === paused) return;
		const signalling = this.#options.signalling();
		if (paused) {
			producer.pause();
			signalling?.notify('pauseProducer', { producerId: producer.id });
		} else {
			// Asked, not told: while a host keeps us muted the server refuses (403), and we stay paused.
			// Disconnected, it is resumed here and the resume of the session asks the server.
			try {
				await signalling?.request('resumeProducer', { producerId: producer.id });
			} catch (error) {
				if (signalling?.closed !== true) {
					const publication = this.#publications.get(source);
					if (publication) publication.paused = true;
					throw error;
				}
			}
			if (producer.closed) return;
			producer.resume();
		}
		this.#emit('producer', source, describeProducer(source, producer));
	}

	async #openChatNow(generation: number): Promise<void> {
		const transport = this.#transport;
		if (!transport || transport.closed) return;
		const signalling = this.#options.signalling();
		try {
			const producer = await transport.transport.produceData({ ordered: true, label: CHAT_LABEL, appData: { source: 'chat' } });
			if (generation !== this.#generation || transport !== this.#transport) {
				producer.close();
				return;
			}
			this.#chatProducer = producer;
			const ready = () => this.#emit('chatReady', producer.readyState === 'open' && !producer.closed);
			producer.on('open', ready);
			producer.on('close', ready);
			producer.on('transportclose', ready);
			ready();
		} catch (error) {
			if (generation !== this.#generation) return;
			if (!signalling || signalling.closed) return;
			console.warn('chat channel failed', error);
			this.#emit('error', userError('chat-failed', error instanceof Error ? error.message : String(error)));
		}
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

export function describeProducer(source: MediaSource, producer: msc.Producer): ProducerState {
	return { source, producerId: producer.id, paused: producer.paused, codec: producer.rtpParameters.codecs[0]?.mimeType ?? '' };
}

export function toRecords(report: RTCStatsReport): RtcStatLike[] {
	const records: RtcStatLike[] = [];
	report.forEach((stat: RtcStatLike) => records.push({ ...stat }));
	return records;
}

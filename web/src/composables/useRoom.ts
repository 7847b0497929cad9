/**
 * The call as the page sees it: session state, the other peers and what we
 * receive from them, what we send, who speaks, and the actions (join, mute,
 * share, leave). It drives one RoomClient per join.
 */
import { computed, markRaw, onScopeDispose, reactive, ref, shallowRef } from 'vue';
import type { PeerInfo, PeerId } from '../../../server/signalling/protocol';
import { RoomClient } from '../lib/RoomClient.js';
import type { MediaSource, ProducerState, RemoteConsumer } from '../lib/RoomClient.js';
import { userError } from '../lib/errors.js';
import type { UserError } from '../lib/errors.js';
import { qualityFromScore, worstQuality } from '../lib/format.js';
import type { Quality } from '../lib/format.js';
import { initialSessionState } from '../lib/reconnect.js';
import type { SessionState } from '../lib/reconnect.js';
import { randomId, signallingUrl } from '../lib/settings.js';
import type { VideoCodecChoice } from '../lib/settings.js';
import type { Media } from './useMedia.js';

export type ConsumerView = Omit<RemoteConsumer, 'track'> & {
	track: MediaStreamTrack;
	/** Paused by us (tile not visible). */
	localPaused: boolean;
	currentSpatialLayer?: number | null | undefined;
	currentTemporalLayer?: number | null | undefined;
	preferredSpatialLayer?: number | undefined;
	preferredTemporalLayer?: number | undefined;
	score?: number | undefined;
	producerScore?: number | undefined;
};

export type PeerView = PeerInfo & {
	mic?: ConsumerView | undefined;
	webcam?: ConsumerView | undefined;
	screen?: ConsumerView | undefined;
	screenAudio?: ConsumerView | undefined;
	quality: Quality;
};

export type LocalProducerView = ProducerState & { score?: number | undefined };

export type JoinOptions = {
	roomId: string;
	displayName: string;
	videoCodec: VideoCodecChoice;
	micOn: boolean;
	cameraOn: boolean;
	serverUrl?: string | undefined;
	forceTcp?: boolean | undefined;
	/** performance.now() of the click on Join (default: now), for the join-to-first-frame measure. */
	startedAt?: number | undefined;
};

/** Marks read by the end-to-end test and shown in the stats panel. */
export const JOIN_MARK = 'sfu:join';
export const FIRST_FRAME_MEASURE = 'sfu:join-to-first-frame';

export function useRoom(media: Media) {
	const client = shallowRef<RoomClient>();
	const session = ref<SessionState>(initialSessionState);
	const roomId = ref('');
	const displayName = ref('');
	const peers = ref<PeerInfo[]>([]);
	const consumers = reactive(new Map<string, ConsumerView>());
	const producers = reactive(new Map<MediaSource, LocalProducerView>());
	const activeSpeakerId = ref<PeerId | null>(null);
	const speakingVolumes = ref<Record<PeerId, number>>({});
	const errors = ref<UserError[]>([]);
	const transportStates = reactive({ send: 'new', recv: 'new' });
	const micPaused = ref(false);
	const cameraPaused = ref(false);
	const screenStream = shallowRef<MediaStream>();
	const joinToFirstFrameMs = ref<number>();
	let joinStartedAt: number | undefined;
	/** One id per page: a reconnection with the same id replaces the stale session on the server. */
	const peerId = randomId(12);

	function showError(error: UserError): void {
		if (errors.value.some((e) => e.kind === error.kind && e.detail === error.detail)) return;
		errors.value = [...errors.value, error].slice(-4);
	}

	function dismissError(error: UserError): void {
		errors.value = errors.value.filter((e) => e !== error);
	}

	function attach(room: RoomClient): void {
		room.on('session', (state) => {
			session.value = state;
			if (state.phase === 'failed' && state.failure) showError(userError(state.failure));
		});
		room.on('peers', (list) => {
			peers.value = list;
		});
		room.on('peerJoined', (peer) => {
			peers.value = [...peers.value.filter((p) => p.id !== peer.id), peer];
		});
		room.on('peerLeft', (id) => {
			peers.value = peers.value.filter((p) => p.id !== id);
			for (const [consumerId, consumer] of consumers) if (consumer.peerId === id) consumers.delete(consumerId);
			if (activeSpeakerId.value === id) activeSpeakerId.value = null;
		});
		room.on('peerRenamed', (id, name) => {
			peers.value = peers.value.map((p) => (p.id === id ? { ...p, displayName: name } : p));
		});
		room.on('consumerAdded', (consumer) => {
			consumers.set(consumer.id, { ...consumer, track: markRaw(consumer.track), localPaused: false });
		});
		room.on('consumerClosed', (id) => consumers.delete(id));
		room.on('consumerProducerPaused', (id, paused) => {
			const consumer = consumers.get(id);
			if (consumer) consumer.producerPaused = paused;
		});
		room.on('consumerLayers', (id, spatial, temporal) => {
			const consumer = consumers.get(id);
			if (!consumer) return;
			consumer.currentSpatialLayer = spatial;
			consumer.currentTemporalLayer = temporal;
		});
		room.on('consumerScore', (id, score) => {
			const consumer = consumers.get(id);
			if (!consumer) return;
			consumer.score = score.score;
			consumer.producerScore = score.producerScore;
		});
		room.on('producer', (source, producer) => {
			if (!producer) producers.delete(source);
			else producers.set(source, { ...producers.get(source), ...producer });
		});
		room.on('producerScore', (source, scores) => {
			const producer = producers.get(source);
			// Simulcast: one score per stream; the best stream is what receivers can get.
			if (producer) producer.score = scores.length === 0 ? undefined : Math.max(...scores.map((s) => s.score));
		});
		room.on('trackEnded', (source) => {
			if (source === 'screen') void stopScreenShare();
			if (source === 'webcam') media.stopCamera();
			if (source === 'mic') media.stopMicrophone();
		});
		room.on('activeSpeaker', (id) => {
			activeSpeakerId.value = id;
		});
		room.on('speakingPeers', (volumes) => {
			speakingVolumes.value = Object.fromEntries(volumes.map((v) => [v.peerId, v.volume]));
		});
		room.on('transportState', (direction, state) => {
			transportStates[direction] = state;
		});
		room.on('error', showError);
	}

	async function join(options: JoinOptions): Promise<void> {
		client.value?.leave();
		joinStartedAt = options.startedAt ?? performance.now();
		joinToFirstFrameMs.value = undefined;
		performance.clearMarks(JOIN_MARK);
		performance.clearMeasures(FIRST_FRAME_MEASURE);
		performance.mark(JOIN_MARK, { startTime: joinStartedAt });
		errors.value = [];
		roomId.value = options.roomId;
		displayName.value = options.displayName;
		peers.value = [];
		consumers.clear();
		producers.clear();
		if (!(await RoomClient.browserSupported())) {
			session.value = { ...initialSessionState, phase: 'failed', failure: 'unsupported-browser' };
			showError(userError('unsupported-browser'));
			return;
		}
		const room = new RoomClient({
			url: signallingUrl(location.href, options.roomId, peerId, options.serverUrl),
			peerId,
			displayName: options.displayName,
			videoCodec: options.videoCodec,
			forceTcp: options.forceTcp ?? false,
		});
		attach(room);
		client.value = room;
		micPaused.value = !options.micOn;
		cameraPaused.value = !options.cameraOn;
		// The preview's tracks go straight into the call.
		if (options.micOn && media.microphoneTrack.value) void room.publish('mic', media.microphoneTrack.value);
		if (options.cameraOn && media.cameraTrack.value) void room.publish('webcam', media.cameraTrack.value);
		// Off at join: release the devices, so no camera light stays on.
		if (!options.cameraOn) media.stopCamera();
		if (!options.micOn) media.stopMicrophone();
		room.start();
	}

	function leave(): void {
		void stopScreenShare();
		client.value?.leave();
		client.value = undefined;
		session.value = { ...session.value, phase: 'left' };
		peers.value = [];
		consumers.clear();
		producers.clear();
		activeSpeakerId.value = null;
	}

	/** Microphone: the first unmute opens the device; later ones pause/resume the producer. */
	async function setMicrophoneOn(on: boolean): Promise<void> {
		const room = client.value;
		if (!room) return;
		if (on && !room.isPublished('mic')) {
			const track = await media.startMicrophone();
			if (!track) return;
			await room.publish('mic', track);
		} else {
			await room.setPaused('mic', !on);
		}
		micPaused.value = !on;
	}

	/** Camera: like the microphone; off pauses the producer so the others see "camera off". */
	async function setCameraOn(on: boolean): Promise<void> {
		const room = client.value;
		if (!room) return;
		if (on && !room.isPublished('webcam')) {
			const track = await media.startCamera();
			if (!track) return;
			await room.publish('webcam', track);
		} else {
			await room.setPaused('webcam', !on);
		}
		cameraPaused.value = !on;
	}

	async function switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
		const opened = await media.switchDevice(kind, deviceId);
		if (!opened) return;
		const room = client.value;
		const source: MediaSource = kind === 'audio' ? 'mic' : 'webcam';
		try {
			if (room?.isPublished(source)) await room.publish(source, opened.track, kind === 'audio' ? micPaused.value : cameraPaused.value);
			opened.commit();
		} catch (error) {
			opened.track.stop();
			showError(userError('media-failed', `switching device: ${error instanceof Error ? error.message : String(error)}`));
		}
	}

	async function startScreenShare(): Promise<void> {
		const room = client.value;
		if (!room || screenStream.value) return;
		const stream = await media.captureScreen();
		if (!stream) return;
		const video = stream.getVideoTracks()[0];
		if (!video) {
			for (const track of stream.getTracks()) track.stop();
			return;
		}
		// Text and slides: keep resolution, drop frames when short of bits.
		video.contentHint = 'detail';
		screenStream.value = markRaw(stream);
		await room.publish('screen', video);
		const audio = stream.getAudioTracks()[0];
		if (audio) await room.publish('screen-audio', audio);
	}

	async function stopScreenShare(): Promise<void> {
		const stream = screenStream.value;
		if (!stream) return;
		screenStream.value = undefined;
		const room = client.value;
		await Promise.all([room?.unpublish('screen'), room?.unpublish('screen-audio')]);
		for (const track of stream.getTracks()) track.stop();
	}

	/** Called by a remote video tile when it shows its first frame. */
	function remoteFrameShown(): void {
		if (joinStartedAt === undefined || joinToFirstFrameMs.value !== undefined) return;
		const measure = performance.measure(FIRST_FRAME_MEASURE, { start: joinStartedAt, end: performance.now() });
		joinToFirstFrameMs.value = measure.duration;
	}

	const peerViews = computed<PeerView[]>(() =>
		peers.value.map((peer) => {
			const view: PeerView = { ...peer, quality: 'unknown' };
			for (const consumer of consumers.values()) {
				if (consumer.peerId !== peer.id) continue;
				if (consumer.source === 'mic') view.mic = consumer;
				else if (consumer.source === 'webcam') view.webcam = consumer;
				else if (consumer.source === 'screen') view.screen = consumer;
				else if (consumer.source === 'screen-audio') view.screenAudio = consumer;
			}
			const scores = [view.mic, view.webcam, view.screen]
				.filter((c): c is ConsumerView => c !== undefined && !c.producerPaused && !c.localPaused)
				.flatMap((c) => [qualityFromScore(c.score), qualityFromScore(c.producerScore)]);
			view.quality = worstQuality(scores);
			return view;
		}),
	);

	const localQuality = computed<Quality>(() =>
		worstQuality([...producers.values()].filter((p) => !p.paused).map((p) => qualityFromScore(p.score))),
	);

	onScopeDispose(leave);

	return {
		client,
		session,
		roomId,
		displayName,
		peerId,
		peers: peerViews,
		consumers,
		producers,
		activeSpeakerId,
		speakingVolumes,
		errors,
		transportStates,
		micPaused,
		cameraPaused,
		screenStream,
		joinToFirstFrameMs,
		localQuality,
		showError,
		dismissError,
		join,
		leave,
		setMicrophoneOn,
		setCameraOn,
		switchDevice,
		startScreenShare,
		stopScreenShare,
		remoteFrameShown,
	};
}

export type Room = ReturnType<typeof useRoom>;

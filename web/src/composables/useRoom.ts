/**
 * The call as the page sees it: session state, our access, the other peers
 * and what we receive from them, what we send, who speaks, and the actions
 * (join, mute, share, leave). It drives one RoomClient per join.
 */
import { computed, markRaw, onScopeDispose, reactive, ref, shallowRef } from 'vue';
import type { Permission, PeerInfo, PeerId, RaisedHand } from '../../../server/signalling/protocol';
import { can, moderationNotice, onStage, provisionalAccess, roleLabel, stageEntrance } from '../lib/access.js';
import type { AccessState } from '../lib/access.js';
import { CredentialsError, PageCredentials } from '../lib/credentials.js';
import type { Credentials } from '../lib/credentials.js';
import { RoomClient } from '../lib/RoomClient.js';
import type { MediaSource, ProducerState, RemoteConsumer } from '../lib/RoomClient.js';
import { resumeError, userError } from '../lib/errors.js';
import type { UserError } from '../lib/errors.js';
import { qualityFromScore, worstQuality } from '../lib/format.js';
import type { Quality } from '../lib/format.js';
import { initialSessionState } from '../lib/reconnect.js';
import type { SessionState } from '../lib/reconnect.js';
import { signallingUrl } from '../lib/settings.js';
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
	/** Its connection dropped and the server holds its session (`peerReconnecting`): it should be back soon. */
	reconnecting: boolean;
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
	/** The invitation's join token; without one (or for another room), the server is asked for one (open mode). */
	token?: string | undefined;
	/** Asked of open mode's token: a viewer receives only. */
	role?: 'viewer' | undefined;
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
	/** Peers whose connection dropped and whose session the server holds. */
	const reconnectingPeers = ref<ReadonlySet<PeerId>>(new Set());
	const consumers = reactive(new Map<string, ConsumerView>());
	const producers = reactive(new Map<MediaSource, LocalProducerView>());
	const activeSpeakerId = ref<PeerId | null>(null);
	const speakingVolumes = ref<Record<PeerId, number>>({});
	const errors = ref<UserError[]>([]);
	const transportStates = reactive({ send: 'new', recv: 'new' });
	/** The server lost our media (its worker died) and the transports are being rebuilt, the session kept. */
	const mediaRecovering = ref(false);
	const micPaused = ref(false);
	const cameraPaused = ref(false);
	const screenStream = shallowRef<MediaStream>();
	const joinToFirstFrameMs = ref<number>();
	let joinStartedAt: number | undefined;
	/** The token's identity: a reconnection with the same token replaces the stale session on the server. */
	const peerId = ref('');
	const access = shallowRef<AccessState>(provisionalAccess('participant'));
	const credentials = shallowRef<Credentials>();
	/** The last thing a host did to us, for the page to say. */
	const hostNotice = ref<string>();
	const pageCredentials = new PageCredentials();
	/** How many watch without publishing (a stream's audience); they are not in `peers`. */
	const audience = ref(0);
	/** Raised hands, for those who may see them (hosts, presenters, participants). */
	const hands = ref<RaisedHand[]>([]);
	/** Our own hand (the server tells nobody in the audience about hands, ours included). */
	const handRaised = ref(false);

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
			const failure = state.phase === 'failed' ? state.failure : undefined;
			if (failure && !errors.value.some((e) => e.kind === failure)) showError(userError(failure));
		});
		room.on('peers', (list, { resumed }) => {
			peers.value = list;
			const present = new Set(list.map((p) => p.id));
			reconnectingPeers.value = resumed ? new Set([...reconnectingPeers.value].filter((id) => present.has(id))) : new Set();
			if (resumed) return;
			// A new session: the server forgot the hands of the one before.
			handRaised.value = false;
			hands.value = [];
		});
		room.on('peerReconnecting', (id, reconnecting) => {
			const next = new Set(reconnectingPeers.value);
			if (reconnecting) next.add(id);
			else next.delete(id);
			reconnectingPeers.value = next;
		});
		room.on('audience', (count) => {
			audience.value = count;
		});
		room.on('hands', (raised) => {
			hands.value = raised;
		});
		room.on('peerJoined', (peer) => {
			peers.value = [...peers.value.filter((p) => p.id !== peer.id), peer];
		});
		room.on('peerLeft', (id) => {
			peers.value = peers.value.filter((p) => p.id !== id);
			if (reconnectingPeers.value.has(id)) reconnectingPeers.value = new Set([...reconnectingPeers.value].filter((p) => p !== id));
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
			if (state === 'connected') mediaRecovering.value = false;
		});
		room.on('mediaReset', () => {
			mediaRecovering.value = true;
			transportStates.send = 'new';
			transportStates.recv = 'new';
		});
		room.on('error', showError);
		room.on('access', (state) => {
			const before = access.value;
			access.value = state;
			if (state.mutedByHost) micPaused.value = true;
			// In the room, only a host changes our role (a rejoin or an admission is not in 'joined').
			if (session.value.phase === 'joined' && before.confirmed && before.role !== state.role) {
				hostNotice.value = `The host changed your role to ${roleLabel(state.role)}.`;
			}
			// On stage the server lowered our hand; back in the audience it is down too.
			if (onStage(before) !== onStage(state)) handRaised.value = false;
			// Hands are told only to those who may see participants; without it, the list would go stale.
			if (!can(state, 'seeParticipants')) hands.value = [];
			if (session.value.phase === 'joined') void enterStage(stageEntrance(before, state));
		});
		room.on('moderated', (event) => {
			hostNotice.value = moderationNotice(event);
		});
		room.on('mediaWithdrawn', (source) => {
			if (source === 'screen' || source === 'screen-audio') void stopScreenShare();
			if (source === 'webcam') {
				media.stopCamera();
				cameraPaused.value = true;
			}
			if (source === 'mic') {
				media.stopMicrophone();
				micPaused.value = true;
			}
		});
		room.on('peerRoleChanged', (id, role) => {
			peers.value = peers.value.map((p) => (p.id === id ? { ...p, role } : p));
		});
	}

	/** Brought on stage: open the camera and microphone (the first device prompt of a viewer) and publish them. */
	async function enterStage(sources: readonly MediaSource[]): Promise<void> {
		if (sources.includes('webcam')) await setCameraOn(true);
		if (sources.includes('mic')) await setMicrophoneOn(true);
	}

	async function raiseHand(raised: boolean): Promise<void> {
		const room = client.value;
		if (!room) return;
		const before = handRaised.value;
		handRaised.value = raised;
		try {
			await room.raiseHand(raised);
		} catch (error) {
			handRaised.value = before;
			showError(userError('unexpected', `raising your hand: ${error instanceof Error ? error.message : String(error)}`));
		}
	}

	function allowed(permission: Permission): boolean {
		return can(access.value, permission);
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
		reconnectingPeers.value = new Set();
		mediaRecovering.value = false;
		consumers.clear();
		producers.clear();
		hostNotice.value = undefined;
		audience.value = 0;
		hands.value = [];
		handRaised.value = false;
		if (!(await RoomClient.browserSupported())) {
			session.value = { ...initialSessionState, phase: 'failed', failure: 'unsupported-browser' };
			showError(userError('unsupported-browser'));
			return;
		}
		let granted: Credentials;
		try {
			// A server with a secret refuses to mint (CredentialsError): the page needs an invitation.
			granted = await pageCredentials.for(location.href, options);
		} catch (error) {
			const shown = error instanceof CredentialsError ? error.userError : userError('unexpected', String(error));
			session.value = { ...initialSessionState, phase: 'failed', failure: shown.kind };
			showError(shown);
			return;
		}
		credentials.value = granted;
		peerId.value = granted.identity;
		access.value = provisionalAccess(granted.role);
		const room = new RoomClient({
			url: signallingUrl(location.href, options.roomId, granted.token, options.serverUrl),
			peerId: granted.identity,
			role: granted.role,
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
		reconnectingPeers.value = new Set();
		mediaRecovering.value = false;
		consumers.clear();
		producers.clear();
		activeSpeakerId.value = null;
		audience.value = 0;
		hands.value = [];
		handRaised.value = false;
	}

	/** Microphone: the first unmute opens the device; later ones pause/resume the producer. */
	async function setMicrophoneOn(on: boolean): Promise<void> {
		const room = client.value;
		if (!room) return;
		if (on && !room.isPublished('mic')) {
			// Muted by the host without a microphone yet: publishing would be refused too.
			if (access.value.mutedByHost) return showError(userError('unmute-refused'));
			const track = await media.startMicrophone();
			if (!track) return;
			await room.publish('mic', track);
		} else {
			if (!(await setSourceOn(room, 'mic', on))) return;
		}
		micPaused.value = !on;
	}

	/** Pauses or resumes a published source; a resume the server refuses (a host's mute) is shown, and the source stays paused. */
	async function setSourceOn(room: RoomClient, source: MediaSource, on: boolean): Promise<boolean> {
		try {
			await room.setPaused(source, !on);
			return true;
		} catch (error) {
			showError(resumeError(source, error));
			return false;
		}
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
			if (!(await setSourceOn(room, 'webcam', on))) return;
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
			const view: PeerView = { ...peer, reconnecting: reconnectingPeers.value.has(peer.id), quality: 'unknown' };
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

	/** Whether the page is a meeting (we may publish) or a player (we are in the audience). */
	const stage = computed(() => onStage(access.value));

	onScopeDispose(leave);

	return {
		client,
		session,
		roomId,
		displayName,
		peerId,
		access,
		credentials,
		hostNotice,
		can: allowed,
		onStage: stage,
		audience,
		hands,
		handRaised,
		raiseHand,
		peers: peerViews,
		consumers,
		producers,
		activeSpeakerId,
		speakingVolumes,
		errors,
		transportStates,
		mediaRecovering,
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

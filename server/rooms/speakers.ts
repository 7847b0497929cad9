/**
 * Speaker detection for a room: an ActiveSpeakerObserver (dominant speaker,
 * for `activeSpeaker`) and an AudioLevelObserver (who is audible, for
 * `speakingPeers`), both on the room's first router. Audio producers on
 * other routers are piped there before being added.
 */
import type { types as ms } from 'mediasoup';
import type { PeerId } from '../signalling/protocol.js';

export type SpeakerEvents = {
	onActiveSpeaker: (peerId: PeerId | null) => void;
	onSpeakingPeers: (peerVolumes: { peerId: PeerId; volume: number }[]) => void;
};

export class SpeakerDetection {
	readonly #activeSpeaker: ms.ActiveSpeakerObserver;
	readonly #audioLevels: ms.AudioLevelObserver;
	readonly #peerOfProducer = new Map<string, PeerId>();
	#dominant: PeerId | null = null;

	private constructor(activeSpeaker: ms.ActiveSpeakerObserver, audioLevels: ms.AudioLevelObserver, events: SpeakerEvents) {
		this.#activeSpeaker = activeSpeaker;
		this.#audioLevels = audioLevels;
		activeSpeaker.on('dominantspeaker', ({ producer }) => {
			const peerId = this.#peerOfProducer.get(producer.id);
			if (peerId === undefined || peerId === this.#dominant) return;
			this.#dominant = peerId;
			events.onActiveSpeaker(peerId);
		});
		audioLevels.on('volumes', (volumes) => {
			const peerVolumes = volumes.flatMap(({ producer, volume }) => {
				const peerId = this.#peerOfProducer.get(producer.id);
				return peerId === undefined ? [] : [{ peerId, volume }];
			});
			events.onSpeakingPeers(peerVolumes);
		});
		audioLevels.on('silence', () => events.onSpeakingPeers([]));
		this.#onPeerGone = (peerId) => {
			if (this.#dominant !== peerId) return;
			this.#dominant = null;
			events.onActiveSpeaker(null);
		};
	}

	readonly #onPeerGone: (peerId: PeerId) => void;

	static async create(router: ms.Router, events: SpeakerEvents): Promise<SpeakerDetection> {
		const activeSpeaker = await router.createActiveSpeakerObserver({ interval: 300 });
		const audioLevels = await router.createAudioLevelObserver({ maxEntries: 10, threshold: -70, interval: 800 });
		return new SpeakerDetection(activeSpeaker, audioLevels, events);
	}

	/** Adds an audio producer that lives on (or was piped to) the observers' router. */
	async add(producerId: string, peerId: PeerId): Promise<void> {
		this.#peerOfProducer.set(producerId, peerId);
		await Promise.all([
			this.#activeSpeaker.addProducer({ producerId }),
			this.#audioLevels.addProducer({ producerId }),
		]);
	}

	/** The producer closed (mediasoup removes it from the observers by itself). */
	remove(producerId: string): void {
		const peerId = this.#peerOfProducer.get(producerId);
		this.#peerOfProducer.delete(producerId);
		if (peerId !== undefined && ![...this.#peerOfProducer.values()].includes(peerId)) this.#onPeerGone(peerId);
	}
}

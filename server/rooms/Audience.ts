/**
 * A room's audience: the joined peers that may not publish (viewers of a
 * stream). They are not announced one by one; the room hears how many
 * there are, at most a few times a second, and who raised a hand. Presence
 * fan-out thus stays O(participants) however large the audience grows.
 */
import type { PeerId, RaisedHand } from '../signalling/protocol.js';
import { inBatches } from './fanOut.js';
import type { Peer } from './Peer.js';

/** At most this many audienceChanged/handsChanged notifications a second. */
const UPDATES_PER_SECOND = 4;

export type AudienceRoom = {
	joinedPeers(): Peer[];
};

export class Audience {
	readonly #room: AudienceRoom;
	readonly #hands = new Map<PeerId, RaisedHand>();
	#count = 0;
	#sentCount = 0;
	#countTimer: NodeJS.Timeout | undefined;
	#handsTimer: NodeJS.Timeout | undefined;

	constructor(room: AudienceRoom) {
		this.#room = room;
	}

	/** Audience members are those who may not publish. */
	static includes(peer: Peer): boolean {
		return !peer.access.canPublish();
	}

	get count(): number {
		return this.#count;
	}

	/** Counted anew from the room (cheap: one pass), then told to everyone, batched. */
	changed(): void {
		this.#count = this.#room.joinedPeers().filter(Audience.includes).length;
		if (this.#countTimer || this.#count === this.#sentCount) return;
		this.#countTimer = setTimeout(() => {
			this.#countTimer = undefined;
			if (this.#count === this.#sentCount) return;
			this.#sentCount = this.#count;
			const count = this.#count;
			inBatches(this.#room.joinedPeers(), (peer) => peer.notify('audienceChanged', { count }));
		}, 1000 / UPDATES_PER_SECOND);
		this.#countTimer.unref();
	}

	raiseHand(peer: Peer, raised: boolean): void {
		if (raised === this.#hands.has(peer.id)) return;
		if (raised) this.#hands.set(peer.id, { peerId: peer.id, displayName: peer.displayName, since: Date.now() });
		else this.#hands.delete(peer.id);
		this.#handsChanged();
	}

	/** A peer left, or went on stage: its hand is down. */
	lowerHand(peerId: PeerId): void {
		if (this.#hands.delete(peerId)) this.#handsChanged();
	}

	hands(): RaisedHand[] {
		return [...this.#hands.values()];
	}

	/** To those who may see the raised hands, when someone joins with that permission. */
	/**
	 * Tells one peer the raised hands: at its join when there are any, or
	 * after its access changed (`always`), when a peer that lost
	 * `seeParticipants` gets an empty list so that its page shows none.
	 */
	tellHands(peer: Peer, { always = false } = {}): void {
		const sees = peer.access.can('seeParticipants');
		if (sees && (always || this.#hands.size > 0)) peer.notify('handsChanged', { raised: this.hands() });
		else if (!sees && always) peer.notify('handsChanged', { raised: [] });
	}

	close(): void {
		clearTimeout(this.#countTimer);
		clearTimeout(this.#handsTimer);
	}

	#handsChanged(): void {
		if (this.#handsTimer) return;
		this.#handsTimer = setTimeout(() => {
			this.#handsTimer = undefined;
			const raised = this.hands();
			for (const peer of this.#room.joinedPeers()) if (peer.access.can('seeParticipants')) peer.notify('handsChanged', { raised });
		}, 1000 / UPDATES_PER_SECOND);
		this.#handsTimer.unref();
	}
}

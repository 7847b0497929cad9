/**
 * A room's moderation: its lock, its lobby, the identities removed from it,
 * and the hosts' actions on other peers. Who may call these is decided
 * before (auth/roles.ts, `moderate`); this module does what they ask and
 * tells those concerned.
 */
import { Access, matchesSource } from '../auth/roles.js';
import { conflict, forbidden, notFound } from '../signalling/errors.js';
import type { AssignableRole, LobbyEntry, ModeratedSource, PeerId } from '../signalling/protocol.js';
import type { Peer } from './Peer.js';
import type { Room } from './Room.js';

type Waiting = { peer: Peer; since: number; timer: NodeJS.Timeout };

export class Moderation {
	readonly #room: Room;
	readonly #lobbyWaitMs: number;
	readonly #removed = new Set<PeerId>();
	readonly #lobby = new Map<PeerId, Waiting>();
	/** What hosts decided about an identity's access (admitted, muted, a new role): its next session starts from it, not from its token. */
	readonly #decided = new Map<PeerId, ReturnType<Access['snapshot']>>();
	#locked = false;

	constructor(room: Room, lobbyWaitMs: number) {
		this.#room = room;
		this.#lobbyWaitMs = lobbyWaitMs;
	}

	get locked(): boolean {
		return this.#locked;
	}

	/** Removed identities stay out until the room ends. */
	isRemoved(identity: PeerId): boolean {
		return this.#removed.has(identity);
	}

	/** The access hosts gave this identity in this room, if they decided any. */
	decidedAccess(identity: PeerId): Access | undefined {
		const decided = this.#decided.get(identity);
		return decided && new Access(decided.role, decided.overrides);
	}

	checkMayJoin(peer: Peer): void {
		if (this.#removed.has(peer.id)) throw forbidden('you were removed from this room by a host');
		if (this.#locked && !peer.access.can('moderate')) throw forbidden('the room is locked by its host');
	}

	enterLobby(peer: Peer): void {
		const timer = setTimeout(() => this.#end(peer, 'lobby-timeout'), this.#lobbyWaitMs);
		timer.unref();
		this.#lobby.set(peer.id, { peer, since: Date.now(), timer });
		peer.logger.info({ event: 'lobby-entered', waiting: this.#lobby.size }, 'peer waits in the lobby');
		this.#lobbyChanged();
	}

	/** A peer left (closed): drop it from the lobby. */
	forget(peer: Peer): void {
		const waiting = this.#lobby.get(peer.id);
		if (waiting?.peer !== peer) return;
		clearTimeout(waiting.timer);
		this.#lobby.delete(peer.id);
		this.#lobbyChanged();
	}

	waiting(): LobbyEntry[] {
		return [...this.#lobby.values()].map(({ peer, since }) => ({ id: peer.id, displayName: peer.displayName, waitingSince: since }));
	}

	/** Sends a moderator who just joined (or became one) the lobby, when someone waits. */
	tellLobby(moderator: Peer): void {
		if (this.#lobby.size > 0) moderator.notify('lobbyChanged', { waiting: this.waiting() });
	}

	admit(by: Peer, peerId: PeerId, role: AssignableRole): void {
		const waiting = this.#lobby.get(peerId);
		if (!waiting) throw notFound(`nobody "${peerId}" waits in the lobby`);
		clearTimeout(waiting.timer);
		this.#lobby.delete(peerId);
		const { peer } = waiting;
		peer.access.setRole(role);
		this.#remember(peer);
		peer.logger.info({ event: 'lobby-admitted', by: by.id, role }, 'admitted from the lobby');
		peer.notify('admitted', this.#room.admit(peer));
		this.#lobbyChanged();
	}

	deny(by: Peer, peerId: PeerId): void {
		const waiting = this.#lobby.get(peerId);
		if (!waiting) throw notFound(`nobody "${peerId}" waits in the lobby`);
		this.#removed.add(peerId);
		this.#end(waiting.peer, 'denied', by.id);
	}

	lock(by: Peer, locked: boolean): void {
		if (this.#locked === locked) return;
		this.#locked = locked;
		this.#room.logger.info({ event: locked ? 'room-locked' : 'room-unlocked', by: by.id }, locked ? 'room locked' : 'room unlocked');
		for (const peer of this.#room.joinedPeers()) peer.notify('roomLocked', { locked, by: by.id });
	}

	/** Pauses the target's microphone on the server and withdraws `publishAudio` until `allowUnmute`. */
	async mute(by: Peer, peerId: PeerId): Promise<void> {
		const target = this.#member(peerId);
		// All its audio: a screen share's sound is the peer's voice too, if it says so.
		const producers = [...target.producers.values()].filter((producer) => producer.kind === 'audio');
		await Promise.all(producers.map((producer) => producer.pause()));
		// Paused, not closed: the microphone comes back when the peer unmutes once allowed.
		this.#room.changeAccess(target, (access) => access.override('publishAudio', false), by.id, { keepProducers: true });
		this.#remember(target);
		target.logger.info({ event: 'peer-muted', by: by.id, producers: producers.length }, 'muted by a host');
		target.notify('moderated', { action: 'muted', source: 'mic', producerIds: producers.map((p) => p.id), by: by.id });
	}

	allowUnmute(by: Peer, peerId: PeerId): void {
		const target = this.#member(peerId);
		this.#room.changeAccess(target, (access) => access.override('publishAudio', undefined), by.id);
		this.#remember(target);
		target.notify('moderated', { action: 'unmute-allowed', source: 'mic', producerIds: [], by: by.id });
	}

	stopMedia(by: Peer, peerId: PeerId, source: ModeratedSource): void {
		const target = this.#member(peerId);
		const producers = this.#producersOf(target, source);
		for (const producer of producers) producer.close();
		target.logger.info({ event: 'peer-media-stopped', by: by.id, source, producers: producers.length }, 'media stopped by a host');
		target.notify('moderated', { action: 'media-stopped', source, producerIds: producers.map((p) => p.id), by: by.id });
	}

	setRole(by: Peer, peerId: PeerId, role: AssignableRole): void {
		const target = this.#member(peerId);
		this.#room.changeAccess(target, (access) => access.setRole(role), by.id);
		this.#remember(target);
		target.logger.info({ event: 'peer-role-changed', by: by.id, role }, 'role changed by a host');
	}

	remove(by: Peer, peerId: PeerId): void {
		if (peerId === by.id) throw conflict('you cannot remove yourself: leave instead');
		const target = this.#room.peers.get(peerId);
		if (!target || !(target.joined || this.#lobby.has(peerId))) throw notFound(`peer "${peerId}" not found`);
		this.#removed.add(peerId);
		this.#end(target, 'removed', by.id);
	}

	/** Everyone is told the meeting is over; the room closes. */
	endMeeting(by: Peer): void {
		this.#room.logger.info({ event: 'meeting-ended', by: by.id }, 'meeting ended by a host');
		this.#room.broadcastToAll('sessionEnded', { reason: 'meeting-ended', by: by.id });
		// After the host's own request has been answered.
		setImmediate(() => this.#room.close());
	}

	close(): void {
		for (const { timer } of this.#lobby.values()) clearTimeout(timer);
		this.#lobby.clear();
		this.#decided.clear();
	}

	#remember(peer: Peer): void {
		this.#decided.set(peer.id, peer.access.snapshot());
	}

	#end(peer: Peer, reason: 'removed' | 'denied' | 'lobby-timeout', by?: PeerId): void {
		peer.logger.info({ event: 'peer-removed', reason, by }, 'session ended by the room');
		peer.notify('sessionEnded', by ? { reason, by } : { reason });
		this.#room.closePeer(peer);
	}

	#member(peerId: PeerId): Peer {
		const peer = this.#room.peers.get(peerId);
		if (!peer || !peer.joined) throw notFound(`peer "${peerId}" not found`);
		return peer;
	}

	#producersOf(peer: Peer, source: ModeratedSource) {
		return [...peer.producers.values()].filter((producer) => matchesSource(source, producer.kind, producer.appData.source));
	}

	#lobbyChanged(): void {
		const waiting = this.waiting();
		for (const moderator of this.#room.moderators()) moderator.notify('lobbyChanged', { waiting });
	}
}

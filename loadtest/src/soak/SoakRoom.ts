/**
 * One meeting of the soak run: its protoo participants, its real media
 * (RoomMedia), and what its participants saw of the others leaving
 * (`peerClosed`), by which the run checks that a peer that left is closed at
 * once and one that dropped for good is closed after the grace window.
 */
import type { RoomMedia } from './RoomMedia.js';
import { SoakPeer, type PeerContext, type RoomHooks } from './SoakPeer.js';

type Watched = { kind: 'left' | 'abandoned'; at: number; closedAt: number | undefined };

export class SoakRoom {
	readonly peers = new Set<SoakPeer>();
	/** Peers that dropped for good: kept so the run can close their objects at the end. */
	readonly abandoned: SoakPeer[] = [];
	private readonly watched = new Map<string, Watched>();
	private joinCount = 0;
	private rejoin: NodeJS.Timeout | undefined;
	private closed = false;
	readonly hooks: RoomHooks;

	constructor(
		readonly index: number,
		readonly id: string,
		readonly media: RoomMedia,
		private readonly context: PeerContext,
		private readonly peersPerRoom: number,
	) {
		this.hooks = {
			peerClosed: (peerId) => {
				const watched = this.watched.get(peerId);
				if (watched && watched.closedAt === undefined) watched.closedAt = performance.now();
			},
			lost: (peer) => {
				this.peers.delete(peer);
				this.rejoinSoon();
			},
		};
	}

	/** Peers in session now, joined or away (waiting to resume). */
	get inSession(): number {
		return [...this.peers].filter((peer) => peer.state === 'joined' || peer.state === 'away' || peer.state === 'connecting').length;
	}

	/** Joined peers that could see another leave (`peerClosed`). */
	observers(except?: SoakPeer): number {
		return [...this.peers].filter((peer) => peer !== except && peer.state === 'joined').length;
	}

	/** A joined peer that no event holds, chosen by `fraction` in [0, 1). */
	pick(fraction: number): SoakPeer | undefined {
		const free = [...this.peers].filter((peer) => peer.state === 'joined' && !peer.busy);
		return free.length === 0 ? undefined : free[Math.min(free.length - 1, Math.floor(fraction * free.length))];
	}

	/** Joins one new participant; undefined when the join failed (already recorded). */
	async addPeer(): Promise<SoakPeer | undefined> {
		const name = `soak ${this.index}-${this.joinCount++}`;
		try {
			const peer = await SoakPeer.join(this.context, this.hooks, this.id, name);
			this.peers.add(peer);
			return peer;
		} catch {
			return undefined;
		}
	}

	/** Joins until the room has its number of participants again (at most twice as many attempts as are missing). */
	async topUp(): Promise<void> {
		if (this.closed) return;
		const missing = this.peersPerRoom - this.inSession;
		for (let attempt = 0; attempt < 2 * missing && this.inSession < this.peersPerRoom && !this.closed; attempt++) await this.addPeer();
	}

	/**
	 * A peer the server disconnected (e.g. `reconnectRequired`) comes back as
	 * the web client does: a new session after a short random delay.
	 */
	private rejoinSoon(): void {
		if (this.rejoin || this.closed) return;
		this.rejoin = setTimeout(() => {
			void this.topUp().finally(() => (this.rejoin = undefined));
		}, 1000 + Math.floor(Math.random() * 2000));
	}

	/** Starts watching for the others' `peerClosed` of this peer. */
	watch(peer: SoakPeer, kind: Watched['kind']): void {
		this.watched.set(peer.id, { kind, at: performance.now(), closedAt: undefined });
	}

	/** ms from the watched moment to the first `peerClosed` seen, or undefined. */
	closedAfter(peerId: string): number | undefined {
		const watched = this.watched.get(peerId);
		return watched?.closedAt === undefined ? undefined : watched.closedAt - watched.at;
	}

	forget(peerId: string): void {
		this.watched.delete(peerId);
	}

	/** Everyone leaves (`leave`), the media is deleted. */
	async close(): Promise<void> {
		this.closed = true;
		clearTimeout(this.rejoin);
		for (const peer of this.peers) peer.close();
		for (const peer of this.abandoned) peer.close();
		this.peers.clear();
		await this.media.close();
	}
}

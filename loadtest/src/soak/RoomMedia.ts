/**
 * The real media of one soak room: a publisher (a broadcaster sending VP8
 * simulcast + Opus over an SRTP PlainTransport, as a camera would) and a few
 * SRTP PlainTransport subscribers consuming it, each in its own
 * SubscriberPool so that it can be replaced alone. A worker that dies takes
 * the room's broadcasters with it (nobody drives them over protoo); `rebuild`
 * makes a new generation of both.
 */
import { MediaClock } from '../media/MediaClock.js';
import { Publisher } from '../media/Publisher.js';
import { SubscriberPool } from '../media/SubscriberPool.js';
import type { VideoClip } from '../media/clips.js';
import type { MediaProfile } from '../media/profile.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';

export type RoomMediaOptions = {
	api: HttpApiClient;
	clock: MediaClock;
	roomId: string;
	profile: MediaProfile;
	clips: VideoClip[] | undefined;
	subscribers: number;
	seed: number;
};

export class RoomMedia {
	generation = 0;
	private publisher: Publisher | undefined;
	private pools: SubscriberPool[] = [];
	/** Packets and SRTP authentication failures of generations already closed. */
	private closedPackets = 0;
	private closedAuthFailures = 0;
	private closedSent = 0;

	constructor(private readonly options: RoomMediaOptions) {}

	/** Broadcasters the room should hold: the publisher and the subscribers. */
	get broadcasters(): number {
		return 1 + this.options.subscribers;
	}

	/** RTP packets the publishers sent, over all generations. */
	get packetsSent(): number {
		return this.closedSent + (this.publisher?.stats.packetsSent ?? 0);
	}

	/** RTP packets the subscribers received, over all generations. */
	get packetsReceived(): number {
		return this.closedPackets + this.livePackets();
	}

	/** Received packets that failed SRTP authentication (a sample is checked). */
	get authFailures(): number {
		return this.closedAuthFailures + this.pools.reduce((sum, pool) => sum + pool.streams.reduce((total, stream) => total + stream.authFailures, 0), 0);
	}

	/** Publisher first (every layer reported, so consumers start on the top one), then its subscribers. */
	async start(): Promise<void> {
		const { api, clock, roomId, profile, clips, seed } = this.options;
		const generation = this.generation;
		this.publisher = await Publisher.start({ api, roomId, id: `pub-${roomId}-g${generation}`, profile, seed: seed + generation, ...(clips ? { clips } : {}) });
		clock.add(this.publisher);
		await this.publisher.allLayersReported(10_000);
		for (let index = 0; index < this.options.subscribers; index++) {
			const pool = await SubscriberPool.create({ api, sockets: 1, verifyEvery: 200 });
			this.pools.push(pool);
			await pool.add(roomId, `sub-${roomId}-${index}-g${generation}`, this.publisher.producerIds);
		}
	}

	/** A new generation after the old one was lost (what is left of it is deleted first). */
	async rebuild(): Promise<void> {
		await this.close();
		this.generation++;
		await this.start();
	}

	/** Deletes the broadcasters (those the server already closed answer 404, which is fine) and closes the sockets. */
	async close(): Promise<void> {
		this.closedPackets += this.livePackets();
		this.closedAuthFailures = this.authFailures;
		this.closedSent = this.packetsSent;
		const publisher = this.publisher;
		const pools = this.pools;
		this.publisher = undefined;
		this.pools = [];
		if (publisher) {
			this.options.clock.delete(publisher);
			await publisher.close().catch(() => undefined);
		}
		for (const pool of pools) await pool.close();
	}

	private livePackets(): number {
		return this.pools.reduce((sum, pool) => sum + pool.streams.reduce((total, stream) => total + stream.stats.counters().packets, 0), 0);
	}
}

/**
 * The two load shapes the capacity run sweeps, each grown step by step
 * without tearing down what is already there:
 * - a stream: one publisher, N viewers (PlainTransport SRTP subscribers);
 * - a meeting: P participants, each publishing audio + simulcast video and
 *   consuming everyone else's (one broadcaster per participant, with a send
 *   and a receive transport).
 */
import { MediaClock } from '../media/MediaClock.js';
import { Publisher } from '../media/Publisher.js';
import { SubscriberPool } from '../media/SubscriberPool.js';
import { subscriberRtpCapabilities, type MediaProfile } from '../media/profile.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';
import type { VideoClip } from '../media/clips.js';

/** Runs `task` over `items`, `concurrency` at a time, in order of start. */
export async function inParallel<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
		while (next < items.length) {
			const item = items[next++]!;
			await task(item);
		}
	});
	await Promise.all(workers);
}

export interface Load {
	readonly roomId: string;
	readonly pool: SubscriberPool;
	readonly publishers: readonly Publisher[];
	/** Grows to `size` (viewers or participants); never shrinks. */
	grow(size: number): Promise<void>;
	readonly size: number;
	close(): Promise<void>;
}

export type LoadOptions = {
	api: HttpApiClient;
	roomId: string;
	profile: MediaProfile;
	clock: MediaClock;
	/** Concurrent API calls while growing. */
	concurrency?: number;
	seed?: number;
	/** Measure every n-th viewer/participant (1 = all); the others' media is discarded by the kernel unread. */
	measureEvery?: number;
	/** Real VP8 frames per layer for the publishers (see media/clips.ts). */
	clips?: VideoClip[];
};

export class StreamLoad implements Load {
	readonly publishers: Publisher[] = [];
	size = 0;

	private constructor(
		private readonly options: LoadOptions,
		readonly pool: SubscriberPool,
	) {}

	static async create(options: LoadOptions): Promise<StreamLoad> {
		const pool = await SubscriberPool.create({ api: options.api, sockets: 8 });
		const load = new StreamLoad(options, pool);
		const publisher = await Publisher.start({
			api: options.api,
			roomId: options.roomId,
			id: 'stream-publisher',
			profile: options.profile,
			seed: options.seed ?? 1,
			...(options.clips ? { clips: options.clips } : {}),
		});
		load.publishers.push(publisher);
		options.clock.add(publisher);
		await publisher.allLayersReported();
		return load;
	}

	get roomId(): string {
		return this.options.roomId;
	}

	async grow(size: number): Promise<void> {
		const producerIds = this.publishers[0]!.producerIds;
		const ids = Array.from({ length: Math.max(0, size - this.size) }, (_, i) => `viewer-${this.size + i}`);
		const every = this.options.measureEvery ?? 1;
		await inParallel(ids, this.options.concurrency ?? 6, (id) =>
			this.pool.add(this.options.roomId, id, producerIds, { measured: Number(id.slice('viewer-'.length)) % every === 0 }),
		);
		this.size = Math.max(this.size, size);
	}

	async close(): Promise<void> {
		await this.pool.close({ concurrency: this.options.concurrency ?? 6 });
		for (const publisher of this.publishers) {
			this.options.clock.delete(publisher);
			await publisher.close().catch(() => undefined);
		}
	}
}

export class MeetingLoad implements Load {
	readonly publishers: Publisher[] = [];
	size = 0;

	private constructor(
		private readonly options: LoadOptions,
		readonly pool: SubscriberPool,
	) {}

	static async create(options: LoadOptions): Promise<MeetingLoad> {
		const pool = await SubscriberPool.create({ api: options.api, sockets: 8 });
		return new MeetingLoad(options, pool);
	}

	get roomId(): string {
		return this.options.roomId;
	}

	/** Adds participants one at a time: each publishes, everyone present consumes it, and it consumes everyone present. */
	async grow(size: number): Promise<void> {
		const concurrency = this.options.concurrency ?? 6;
		while (this.size < size) {
			const index = this.size;
			const id = `participant-${index}`;
			const publisher = await Publisher.start({
				api: this.options.api,
				roomId: this.options.roomId,
				id,
				profile: this.options.profile,
				seed: (this.options.seed ?? 1) + index,
				rtpCapabilities: subscriberRtpCapabilities(),
				...(this.options.clips ? { clips: this.options.clips } : {}),
			});
			this.options.clock.add(publisher);
			await publisher.allLayersReported();
			const others = [...this.publishers];
			this.publishers.push(publisher);
			const measured = index % (this.options.measureEvery ?? 1) === 0;
			await this.pool.add(this.options.roomId, id, others.flatMap((other) => other.producerIds), { existingBroadcaster: true, measured });
			const pairs = others.flatMap((other) => publisher.producerIds.map((producerId) => ({ subscriber: other.id, producerId })));
			await inParallel(pairs, concurrency, ({ subscriber, producerId }) => this.pool.consumeMore(subscriber, producerId));
			this.size++;
		}
	}

	async close(): Promise<void> {
		// Deleting a participant's broadcaster closes its send and receive transports alike.
		await this.pool.close({ deleteBroadcasters: false });
		await inParallel(this.publishers, this.options.concurrency ?? 6, async (publisher) => {
			this.options.clock.delete(publisher);
			await publisher.close().catch(() => undefined);
		});
	}
}

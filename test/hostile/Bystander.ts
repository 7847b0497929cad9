/**
 * The bystander: a publisher (Opus + VP8 simulcast over SRTP, the load
 * generator's) and a subscriber consuming both streams over its own SRTP
 * PlainTransport, in the room under attack. Its received packet rate over a
 * window is the figure that must not move while the corpus runs.
 */
import { MediaClock } from '../../loadtest/src/media/MediaClock.js';
import { Publisher } from '../../loadtest/src/media/Publisher.js';
import { SubscriberPool } from '../../loadtest/src/media/SubscriberPool.js';
import { PROFILES } from '../../loadtest/src/media/profile.js';
import type { HttpApiClient } from '../../loadtest/src/signalling/HttpApiClient.js';
import { BYSTANDER_PUBLISHER, BYSTANDER_SUBSCRIBER } from './settings.js';
import type { Targets } from './types.js';

export type ReceiveSample = { atMs: number; packets: number; expected: number };

export type RateWindow = { seconds: number; packets: number; pps: number; lost: number; lossFraction: number };

export class Bystander {
	readonly #clock: MediaClock;
	readonly #publisher: Publisher;
	readonly #pool: SubscriberPool;

	private constructor(clock: MediaClock, publisher: Publisher, pool: SubscriberPool) {
		this.#clock = clock;
		this.#publisher = publisher;
		this.#pool = pool;
	}

	static async start(api: HttpApiClient, roomId: string): Promise<Bystander> {
		const clock = new MediaClock();
		const publisher = await Publisher.start({ api, roomId, id: BYSTANDER_PUBLISHER, profile: PROFILES['camera-360p'], seed: 7 });
		clock.add(publisher);
		// Consumers created before every layer is known stay on a lower one (see Publisher.allLayersReported).
		await publisher.allLayersReported();
		const pool = await SubscriberPool.create({ api, sockets: 1 });
		await pool.add(roomId, BYSTANDER_SUBSCRIBER, publisher.producerIds);
		const bystander = new Bystander(clock, publisher, pool);
		const deadline = Date.now() + 15_000;
		while (!pool.streams.every((stream) => stream.stats.packets > 0)) {
			if (Date.now() > deadline) throw new Error('the bystander received nothing within 15 s');
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		return bystander;
	}

	ids(): Targets['bystander'] {
		const subscriber = this.#pool.subscribers[0]!;
		const consumerOf = (producerId: string | undefined) => this.#pool.streams.find((stream) => stream.producerId === producerId)!.consumerId;
		return {
			publisherId: BYSTANDER_PUBLISHER,
			subscriberId: BYSTANDER_SUBSCRIBER,
			audioProducerId: this.#publisher.audioProducerId!,
			videoProducerId: this.#publisher.videoProducerId,
			subscriberTransportId: subscriber.transportId,
			// Audio first, then video: the cases name [1] as the video consumer.
			subscriberConsumerIds: [consumerOf(this.#publisher.audioProducerId), consumerOf(this.#publisher.videoProducerId)],
		};
	}

	sample(): ReceiveSample {
		let packets = 0;
		let expected = 0;
		for (const stream of this.#pool.streams) {
			const counters = stream.stats.counters();
			packets += counters.packets;
			expected += counters.expected;
		}
		return { atMs: performance.now(), packets, expected };
	}

	static between(start: ReceiveSample, end: ReceiveSample): RateWindow {
		const seconds = (end.atMs - start.atMs) / 1000;
		const packets = end.packets - start.packets;
		const expected = end.expected - start.expected;
		const lost = Math.max(0, expected - packets);
		return { seconds, packets, pps: packets / seconds, lost, lossFraction: expected > 0 ? lost / expected : 1 };
	}

	/** Received packets over a measuring window of `ms` (a duration to measure over, not a wait for a condition). */
	async measure(ms: number): Promise<RateWindow> {
		const start = this.sample();
		await new Promise((resolve) => setTimeout(resolve, ms));
		return Bystander.between(start, this.sample());
	}

	/**
	 * Waits until the rate is steady: the subscriber's consumer climbs to the
	 * top simulcast and temporal layers in its first seconds. Two windows in
	 * a row within `tolerance` of each other; at most `maxWindows`.
	 */
	async steady(windowMs = 1500, tolerance = 0.05, maxWindows = 10): Promise<RateWindow> {
		let previous = await this.measure(windowMs);
		for (let window = 1; window < maxWindows; window++) {
			const current = await this.measure(windowMs);
			if (previous.pps > 0 && Math.abs(current.pps - previous.pps) / previous.pps <= tolerance) return current;
			previous = current;
		}
		throw new Error(`the bystander's rate did not settle within ${maxWindows} windows of ${windowMs} ms (last ${previous.pps.toFixed(1)} pps)`);
	}

	get publisherStats(): Publisher['stats'] {
		return this.#publisher.stats;
	}

	async close(): Promise<void> {
		this.#clock.stop();
		await this.#pool.close().catch(() => undefined);
		await this.#publisher.close().catch(() => undefined);
	}
}

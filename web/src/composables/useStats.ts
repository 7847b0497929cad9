/**
 * The stats panel's figures: every few seconds while it is open, the
 * browser's and the server's stats of each producer and consumer.
 */
import { onScopeDispose, ref, watch } from 'vue';
import type { Ref } from 'vue';
import { bitrate, lossBetween, summarizeInbound, summarizeOutbound } from '../lib/stats.js';
import type { MediaSample } from '../lib/stats.js';
import type { Room } from './useRoom.js';

export type StatsRow = {
	key: string;
	direction: 'send' | 'receive';
	label: string;
	kind: 'audio' | 'video';
	codec: string;
	bitrate?: number | undefined;
	width?: number | undefined;
	height?: number | undefined;
	framesPerSecond?: number | undefined;
	loss?: number | undefined;
	roundTripTime?: number | undefined;
	score?: number | undefined;
	producerScore?: number | undefined;
	paused: boolean;
	currentLayers?: { spatial: number | null | undefined; temporal: number | null | undefined } | undefined;
	preferredLayers?: { spatial: number | undefined; temporal: number | undefined } | undefined;
	activeStreams?: number | undefined;
	qualityLimitation?: string | undefined;
	/** The server's byte count (what mediasoup saw), to compare with the browser's. */
	serverBitrate?: number | undefined;
};

const INTERVAL_MS = 2000;

function serverBitrateOf(stats: unknown[]): number | undefined {
	// mediasoup gives `bitrate` per RTP stream (bit/s over its own window).
	const values = stats
		.map((s) => (typeof s === 'object' && s !== null ? (s as { bitrate?: unknown }).bitrate : undefined))
		.filter((b): b is number => typeof b === 'number');
	return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

export function useStats(room: Room, enabled: Ref<boolean>) {
	const rows = ref<StatsRow[]>([]);
	const previous = new Map<string, MediaSample>();
	let timer: ReturnType<typeof setInterval> | undefined;
	let running = false;

	async function sample(): Promise<void> {
		const client = room.client.value;
		if (!client || running) return;
		running = true;
		try {
			const next: StatsRow[] = [];
			for (const [source, producer] of room.producers) {
				const stats = await client.producerStats(source).catch(() => undefined);
				const summary = stats && summarizeOutbound(stats.browser);
				const key = `p:${producer.producerId}`;
				next.push({
					key,
					direction: 'send',
					label: `you · ${source}`,
					kind: source === 'mic' || source === 'screen-audio' ? 'audio' : 'video',
					codec: producer.codec,
					paused: producer.paused,
					score: producer.score,
					...(summary && {
						bitrate: bitrate(previous.get(key), summary),
						width: summary.width,
						height: summary.height,
						framesPerSecond: summary.framesPerSecond,
						loss: lossBetween(previous.get(key), summary, 'outbound'),
						roundTripTime: summary.roundTripTime,
						activeStreams: summary.activeStreams,
						qualityLimitation: summary.qualityLimitation,
					}),
					serverBitrate: stats && serverBitrateOf(stats.server),
				});
				if (summary) previous.set(key, summary);
			}
			const names = new Map(room.peers.value.map((p) => [p.id, p.displayName]));
			for (const consumer of room.consumers.values()) {
				const stats = await client.consumerStats(consumer.id).catch(() => undefined);
				const summary = stats && summarizeInbound(stats.browser);
				const key = `c:${consumer.id}`;
				next.push({
					key,
					direction: 'receive',
					label: `${names.get(consumer.peerId) ?? consumer.peerId} · ${consumer.source}`,
					kind: consumer.kind,
					codec: consumer.codec,
					paused: consumer.producerPaused || consumer.localPaused,
					score: consumer.score,
					producerScore: consumer.producerScore,
					currentLayers:
						consumer.kind === 'video' ? { spatial: consumer.currentSpatialLayer, temporal: consumer.currentTemporalLayer } : undefined,
					preferredLayers:
						consumer.kind === 'video' ? { spatial: consumer.preferredSpatialLayer, temporal: consumer.preferredTemporalLayer } : undefined,
					...(summary && {
						bitrate: bitrate(previous.get(key), summary),
						width: summary.width,
						height: summary.height,
						framesPerSecond: summary.framesPerSecond,
						loss: lossBetween(previous.get(key), summary, 'inbound'),
						roundTripTime: summary.roundTripTime,
					}),
					serverBitrate: stats && serverBitrateOf(stats.server),
				});
				if (summary) previous.set(key, summary);
			}
			rows.value = next;
		} finally {
			running = false;
		}
	}

	watch(
		enabled,
		(on) => {
			clearInterval(timer);
			timer = undefined;
			if (!on) return;
			void sample();
			timer = setInterval(() => void sample(), INTERVAL_MS);
		},
		{ immediate: true },
	);

	onScopeDispose(() => clearInterval(timer));

	return { rows };
}

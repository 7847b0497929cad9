/**
 * Summaries of WebRTC getStats() reports for the stats panel: one sample
 * per producer or consumer, and the bitrate between two samples. Pure: it
 * reads plain records, so it is tested without a browser.
 */

/** One entry of an RTCStatsReport, as a plain record. */
export type RtcStatLike = { type: string; id: string; timestamp: number } & Record<string, unknown>;

export type MediaSample = {
	/** ms, from the stats' own clock. */
	timestamp: number;
	bytes: number;
	packets: number;
	packetsLost: number;
	/** Largest encoded/decoded frame size among the streams. */
	width?: number | undefined;
	height?: number | undefined;
	framesPerSecond?: number | undefined;
	/** seconds */
	roundTripTime?: number | undefined;
	/** seconds */
	jitter?: number | undefined;
	/** Outbound only: simulcast streams that are being sent. */
	activeStreams?: number | undefined;
	/** Outbound only: why the browser sends less than asked ("cpu", "bandwidth"). */
	qualityLimitation?: string | undefined;
	/** Inbound video only: frames decoded so far. */
	framesDecoded?: number | undefined;
};

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function selectedPairRtt(stats: readonly RtcStatLike[]): number | undefined {
	const transport = stats.find((s) => s.type === 'transport');
	const pairId = str(transport?.selectedCandidatePairId);
	const pair = stats.find((s) => s.type === 'candidate-pair' && (pairId ? s.id === pairId : s.nominated === true && s.state === 'succeeded'));
	return num(pair?.currentRoundTripTime);
}

function maxOf(values: (number | undefined)[]): number | undefined {
	const defined = values.filter((v): v is number => v !== undefined);
	return defined.length === 0 ? undefined : Math.max(...defined);
}

/** A producer's report: one outbound-rtp per simulcast stream, remote-inbound-rtp with loss and RTT. */
export function summarizeOutbound(report: Iterable<RtcStatLike>): MediaSample | undefined {
	const stats = [...report];
	const outbound = stats.filter((s) => s.type === 'outbound-rtp');
	if (outbound.length === 0) return undefined;
	const remote = stats.filter((s) => s.type === 'remote-inbound-rtp');
	const active = outbound.filter((s) => s.active !== false && (num(s.framesPerSecond) ?? 1) > 0);
	const limitations = outbound.map((s) => str(s.qualityLimitationReason)).filter((r) => r && r !== 'none');
	return {
		timestamp: Math.max(...outbound.map((s) => s.timestamp)),
		bytes: outbound.reduce((sum, s) => sum + (num(s.bytesSent) ?? 0), 0),
		packets: outbound.reduce((sum, s) => sum + (num(s.packetsSent) ?? 0), 0),
		packetsLost: remote.reduce((sum, s) => sum + Math.max(num(s.packetsLost) ?? 0, 0), 0),
		width: maxOf(outbound.map((s) => num(s.frameWidth))),
		height: maxOf(outbound.map((s) => num(s.frameHeight))),
		framesPerSecond: maxOf(outbound.map((s) => num(s.framesPerSecond))),
		roundTripTime: maxOf(remote.map((s) => num(s.roundTripTime))) ?? selectedPairRtt(stats),
		jitter: maxOf(remote.map((s) => num(s.jitter))),
		activeStreams: outbound[0]?.kind === 'audio' ? undefined : active.length,
		qualityLimitation: limitations[0],
	};
}

/** A consumer's report: one inbound-rtp, the transport's candidate pair for RTT. */
export function summarizeInbound(report: Iterable<RtcStatLike>): MediaSample | undefined {
	const stats = [...report];
	const inbound = stats.filter((s) => s.type === 'inbound-rtp');
	if (inbound.length === 0) return undefined;
	return {
		timestamp: Math.max(...inbound.map((s) => s.timestamp)),
		bytes: inbound.reduce((sum, s) => sum + (num(s.bytesReceived) ?? 0), 0),
		packets: inbound.reduce((sum, s) => sum + (num(s.packetsReceived) ?? 0), 0),
		packetsLost: inbound.reduce((sum, s) => sum + Math.max(num(s.packetsLost) ?? 0, 0), 0),
		width: maxOf(inbound.map((s) => num(s.frameWidth))),
		height: maxOf(inbound.map((s) => num(s.frameHeight))),
		framesPerSecond: maxOf(inbound.map((s) => num(s.framesPerSecond))),
		roundTripTime: selectedPairRtt(stats),
		jitter: maxOf(inbound.map((s) => num(s.jitter))),
		framesDecoded: maxOf(inbound.map((s) => num(s.framesDecoded))),
	};
}

/** bit/s between two samples of the same stream; undefined until there are two. */
export function bitrate(previous: MediaSample | undefined, next: MediaSample): number | undefined {
	if (!previous) return undefined;
	const seconds = (next.timestamp - previous.timestamp) / 1000;
	// A counter that went back means a new stream (e.g. after reconnecting).
	if (seconds <= 0 || next.bytes < previous.bytes) return undefined;
	return ((next.bytes - previous.bytes) * 8) / seconds;
}

/**
 * Fraction of packets lost between two samples (0..1). Inbound: of those
 * expected (received + lost); outbound: of those sent, as the receiver reports.
 */
export function lossBetween(previous: MediaSample | undefined, next: MediaSample, direction: 'inbound' | 'outbound'): number | undefined {
	if (!previous) return undefined;
	const lost = next.packetsLost - previous.packetsLost;
	const packets = next.packets - previous.packets;
	if (lost < 0 || packets < 0) return undefined;
	const expected = direction === 'inbound' ? packets + lost : packets;
	if (expected === 0) return undefined;
	return Math.min(lost / expected, 1);
}

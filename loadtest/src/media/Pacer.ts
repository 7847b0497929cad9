/**
 * A sender-side pacer like libwebrtc's: video packets leave at a pacing rate
 * (by default 2.5 × the target bitrate) instead of a whole frame at once, so
 * many publishers do not hit the SFU with synchronised bursts that real
 * browsers never send. The queue is bounded in time: the rate rises as needed
 * for its oldest packet to leave within `maxQueueMs`, as libwebrtc's pacer
 * does.
 */
export class Pacer {
	private readonly queue: { packet: Buffer; atMs: number }[] = [];
	private queuedBytes = 0;
	private tokens: number;
	private lastMs: number | undefined;

	constructor(
		private readonly rateBitsPerSecond: number,
		private readonly maxQueueMs = 500,
		/** Bytes that may leave back to back after an idle spell (a token bucket's depth): two packets. */
		private readonly burstBytes = 2500,
	) {
		if (!(rateBitsPerSecond > 0)) throw new RangeError(`pacing rate must be positive, got ${rateBitsPerSecond}`);
		this.tokens = burstBytes;
	}

	enqueue(packets: readonly Buffer[], nowMs: number): void {
		for (const packet of packets) {
			this.queue.push({ packet, atMs: nowMs });
			this.queuedBytes += packet.length;
		}
	}

	get queued(): { packets: number; bytes: number } {
		return { packets: this.queue.length, bytes: this.queuedBytes };
	}

	/** Packets that may leave by `nowMs`, in order. */
	drain(nowMs: number): Buffer[] {
		const elapsedMs = this.lastMs === undefined ? 0 : Math.max(0, nowMs - this.lastMs);
		this.lastMs = nowMs;
		const oldestAgeMs = this.queue.length > 0 ? nowMs - this.queue[0]!.atMs : 0;
		const remainingMs = Math.max(20, this.maxQueueMs - oldestAgeMs);
		const drainRate = Math.max(this.rateBitsPerSecond, (this.queuedBytes * 8 * 1000) / remainingMs);
		const earned = (drainRate / 8) * (elapsedMs / 1000);
		this.tokens = Math.min(this.tokens + earned, this.burstBytes + earned);
		const out: Buffer[] = [];
		while (this.queue.length > 0 && this.tokens >= this.queue[0]!.packet.length) {
			const { packet } = this.queue.shift()!;
			this.tokens -= packet.length;
			this.queuedBytes -= packet.length;
			out.push(packet);
		}
		return out;
	}
}

/**
 * What a receiver knows about one RTP stream (RFC 3550 §6.4.1, Appendix A.1
 * and A.8): packets and bytes, loss from sequence-number gaps (with 16-bit
 * wrap-around), and interarrival jitter from RTP timestamps. Needs only the
 * RTP header, so it works on SRTP without decrypting.
 */

const RTP_SEQ_MOD = 0x10000;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

export type ReceiveCounters = {
	packets: number;
	bytes: number;
	/** Packets the sequence numbers say were sent (extended highest − first + 1). */
	expected: number;
	/** expected − received, never negative (duplicates can outnumber losses). */
	lost: number;
};

/** Signed difference a − b of two 32-bit RTP timestamps. */
function timestampDelta(a: number, b: number): number {
	return ((a - b) | 0);
}

export class RtpReceiveStats {
	packets = 0;
	bytes = 0;
	/** Packets that arrived with a sequence number at or below the highest seen. */
	reordered = 0;
	private started = false;
	private baseSeq = 0;
	private maxSeq = 0;
	private cycles = 0;
	private badSeq = RTP_SEQ_MOD + 1;
	/** Counted packets before the last restart (RFC 3550 A.1: a source that restarted its sequence). */
	private packetsBeforeRestart = 0;
	private expectedBeforeRestart = 0;
	private jitterUnits = 0;
	private lastArrivalUnits = 0;
	private lastTimestamp = 0;
	private hasTransit = false;
	private intervalExpected = 0;
	private intervalPackets = 0;

	constructor(readonly clockRate: number) {
		if (!(clockRate > 0)) throw new RangeError(`clock rate must be positive, got ${clockRate}`);
	}

	/** Feeds one packet: its sequence number, RTP timestamp, arrival time (ms, monotonic) and size. */
	onPacket(seq: number, timestamp: number, arrivalMs: number, bytes: number): void {
		this.bytes += bytes;
		if (!this.started) {
			this.restart(seq);
			this.started = true;
		} else {
			const delta = (seq - this.maxSeq + RTP_SEQ_MOD) % RTP_SEQ_MOD;
			if (delta === 0) {
				this.reordered++;
			} else if (delta < MAX_DROPOUT) {
				if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
				this.maxSeq = seq;
			} else if (delta <= RTP_SEQ_MOD - MAX_MISORDER) {
				// A very large jump: the sender restarted unless two packets in a row agree.
				if (seq === this.badSeq) {
					this.packetsBeforeRestart += this.packets;
					this.expectedBeforeRestart += this.expectedInCurrentRun();
					this.restart(seq);
				} else {
					this.badSeq = (seq + 1) % RTP_SEQ_MOD;
					return;
				}
			} else {
				this.reordered++;
			}
		}
		this.packets++;
		this.updateJitter(timestamp, arrivalMs);
	}

	private restart(seq: number): void {
		this.baseSeq = seq;
		this.maxSeq = seq;
		this.cycles = 0;
		this.badSeq = RTP_SEQ_MOD + 1;
		this.packets = 0;
		this.hasTransit = false;
	}

	private updateJitter(timestamp: number, arrivalMs: number): void {
		const arrivalUnits = (arrivalMs * this.clockRate) / 1000;
		if (this.hasTransit) {
			const d = Math.abs(arrivalUnits - this.lastArrivalUnits - timestampDelta(timestamp, this.lastTimestamp));
			this.jitterUnits += (d - this.jitterUnits) / 16;
		}
		this.hasTransit = true;
		this.lastArrivalUnits = arrivalUnits;
		this.lastTimestamp = timestamp;
	}

	private expectedInCurrentRun(): number {
		return this.started ? this.cycles + this.maxSeq - this.baseSeq + 1 : 0;
	}

	get extendedHighestSeq(): number {
		return this.cycles + this.maxSeq;
	}

	/** Interarrival jitter in RTP timestamp units (what RTCP reports). */
	get jitter(): number {
		return this.jitterUnits;
	}

	get jitterMs(): number {
		return (this.jitterUnits / this.clockRate) * 1000;
	}

	counters(): ReceiveCounters {
		const packets = this.packetsBeforeRestart + this.packets;
		const expected = this.expectedBeforeRestart + this.expectedInCurrentRun();
		return { packets, bytes: this.bytes, expected, lost: Math.max(0, expected - packets) };
	}

	/** Loss since the previous call (RFC 3550 A.3 "fraction lost"), 0–1. */
	intervalLoss(): { expected: number; received: number; fractionLost: number } {
		const { packets, expected } = this.counters();
		const expectedInterval = expected - this.intervalExpected;
		const receivedInterval = packets - this.intervalPackets;
		this.intervalExpected = expected;
		this.intervalPackets = packets;
		const lost = expectedInterval - receivedInterval;
		return { expected: expectedInterval, received: receivedInterval, fractionLost: expectedInterval > 0 && lost > 0 ? lost / expectedInterval : 0 };
	}
}

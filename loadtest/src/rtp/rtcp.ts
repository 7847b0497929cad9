/** The RTCP a load generator needs (RFC 3550, RFC 4585, RFC 5104): SR and RR out, PLI/FIR in. */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
const PSFB_PLI = 1;
const PSFB_FIR = 4;

/** Seconds between 1900-01-01 (NTP epoch) and 1970-01-01 (Unix epoch). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export function ntpTimestamp(unixMs: number): { seconds: number; fraction: number } {
	const seconds = Math.floor(unixMs / 1000);
	const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 0x100000000);
	return { seconds: (seconds + NTP_UNIX_OFFSET_S) >>> 0, fraction: fraction >>> 0 };
}

export type SenderReport = {
	ssrc: number;
	unixMs: number;
	rtpTimestamp: number;
	packetCount: number;
	octetCount: number;
};

/** A sender report without report blocks (28 bytes). */
export function senderReport(report: SenderReport): Buffer {
	const packet = Buffer.alloc(28);
	packet[0] = 0x80;
	packet[1] = RTCP_SR;
	packet.writeUInt16BE(6, 2);
	packet.writeUInt32BE(report.ssrc >>> 0, 4);
	const ntp = ntpTimestamp(report.unixMs);
	packet.writeUInt32BE(ntp.seconds, 8);
	packet.writeUInt32BE(ntp.fraction, 12);
	packet.writeUInt32BE(report.rtpTimestamp >>> 0, 16);
	packet.writeUInt32BE(report.packetCount >>> 0, 20);
	packet.writeUInt32BE(report.octetCount >>> 0, 24);
	return packet;
}

export type ReportBlock = {
	ssrc: number;
	/** Fraction of packets lost since the previous report, 0–1. */
	fractionLost: number;
	cumulativeLost: number;
	extendedHighestSeq: number;
	/** Interarrival jitter in RTP timestamp units. */
	jitter: number;
	lastSr: number;
	delaySinceLastSr: number;
};

/** A receiver report with up to 31 report blocks. */
export function receiverReport(senderSsrc: number, blocks: ReportBlock[]): Buffer {
	if (blocks.length > 31) throw new RangeError('an RTCP receiver report holds at most 31 report blocks');
	const packet = Buffer.alloc(8 + 24 * blocks.length);
	packet[0] = 0x80 | blocks.length;
	packet[1] = RTCP_RR;
	packet.writeUInt16BE(packet.length / 4 - 1, 2);
	packet.writeUInt32BE(senderSsrc >>> 0, 4);
	blocks.forEach((block, index) => {
		const offset = 8 + 24 * index;
		packet.writeUInt32BE(block.ssrc >>> 0, offset);
		const fraction = Math.max(0, Math.min(255, Math.floor(block.fractionLost * 256)));
		const cumulative = Math.max(-0x800000, Math.min(0x7fffff, Math.round(block.cumulativeLost)));
		packet.writeUInt32BE(((fraction << 24) | (cumulative & 0xffffff)) >>> 0, offset + 4);
		packet.writeUInt32BE(block.extendedHighestSeq >>> 0, offset + 8);
		packet.writeUInt32BE(Math.round(block.jitter) >>> 0, offset + 12);
		packet.writeUInt32BE(block.lastSr >>> 0, offset + 16);
		packet.writeUInt32BE(block.delaySinceLastSr >>> 0, offset + 20);
	});
	return packet;
}

/** SSRCs the sender of an RTCP compound packet asks key frames for (PLI and FIR). */
export function keyFrameRequests(compound: Buffer): number[] {
	const ssrcs: number[] = [];
	let offset = 0;
	while (offset + 4 <= compound.length) {
		const count = compound[offset]! & 0x1f;
		const type = compound[offset + 1]!;
		const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
		if (offset + length > compound.length) break;
		if (type === RTCP_PSFB && count === PSFB_PLI && length >= 12) {
			ssrcs.push(compound.readUInt32BE(offset + 8));
		} else if (type === RTCP_PSFB && count === PSFB_FIR) {
			for (let fci = offset + 12; fci + 8 <= offset + length; fci += 8) ssrcs.push(compound.readUInt32BE(fci));
		}
		offset += length;
	}
	return ssrcs;
}

/** Packet types in an RTCP compound packet, in order (for tests and diagnostics). */
export function rtcpPacketTypes(compound: Buffer): { type: number; count: number }[] {
	const result: { type: number; count: number }[] = [];
	let offset = 0;
	while (offset + 4 <= compound.length) {
		const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
		result.push({ type: compound[offset + 1]!, count: compound[offset]! & 0x1f });
		offset += length;
	}
	return result;
}

/** A PLI (for tests: what the SFU sends a publisher to ask for a key frame). */
export function pictureLossIndication(senderSsrc: number, mediaSsrc: number): Buffer {
	const packet = Buffer.alloc(12);
	packet[0] = 0x80 | PSFB_PLI;
	packet[1] = RTCP_PSFB;
	packet.writeUInt16BE(2, 2);
	packet.writeUInt32BE(senderSsrc >>> 0, 4);
	packet.writeUInt32BE(mediaSsrc >>> 0, 8);
	return packet;
}

/** A FIR with one entry (for tests). */
export function fullIntraRequest(senderSsrc: number, mediaSsrc: number, seq: number): Buffer {
	const packet = Buffer.alloc(20);
	packet[0] = 0x80 | PSFB_FIR;
	packet[1] = RTCP_PSFB;
	packet.writeUInt16BE(4, 2);
	packet.writeUInt32BE(senderSsrc >>> 0, 4);
	packet.writeUInt32BE(0, 8);
	packet.writeUInt32BE(mediaSsrc >>> 0, 12);
	packet[16] = seq & 0xff;
	return packet;
}

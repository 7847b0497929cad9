/** RTP fixed header (RFC 3550 §5.1): writing for publishers, reading for subscribers. */

export const RTP_HEADER_BYTES = 12;

export type RtpHeader = {
	payloadType: number;
	marker: boolean;
	sequenceNumber: number;
	timestamp: number;
	ssrc: number;
};

export type ParsedRtpHeader = RtpHeader & {
	/** Offset of the payload: fixed header + CSRCs + header extension. */
	payloadOffset: number;
	/** Payload length without padding. */
	payloadLength: number;
};

/** Writes a 12-byte RTP header (no CSRC, no extension, no padding) at the start of `buffer`. */
export function writeRtpHeader(buffer: Buffer, header: RtpHeader): void {
	buffer[0] = 0x80;
	buffer[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
	buffer.writeUInt16BE(header.sequenceNumber & 0xffff, 2);
	buffer.writeUInt32BE(header.timestamp >>> 0, 4);
	buffer.writeUInt32BE(header.ssrc >>> 0, 8);
}

/** True for RTP, false for RTCP (RFC 5761 §4: RTCP packet types 192–223 in the second byte). */
export function isRtp(buffer: Buffer): boolean {
	if (buffer.length < RTP_HEADER_BYTES || (buffer[0]! & 0xc0) !== 0x80) return false;
	const packetType = buffer[1]!;
	return packetType < 192 || packetType > 223;
}

/**
 * Parses an RTP header; undefined when the buffer is not a well-formed RTP
 * packet. Under SRTP, give the authentication tag's length: the header stays
 * readable, the padding count (inside the encrypted payload) does not.
 */
export function readRtpHeader(buffer: Buffer, srtpTagBytes = 0): ParsedRtpHeader | undefined {
	if (!isRtp(buffer)) return undefined;
	const first = buffer[0]!;
	const csrcCount = first & 0x0f;
	let offset = RTP_HEADER_BYTES + csrcCount * 4;
	if (first & 0x10) {
		if (buffer.length < offset + 4) return undefined;
		const extensionWords = buffer.readUInt16BE(offset + 2);
		offset += 4 + extensionWords * 4;
	}
	let end = buffer.length - srtpTagBytes;
	if (first & 0x20 && srtpTagBytes === 0) {
		const padding = buffer[buffer.length - 1]!;
		end -= padding;
	}
	if (offset > end) return undefined;
	return {
		payloadType: buffer[1]! & 0x7f,
		marker: (buffer[1]! & 0x80) !== 0,
		sequenceNumber: buffer.readUInt16BE(2),
		timestamp: buffer.readUInt32BE(4),
		ssrc: buffer.readUInt32BE(8),
		payloadOffset: offset,
		payloadLength: end - offset,
	};
}

/** A random non-zero 32-bit SSRC. */
export function randomSsrc(random: () => number = Math.random): number {
	return (Math.floor(random() * 0xfffffffe) + 1) >>> 0;
}

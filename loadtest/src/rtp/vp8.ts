/**
 * VP8 RTP payload (RFC 7741): the payload descriptor mediasoup reads to
 * switch simulcast and temporal layers, and the start of the VP8 frame
 * (RFC 6386 §9.1) from which it tells key frames.
 */

/** X + I (two-byte picture ID) + L (TL0PICIDX) + T/K (TID, Y, KEYIDX): what libwebrtc sends. */
export const VP8_DESCRIPTOR_BYTES = 6;
/** Frame tag + start code + dimensions of a key frame. */
export const VP8_KEY_FRAME_HEADER_BYTES = 10;
export const VP8_INTER_FRAME_HEADER_BYTES = 3;

export type Vp8Descriptor = {
	/** First packet of a VP8 partition (S bit). */
	start: boolean;
	partitionIndex: number;
	/** Frame not used as a reference (N bit). */
	nonReference: boolean;
	/** 15-bit picture ID, incremented per frame. */
	pictureId: number;
	/** Index of the last temporal-layer-0 picture, incremented per TL0 frame (8 bits). */
	tl0PicIdx: number;
	/** Temporal layer (0–3). */
	temporalLayer: number;
	/** Layer sync (Y bit): the frame depends only on TL0 frames. */
	layerSync: boolean;
	keyIndex: number;
};

/** Writes the 6-byte descriptor at `offset`; returns the number of bytes written. */
export function writeVp8Descriptor(buffer: Buffer, offset: number, d: Vp8Descriptor): number {
	buffer[offset] = 0x80 | (d.nonReference ? 0x20 : 0) | (d.start ? 0x10 : 0) | (d.partitionIndex & 0x07);
	buffer[offset + 1] = 0x80 | 0x40 | 0x20 | 0x10; // I, L, T, K
	const pictureId = d.pictureId & 0x7fff;
	buffer[offset + 2] = 0x80 | (pictureId >> 8);
	buffer[offset + 3] = pictureId & 0xff;
	buffer[offset + 4] = d.tl0PicIdx & 0xff;
	buffer[offset + 5] = ((d.temporalLayer & 0x03) << 6) | (d.layerSync ? 0x20 : 0) | (d.keyIndex & 0x1f);
	return VP8_DESCRIPTOR_BYTES;
}

export type ParsedVp8Descriptor = Partial<Vp8Descriptor> & {
	start: boolean;
	partitionIndex: number;
	nonReference: boolean;
	/** Bytes the descriptor takes; the VP8 payload starts after it. */
	length: number;
	/** First packet of a key frame (S=1, PID=0, P bit of the frame tag 0). */
	isKeyFrame: boolean;
};

/** Parses a VP8 payload descriptor as RFC 7741 §4.2 (and mediasoup's VP8.cpp) read it. */
export function parseVp8Descriptor(payload: Buffer): ParsedVp8Descriptor | undefined {
	if (payload.length < 1) return undefined;
	const first = payload[0]!;
	const result: ParsedVp8Descriptor = {
		start: (first & 0x10) !== 0,
		partitionIndex: first & 0x07,
		nonReference: (first & 0x20) !== 0,
		length: 1,
		isKeyFrame: false,
	};
	let offset = 1;
	if (first & 0x80) {
		if (payload.length < offset + 1) return undefined;
		const flags = payload[offset++]!;
		if (flags & 0x80) {
			if (payload.length < offset + 1) return undefined;
			const high = payload[offset++]!;
			if (high & 0x80) {
				if (payload.length < offset + 1) return undefined;
				result.pictureId = ((high & 0x7f) << 8) | payload[offset++]!;
			} else {
				result.pictureId = high & 0x7f;
			}
		}
		if (flags & 0x40) {
			if (payload.length < offset + 1) return undefined;
			result.tl0PicIdx = payload[offset++]!;
		}
		if (flags & 0x30) {
			if (payload.length < offset + 1) return undefined;
			const byte = payload[offset++]!;
			result.temporalLayer = byte >> 6;
			result.layerSync = (byte & 0x20) !== 0;
			result.keyIndex = byte & 0x1f;
		}
	}
	result.length = offset;
	result.isKeyFrame = payload.length > offset && result.start && result.partitionIndex === 0 && (payload[offset]! & 0x01) === 0;
	return result;
}

/**
 * Writes the uncompressed header at the start of a VP8 frame (RFC 6386 §9.1):
 * the 3-byte frame tag, and for a key frame the start code and dimensions.
 * Returns the number of bytes written.
 */
export function writeVp8FrameHeader(
	buffer: Buffer,
	offset: number,
	frame: { keyFrame: boolean; firstPartitionSize: number; width: number; height: number },
): number {
	// Frame tag: bit 0 frame type (0 = key), bits 1–3 version, bit 4 show_frame, bits 5–23 first partition size.
	const size = Math.min(frame.firstPartitionSize, 0x7ffff);
	const tag = (frame.keyFrame ? 0 : 1) | (0 << 1) | (1 << 4) | (size << 5);
	buffer[offset] = tag & 0xff;
	buffer[offset + 1] = (tag >> 8) & 0xff;
	buffer[offset + 2] = (tag >> 16) & 0xff;
	if (!frame.keyFrame) return VP8_INTER_FRAME_HEADER_BYTES;
	buffer[offset + 3] = 0x9d;
	buffer[offset + 4] = 0x01;
	buffer[offset + 5] = 0x2a;
	buffer.writeUInt16LE(frame.width & 0x3fff, offset + 6);
	buffer.writeUInt16LE(frame.height & 0x3fff, offset + 8);
	return VP8_KEY_FRAME_HEADER_BYTES;
}

/** Temporal layer of frame `index` after a key frame in libwebrtc's three-layer pattern 0,2,1,2. */
export function temporalLayerOf(frameIndex: number, temporalLayers: number): number {
	if (temporalLayers <= 1) return 0;
	const position = frameIndex % 4;
	if (temporalLayers === 2) return position % 2;
	return [0, 2, 1, 2][position]!;
}

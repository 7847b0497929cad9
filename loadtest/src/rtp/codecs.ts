/**
 * Payloaders: turn a synthetic encoded frame (its size and layer, not real
 * picture data) into RTP payloads with the headers a real encoder would put
 * there, so the SFU parses, switches and forwards them as it would real media.
 */
import { randomBytes } from 'node:crypto';
import { VP8_DESCRIPTOR_BYTES, VP8_INTER_FRAME_HEADER_BYTES, VP8_KEY_FRAME_HEADER_BYTES, writeVp8Descriptor, writeVp8FrameHeader } from './vp8.js';

/** Bytes copied into payloads in place of compressed picture/audio data. */
const FILLER = randomBytes(64 * 1024);

function fill(buffer: Buffer, offset: number, length: number, seed: number): void {
	let written = 0;
	let from = seed % (FILLER.length - 1500);
	while (written < length) {
		const chunk = Math.min(length - written, FILLER.length - from);
		FILLER.copy(buffer, offset + written, from, from + chunk);
		written += chunk;
		from = 0;
	}
}

export type EncodedVideoFrame = {
	keyFrame: boolean;
	/** Size of the compressed frame in bytes, before packetization. */
	bytes: number;
	temporalLayer: number;
	/** The frame depends only on temporal layer 0 (VP8 Y bit). */
	layerSync: boolean;
	/** 15-bit, incremented per frame of this encoding. */
	pictureId: number;
	/** Incremented per temporal-layer-0 frame of this encoding. */
	tl0PicIdx: number;
	width: number;
	height: number;
};

export interface VideoPayloader {
	readonly mimeType: 'video/VP8' | 'video/H264';
	/**
	 * RTP payloads of one frame, in order; the last one gets the marker bit.
	 * With `data` (a real encoded frame) its bytes are sent; without, filler of `frame.bytes`.
	 */
	payloads(frame: EncodedVideoFrame, maxPayloadBytes: number, data?: Buffer): Buffer[];
}

/** Splits `total` bytes into the fewest packets of at most `max` bytes, sized evenly as libwebrtc does. */
export function splitEvenly(total: number, max: number): number[] {
	const count = Math.max(1, Math.ceil(total / max));
	const base = Math.floor(total / count);
	const extra = total - base * count;
	return Array.from({ length: count }, (_, index) => base + (index < extra ? 1 : 0));
}

export class Vp8Payloader implements VideoPayloader {
	readonly mimeType = 'video/VP8';

	payloads(frame: EncodedVideoFrame, maxPayloadBytes: number, data?: Buffer): Buffer[] {
		const headerBytes = frame.keyFrame ? VP8_KEY_FRAME_HEADER_BYTES : VP8_INTER_FRAME_HEADER_BYTES;
		const frameBytes = data ? data.length : Math.max(frame.bytes, headerBytes + 1);
		const sizes = splitEvenly(frameBytes, maxPayloadBytes - VP8_DESCRIPTOR_BYTES);
		let frameOffset = 0;
		return sizes.map((size, index) => {
			const payload = Buffer.allocUnsafe(VP8_DESCRIPTOR_BYTES + size);
			writeVp8Descriptor(payload, 0, {
				start: index === 0,
				partitionIndex: 0,
				nonReference: frame.temporalLayer > 0 && !frame.keyFrame,
				pictureId: frame.pictureId,
				tl0PicIdx: frame.tl0PicIdx,
				temporalLayer: frame.temporalLayer,
				layerSync: frame.layerSync,
				keyIndex: 0,
			});
			let offset = VP8_DESCRIPTOR_BYTES;
			if (data) {
				data.copy(payload, offset, frameOffset, frameOffset + size);
				frameOffset += size;
				return payload;
			}
			if (index === 0) {
				offset += writeVp8FrameHeader(payload, offset, {
					keyFrame: frame.keyFrame,
					firstPartitionSize: Math.floor(frameBytes / 4),
					width: frame.width,
					height: frame.height,
				});
			}
			fill(payload, offset, payload.length - offset, frame.pictureId * 131 + frameOffset);
			frameOffset += size;
			return payload;
		});
	}
}

const NAL_SLICE = 1;
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const STAP_A = 24;
const FU_A = 28;
/** nal_ref_idc 3 (reference) for SPS/PPS/IDR, 2 for other slices. */
const NRI_HIGH = 0x60;
const NRI_LOW = 0x40;

/** SPS/PPS NAL units: the SPS starts with profile-level-id 42e01f; the rest is filler, like the slices (nothing here is decodable). */
const SPS = Buffer.from('6742e01f8d680b4190078d0c0a0c0c04', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

/** H.264 packetization-mode 1 (RFC 6184): STAP-A with SPS/PPS before each IDR, FU-A for large NAL units. */
export class H264Payloader implements VideoPayloader {
	readonly mimeType = 'video/H264';

	payloads(frame: EncodedVideoFrame, maxPayloadBytes: number, data?: Buffer): Buffer[] {
		if (data) throw new Error('the H.264 payloader sends filler only (no H.264 clips)');
		const result: Buffer[] = [];
		const nalType = frame.keyFrame ? NAL_IDR : NAL_SLICE;
		const nalHeader = (frame.keyFrame ? NRI_HIGH : NRI_LOW) | nalType;
		if (frame.keyFrame) {
			const stap = Buffer.allocUnsafe(1 + 2 + SPS.length + 2 + PPS.length);
			stap[0] = NRI_HIGH | STAP_A;
			stap.writeUInt16BE(SPS.length, 1);
			SPS.copy(stap, 3);
			stap.writeUInt16BE(PPS.length, 3 + SPS.length);
			PPS.copy(stap, 5 + SPS.length);
			result.push(stap);
		}
		const nalBytes = Math.max(frame.bytes, 2);
		if (nalBytes <= maxPayloadBytes) {
			const single = Buffer.allocUnsafe(nalBytes);
			single[0] = nalHeader;
			fill(single, 1, nalBytes - 1, frame.pictureId * 131);
			result.push(single);
			return result;
		}
		// FU-A: the NAL header is carried in the FU indicator/header, not in the fragments.
		const sizes = splitEvenly(nalBytes - 1, maxPayloadBytes - 2);
		let fragmentOffset = 0;
		sizes.forEach((size, index) => {
			const fu = Buffer.allocUnsafe(2 + size);
			fu[0] = (nalHeader & 0xe0) | FU_A;
			fu[1] = (index === 0 ? 0x80 : 0) | (index === sizes.length - 1 ? 0x40 : 0) | nalType;
			fill(fu, 2, size, frame.pictureId * 131 + fragmentOffset);
			fragmentOffset += size;
			result.push(fu);
		});
		return result;
	}
}

/** NAL unit types in an H.264 RTP payload (single NAL, STAP-A aggregates, FU-A start fragment). */
export function h264NalTypes(payload: Buffer): number[] {
	if (payload.length < 1) return [];
	const type = payload[0]! & 0x1f;
	if (type === STAP_A) {
		const types: number[] = [];
		let offset = 1;
		while (offset + 2 < payload.length) {
			const size = payload.readUInt16BE(offset);
			types.push(payload[offset + 2]! & 0x1f);
			offset += 2 + size;
		}
		return types;
	}
	if (type === FU_A) return payload.length > 1 && payload[1]! & 0x80 ? [payload[1]! & 0x1f] : [];
	return [type];
}

export const H264_NAL = { slice: NAL_SLICE, idr: NAL_IDR, sps: NAL_SPS, pps: NAL_PPS } as const;

/** TOC byte of a 20 ms CELT fullband mono Opus frame (RFC 6716 §3.1, config 31, code 0). */
const OPUS_TOC = (31 << 3) | 0;

/** One Opus packet of `bytes` bytes (TOC + filler). */
export function opusPayload(bytes: number, seed: number): Buffer {
	const payload = Buffer.allocUnsafe(Math.max(bytes, 2));
	payload[0] = OPUS_TOC;
	fill(payload, 1, payload.length - 1, seed);
	return payload;
}

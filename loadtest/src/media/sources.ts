/**
 * Synthetic encoders: each produces the RTP packets a real encoder and
 * packetizer would send for one stream (one simulcast encoding, or the
 * microphone) at the time they are due. Payload contents are filler; sizes,
 * rates, timestamps, key frames and layer descriptors are realistic.
 */
import { H264Payloader, Vp8Payloader, opusPayload, type VideoPayloader } from '../rtp/codecs.js';
import { RTP_HEADER_BYTES, writeRtpHeader } from '../rtp/rtp.js';
import { temporalLayerOf } from '../rtp/vp8.js';
import type { ClipFrame, VideoClip } from './clips.js';
import type { MediaProfile, SimulcastLayer } from './profile.js';

/** Counters an RTCP sender report needs. */
export type SenderCounters = { ssrc: number; packetCount: number; octetCount: number; rtpTimestampAt(unixMs: number): number };

function rtpPacket(payload: Buffer, header: { payloadType: number; marker: boolean; sequenceNumber: number; timestamp: number; ssrc: number }): Buffer {
	const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
	writeRtpHeader(packet, header);
	payload.copy(packet, RTP_HEADER_BYTES);
	return packet;
}

/** Relative size of a frame per temporal layer, so that TL0 carries ~40% of the bits as in libwebrtc's 3-layer allocation. */
function temporalSizeFactor(temporalLayer: number, temporalLayers: number): number {
	if (temporalLayers === 3) return temporalLayer === 0 ? 1.6 : 0.8;
	if (temporalLayers === 2) return temporalLayer === 0 ? 1.2 : 0.8;
	return 1;
}

abstract class RtpSource implements SenderCounters {
	packetCount = 0;
	octetCount = 0;
	protected sequenceNumber: number;
	protected readonly timestampBase: number;
	protected readonly startMs: number;

	constructor(
		readonly ssrc: number,
		readonly payloadType: number,
		readonly clockRate: number,
		protected readonly random: () => number,
		nowMs: number,
	) {
		this.sequenceNumber = Math.floor(random() * 0x10000);
		this.timestampBase = Math.floor(random() * 0x100000000);
		this.startMs = nowMs;
	}

	/** Capture timestamp of the sample taken at `unixMs` (this clock's zero is the source's start). */
	rtpTimestampAt(unixMs: number): number {
		return (this.timestampBase + Math.round(((unixMs - this.startMs) * this.clockRate) / 1000)) >>> 0;
	}

	protected packetize(payloads: Buffer[], timestamp: number): Buffer[] {
		return payloads.map((payload, index) => {
			const packet = rtpPacket(payload, {
				payloadType: this.payloadType,
				marker: index === payloads.length - 1,
				sequenceNumber: this.sequenceNumber,
				timestamp,
				ssrc: this.ssrc,
			});
			this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
			this.packetCount++;
			this.octetCount += payload.length;
			return packet;
		});
	}

	/** RTP packets due by `nowMs` (wall clock, ms); empty when nothing is due. */
	abstract poll(nowMs: number): Buffer[];
}

/** Opus: one packet every ptime, size around the target bitrate. */
export class AudioSource extends RtpSource {
	private nextFrameMs: number;
	private readonly frameBytes: number;

	constructor(ssrc: number, payloadType: number, private readonly profile: MediaProfile['audio'], random: () => number, nowMs: number) {
		super(ssrc, payloadType, 48_000, random, nowMs);
		this.nextFrameMs = nowMs;
		this.frameBytes = Math.round((profile.bitrate / 8) * (profile.ptimeMs / 1000));
	}

	poll(nowMs: number): Buffer[] {
		if (this.nextFrameMs > nowMs) return [];
		// Catch up at most a few frames after a stall instead of flooding.
		const due = Math.min(5, Math.floor((nowMs - this.nextFrameMs) / this.profile.ptimeMs) + 1);
		const packets: Buffer[] = [];
		for (let frame = 0; frame < due; frame++) {
			const size = Math.max(8, Math.round(this.frameBytes * (0.8 + 0.4 * this.random())));
			// Timestamped at send time: the jitter subscribers measure is then the server's and the network's, not the generator's timer.
			const sentAtMs = nowMs - (due - 1 - frame) * this.profile.ptimeMs;
			packets.push(...this.packetize([opusPayload(size, this.packetCount)], this.rtpTimestampAt(sentAtMs)));
		}
		this.nextFrameMs += due * this.profile.ptimeMs;
		if (this.nextFrameMs <= nowMs) this.nextFrameMs = nowMs + this.profile.ptimeMs;
		return packets;
	}
}

/**
 * One simulcast encoding: frames at the layer's rate, temporal layers 0,2,1,2,
 * key frames periodically and on request. With a clip (real VP8 frames), its
 * frames are sent in a loop that restarts at its key frame; otherwise filler
 * frames of the layer's average size.
 */
export class VideoEncodingSource extends RtpSource {
	keyFramesSent = 0;
	framesSent = 0;
	private readonly payloader: VideoPayloader;
	private nextFrameMs: number;
	private framesSinceKeyFrame = 0;
	private lastKeyFrameMs = Number.NEGATIVE_INFINITY;
	private keyFrameRequested = true;
	private pictureId: number;
	private tl0PicIdx: number;
	private readonly averageFrameBytes: number;
	private clipIndex = 0;

	constructor(
		ssrc: number,
		payloadType: number,
		private readonly layer: SimulcastLayer,
		private readonly video: MediaProfile['video'],
		private readonly maxPayloadBytes: number,
		random: () => number,
		nowMs: number,
		private readonly clip?: VideoClip,
	) {
		super(ssrc, payloadType, 90_000, random, nowMs);
		this.payloader = video.codec === 'VP8' ? new Vp8Payloader() : new H264Payloader();
		this.nextFrameMs = nowMs;
		this.pictureId = Math.floor(random() * 0x8000);
		this.tl0PicIdx = Math.floor(random() * 0x100);
		this.averageFrameBytes = layer.bitrate / 8 / layer.fps;
		if (clip && (clip.frames.length === 0 || !clip.frames[0]!.key)) throw new Error('a clip must start with a key frame');
	}

	/** Asks for a key frame (PLI/FIR); honoured at most every `minIntervalMs`, as encoders do. */
	requestKeyFrame(nowMs: number, minIntervalMs = 300): void {
		if (nowMs - this.lastKeyFrameMs >= minIntervalMs) this.keyFrameRequested = true;
	}

	poll(nowMs: number): Buffer[] {
		if (this.nextFrameMs > nowMs) return [];
		const frameIntervalMs = 1000 / this.layer.fps;
		this.nextFrameMs += frameIntervalMs;
		// After a stall, skip the missed frames as a real encoder would.
		if (this.nextFrameMs <= nowMs) this.nextFrameMs = nowMs + frameIntervalMs;

		let keyFrame = this.keyFrameRequested || nowMs - this.lastKeyFrameMs >= this.video.keyFrameIntervalMs;
		let clipFrame: ClipFrame | undefined;
		if (this.clip) {
			if (keyFrame || this.clipIndex >= this.clip.frames.length) this.clipIndex = 0;
			clipFrame = this.clip.frames[this.clipIndex++]!;
			keyFrame = clipFrame.key;
		}
		if (keyFrame) {
			this.keyFrameRequested = false;
			this.lastKeyFrameMs = nowMs;
			this.framesSinceKeyFrame = 0;
			this.keyFramesSent++;
		}
		const temporalLayers = this.video.codec === 'VP8' ? this.video.temporalLayers : 1;
		const temporalLayer = clipFrame ? clipFrame.temporalLayer : keyFrame ? 0 : temporalLayerOf(this.framesSinceKeyFrame, temporalLayers);
		if (temporalLayer === 0) this.tl0PicIdx = (this.tl0PicIdx + 1) & 0xff;
		const sizeFactor = keyFrame ? this.video.keyFrameSizeFactor : temporalSizeFactor(temporalLayer, temporalLayers);
		const bytes = clipFrame ? clipFrame.data.length : Math.max(16, Math.round(this.averageFrameBytes * sizeFactor * (0.85 + 0.3 * this.random())));
		// TL1 and the first TL2 of each group reference only TL0: they are sync points (Y bit).
		const position = this.framesSinceKeyFrame % 4;
		const layerSync = temporalLayer > 0 && (position === 1 || position === 2);
		const payloads = this.payloader.payloads(
			{ keyFrame, bytes, temporalLayer, layerSync, pictureId: this.pictureId, tl0PicIdx: this.tl0PicIdx, width: this.layer.width, height: this.layer.height },
			this.maxPayloadBytes,
			clipFrame?.data,
		);
		this.pictureId = (this.pictureId + 1) & 0x7fff;
		this.framesSinceKeyFrame++;
		this.framesSent++;
		// Timestamped when produced (capture); the publisher's pacer then delays its packets, as a browser's does.
		return this.packetize(payloads, this.rtpTimestampAt(nowMs));
	}
}

/**
 * What a synthetic publisher sends: the shape of a browser's camera and
 * microphone (Chrome's VP8 simulcast ladder for a 720p camera, three temporal
 * layers per encoding, Opus at 20 ms), with sizes and rates per layer.
 */
import type { types as ms } from 'mediasoup';

export type SimulcastLayer = {
	width: number;
	height: number;
	fps: number;
	/** Target bitrate of this encoding, bits/s. */
	bitrate: number;
};

export type VideoCodecName = 'VP8' | 'H264';

export type MediaProfile = {
	name: string;
	audio: { bitrate: number; ptimeMs: number };
	video: {
		codec: VideoCodecName;
		/** Lowest first, as simulcast encodings are ordered. */
		layers: SimulcastLayer[];
		/** 1–3 temporal layers per encoding (VP8 only; H.264 has one). */
		temporalLayers: number;
		/** A key frame on every encoding at least this often, besides those asked for by PLI/FIR. */
		keyFrameIntervalMs: number;
		/** Size of a key frame relative to an average frame. */
		keyFrameSizeFactor: number;
	};
	/** Largest RTP payload, as libwebrtc's packetizer limits it. */
	maxPayloadBytes: number;
};

export const PROFILES = {
	/** A 720p webcam in Chrome: 320×180 / 640×360 / 1280×720 at 30 fps. */
	'camera-720p': {
		name: 'camera-720p',
		audio: { bitrate: 32_000, ptimeMs: 20 },
		video: {
			codec: 'VP8',
			layers: [
				{ width: 320, height: 180, fps: 30, bitrate: 150_000 },
				{ width: 640, height: 360, fps: 30, bitrate: 500_000 },
				{ width: 1280, height: 720, fps: 30, bitrate: 1_200_000 },
			],
			temporalLayers: 3,
			keyFrameIntervalMs: 4000,
			keyFrameSizeFactor: 5,
		},
		maxPayloadBytes: 1200,
	},
	/** A 360p webcam (a meeting client on a small tile): 160×90 / 320×180 / 640×360. */
	'camera-360p': {
		name: 'camera-360p',
		audio: { bitrate: 32_000, ptimeMs: 20 },
		video: {
			codec: 'VP8',
			layers: [
				{ width: 160, height: 90, fps: 15, bitrate: 60_000 },
				{ width: 320, height: 180, fps: 30, bitrate: 150_000 },
				{ width: 640, height: 360, fps: 30, bitrate: 450_000 },
			],
			temporalLayers: 3,
			keyFrameIntervalMs: 4000,
			keyFrameSizeFactor: 5,
		},
		maxPayloadBytes: 1200,
	},
	/** The 720p ladder in H.264 Constrained Baseline (Safari, hardware encoders): no temporal layers. */
	'camera-720p-h264': {
		name: 'camera-720p-h264',
		audio: { bitrate: 32_000, ptimeMs: 20 },
		video: {
			codec: 'H264',
			layers: [
				{ width: 320, height: 180, fps: 30, bitrate: 150_000 },
				{ width: 640, height: 360, fps: 30, bitrate: 500_000 },
				{ width: 1280, height: 720, fps: 30, bitrate: 1_200_000 },
			],
			temporalLayers: 1,
			keyFrameIntervalMs: 4000,
			keyFrameSizeFactor: 5,
		},
		maxPayloadBytes: 1200,
	},
} as const satisfies Record<string, MediaProfile>;

export type ProfileName = keyof typeof PROFILES;

export function profileByName(name: string): MediaProfile {
	if (!(name in PROFILES)) throw new Error(`unknown media profile "${name}"; known: ${Object.keys(PROFILES).join(', ')}`);
	return PROFILES[name as ProfileName];
}

export const AUDIO_PAYLOAD_TYPE = 100;
export const VP8_PAYLOAD_TYPE = 101;
export const H264_PAYLOAD_TYPE = 102;

/** RTP capabilities the PlainTransport subscribers announce: what they can receive. */
export function subscriberRtpCapabilities(): ms.RtpCapabilities {
	const videoFeedback: ms.RtcpFeedback[] = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];
	return {
		codecs: [
			{ kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: AUDIO_PAYLOAD_TYPE, clockRate: 48000, channels: 2, rtcpFeedback: [] },
			{ kind: 'video', mimeType: 'video/VP8', preferredPayloadType: VP8_PAYLOAD_TYPE, clockRate: 90000, rtcpFeedback: videoFeedback },
			{
				kind: 'video',
				mimeType: 'video/H264',
				preferredPayloadType: H264_PAYLOAD_TYPE,
				clockRate: 90000,
				parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
				rtcpFeedback: videoFeedback,
			},
		],
		headerExtensions: [],
	};
}

/** Expected forwarded bitrate of one subscriber that receives the top layer and the audio, bits/s. */
export function subscriberBitrate(profile: MediaProfile): number {
	const top = profile.video.layers[profile.video.layers.length - 1]!;
	return top.bitrate + profile.audio.bitrate;
}

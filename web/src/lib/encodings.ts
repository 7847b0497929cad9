/**
 * How local media is encoded: camera simulcast, screen share tuned for
 * content, Opus options, and the choice of video codec. Pure.
 */
import type { VideoCodecChoice } from './settings.js';

/** The encoding fields we set (a subset of RTCRtpEncodingParameters as mediasoup-client takes them). */
export type EncodingSettings = {
	rid?: string;
	scaleResolutionDownBy?: number;
	maxBitrate?: number;
	maxFramerate?: number;
	scalabilityMode?: string;
	dtx?: boolean;
};

/**
 * Camera: three simulcast streams at 1/4, 1/2 and full resolution, each with
 * three temporal layers so the server can also thin the frame rate.
 * Bitrates suit 720p at 30 fps (the top stream), like common SFU defaults.
 */
export const cameraSimulcastEncodings: readonly EncodingSettings[] = [
	{ rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
	{ rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
	{ rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];

/**
 * Screen share: one stream at full resolution and a low frame rate, so text
 * stays sharp; more bits per frame instead of more frames.
 */
export const screenEncodings: readonly EncodingSettings[] = [
	{ maxBitrate: 2_500_000, maxFramerate: 15, scalabilityMode: 'L1T3' },
];

export const screenCaptureConstraints = {
	video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 30 } },
	// Tab or system audio, where the browser offers it.
	audio: true,
} as const;

export function cameraConstraints(deviceId: string | undefined): {
	deviceId?: { exact: string };
	width: { ideal: number };
	height: { ideal: number };
	frameRate: { ideal: number; max: number };
} {
	return {
		...(deviceId ? { deviceId: { exact: deviceId } } : {}),
		width: { ideal: 1280 },
		height: { ideal: 720 },
		frameRate: { ideal: 30, max: 30 },
	};
}

export function microphoneConstraints(deviceId: string | undefined): {
	deviceId?: { exact: string };
	echoCancellation: boolean;
	noiseSuppression: boolean;
	autoGainControl: boolean;
} {
	return {
		...(deviceId ? { deviceId: { exact: deviceId } } : {}),
		echoCancellation: true,
		noiseSuppression: true,
		autoGainControl: true,
	};
}

/** Opus for speech: in-band FEC against loss, DTX to save bits in silence. */
export const opusCodecOptions = { opusStereo: false, opusDtx: true, opusFec: true } as const;

export type CodecLike = {
	mimeType: string;
	parameters?: Record<string, unknown> | undefined;
};

/**
 * The codec to send camera and screen video with, among those both the
 * browser and the server support (`device.rtpCapabilities.codecs`).
 * undefined: let mediasoup-client take the first (the server's preference).
 * For H.264, packetization-mode 1 and the constrained baseline profile
 * (42e01f) are what every browser decodes.
 */
export function pickVideoCodec<C extends CodecLike>(codecs: readonly C[], choice: VideoCodecChoice): C | undefined {
	const mime = choice === 'h264' ? 'video/h264' : 'video/vp8';
	const matching = codecs.filter((codec) => codec.mimeType.toLowerCase() === mime);
	if (choice !== 'h264') return matching[0];
	const score = (codec: C): number => {
		const parameters = codec.parameters ?? {};
		const mode = Number(parameters['packetization-mode'] ?? 0);
		const profile = String(parameters['profile-level-id'] ?? '').toLowerCase();
		return (mode === 1 ? 2 : 0) + (profile.startsWith('42e0') ? 1 : 0);
	};
	return [...matching].sort((a, b) => score(b) - score(a))[0];
}

/** Whether a codec choice can be honoured at all. */
export function supportsVideoCodec(codecs: readonly CodecLike[], choice: VideoCodecChoice): boolean {
	return pickVideoCodec(codecs, choice) !== undefined;
}

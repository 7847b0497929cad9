/** Codecs every router offers: Opus for audio; VP8 and H.264 for video. */
import type { types as ms } from 'mediasoup';

const videoStartBitrate = { 'x-google-start-bitrate': 1000 };

export const mediaCodecs: ms.RtpCodecCapability[] = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { ...videoStartBitrate } },
	// H.264 needs packetization-mode 1 for browsers; Constrained Baseline first (widest support, Safari/iOS).
	{
		kind: 'video',
		mimeType: 'video/H264',
		clockRate: 90000,
		parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1, ...videoStartBitrate },
	},
	{
		kind: 'video',
		mimeType: 'video/H264',
		clockRate: 90000,
		parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0032', 'level-asymmetry-allowed': 1, ...videoStartBitrate },
	},
];

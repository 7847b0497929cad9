/**
 * A synthetic publisher: a broadcaster with one PlainTransport (SRTP by
 * default) that sends Opus and three-encoding simulcast video into a room,
 * answers the SFU's key-frame requests and sends RTCP sender reports (which
 * mediasoup needs before it switches a consumer between simulcast encodings).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { types as ms } from 'mediasoup';
import { keyFrameRequests, senderReport } from '../rtp/rtcp.js';
import { isRtp, randomSsrc } from '../rtp/rtp.js';
import { SrtpSession, randomSrtpParameters, type SrtpCryptoSuite } from '../rtp/srtp.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';
import { AUDIO_PAYLOAD_TYPE, H264_PAYLOAD_TYPE, VP8_PAYLOAD_TYPE, type MediaProfile } from './profile.js';
import { seededRandom } from './random.js';
import type { VideoClip } from './clips.js';
import { Pacer } from './Pacer.js';
import { AudioSource, VideoEncodingSource } from './sources.js';

export type PublisherOptions = {
	api: HttpApiClient;
	roomId: string;
	id: string;
	profile: MediaProfile;
	/** Encrypt with SRTP (default AES_CM_128_HMAC_SHA1_80); false sends plain RTP. */
	srtp?: SrtpCryptoSuite | false;
	/** Local address to send from (loopback). */
	bindAddress?: string;
	seed?: number;
	/** Send audio (default true). */
	audio?: boolean;
	/** Announced at creation so this broadcaster can also consume (a meeting participant). */
	rtpCapabilities?: ms.RtpCapabilities;
	/** Real VP8 frames, one clip per layer (see clips.ts); without, filler frames. */
	clips?: VideoClip[];
	/** Video pacing rate ÷ target bitrate, as libwebrtc's pacer (default 2.5); 0 sends each frame at once. */
	pacingFactor?: number;
};

export type PublisherStats = {
	packetsSent: number;
	bytesSent: number;
	keyFrameRequests: number;
	keyFramesSent: number;
	rtcpReceived: number;
	rtcpErrors: number;
	sendErrors: number;
};

const SENDER_REPORT_INTERVAL_MS = 1000;

export class Publisher {
	readonly stats: PublisherStats = { packetsSent: 0, bytesSent: 0, keyFrameRequests: 0, keyFramesSent: 0, rtcpReceived: 0, rtcpErrors: 0, sendErrors: 0 };
	audioProducerId: string | undefined;
	videoProducerId = '';
	private closed = false;
	private lastSenderReportMs = 0;
	private readonly pacer: Pacer | undefined;
	/** Video SSRCs whose sender report went out after their first RTP packet had gone. */
	private readonly reportedLayers = new Set<number>();

	private constructor(
		private readonly options: PublisherOptions,
		private readonly socket: Socket,
		private readonly remote: { ip: string; port: number },
		private readonly outbound: SrtpSession | undefined,
		private readonly inbound: SrtpSession | undefined,
		private readonly audio: AudioSource | undefined,
		private readonly video: VideoEncodingSource[],
	) {
		socket.on('message', (message) => this.onMessage(message));
		const pacingFactor = options.pacingFactor ?? 2.5;
		const videoBitrate = options.profile.video.layers.reduce((sum, layer) => sum + layer.bitrate, 0);
		if (pacingFactor > 0) this.pacer = new Pacer(videoBitrate * pacingFactor);
	}

	static async start(options: PublisherOptions): Promise<Publisher> {
		const { api, roomId, id, profile } = options;
		const suite = options.srtp === undefined ? 'AES_CM_128_HMAC_SHA1_80' : options.srtp;
		const random = seededRandom(options.seed ?? Math.floor(Math.random() * 0xffffffff));
		const socket = await bindSocket(options.bindAddress ?? '127.0.0.1');
		try {
			await api.createBroadcaster(roomId, {
				id,
				displayName: id,
				device: { name: 'loadtest-publisher' },
				...(options.rtpCapabilities ? { rtpCapabilities: options.rtpCapabilities } : {}),
			});
			const transport = await api.createPlainTransport(roomId, id, {
				comedia: false,
				rtcpMux: true,
				enableSrtp: suite !== false,
				...(suite !== false ? { srtpCryptoSuite: suite } : {}),
			});
			const local = socket.address();
			const ourSrtp = suite !== false ? randomSrtpParameters(suite) : undefined;
			await api.connectPlainTransport(roomId, id, transport.id, {
				ip: local.address,
				port: local.port,
				...(ourSrtp ? { srtpParameters: ourSrtp } : {}),
			});
			let inbound: SrtpSession | undefined;
			if (suite !== false) {
				if (!transport.srtpParameters) throw new Error(`transport of publisher ${id} was created with enableSrtp but returned no srtpParameters`);
				inbound = new SrtpSession(transport.srtpParameters);
			}
			const now = Date.now();
			const cname = `${id}-cname`;
			const audio = options.audio === false ? undefined : new AudioSource(randomSsrc(random), AUDIO_PAYLOAD_TYPE, profile.audio, random, now);
			const videoPayloadType = profile.video.codec === 'VP8' ? VP8_PAYLOAD_TYPE : H264_PAYLOAD_TYPE;
			if (options.clips && options.clips.length !== profile.video.layers.length) throw new Error(`${options.clips.length} clips for ${profile.video.layers.length} layers`);
			const video = profile.video.layers.map(
				(layer, index) => new VideoEncodingSource(randomSsrc(random), videoPayloadType, layer, profile.video, profile.maxPayloadBytes, random, now, options.clips?.[index]),
			);
			const publisher = new Publisher(options, socket, { ip: transport.ip, port: transport.port }, ourSrtp ? new SrtpSession(ourSrtp) : undefined, inbound, audio, video);
			if (audio) {
				const produced = await api.createProducer(roomId, id, transport.id, { kind: 'audio', rtpParameters: audioRtpParameters(audio.ssrc, cname), appData: { source: 'mic' } });
				publisher.audioProducerId = produced.id;
			}
			const producedVideo = await api.createProducer(roomId, id, transport.id, {
				kind: 'video',
				rtpParameters: videoRtpParameters(profile, video.map((source) => source.ssrc), cname),
				appData: { source: 'webcam' },
			});
			publisher.videoProducerId = producedVideo.id;
			return publisher;
		} catch (error) {
			socket.close();
			throw error;
		}
	}

	get id(): string {
		return this.options.id;
	}

	get producerIds(): string[] {
		return [this.audioProducerId, this.videoProducerId].filter((id): id is string => id !== undefined && id !== '');
	}

	/** Sends whatever is due by `nowMs`; called by the media clock every few milliseconds. */
	tick(nowMs: number): void {
		if (this.closed) return;
		// Audio is not paced (libwebrtc's pacer lets it through first); video leaves at the pacing rate.
		if (this.audio) for (const packet of this.audio.poll(nowMs)) this.send(packet);
		for (const source of this.video) {
			const packets = source.poll(nowMs);
			if (this.pacer) this.pacer.enqueue(packets, nowMs);
			else for (const packet of packets) this.send(packet);
		}
		if (this.pacer) for (const packet of this.pacer.drain(nowMs)) this.send(packet);
		if (nowMs - this.lastSenderReportMs >= SENDER_REPORT_INTERVAL_MS) {
			this.lastSenderReportMs = nowMs;
			for (const source of [...(this.audio ? [this.audio] : []), ...this.video]) {
				const report = senderReport({ ssrc: source.ssrc, unixMs: nowMs, rtpTimestamp: source.rtpTimestampAt(nowMs), packetCount: source.packetCount, octetCount: source.octetCount });
				this.send(report, true);
				if (source.packetCount > 0 && (!this.pacer || this.pacer.queued.packets === 0)) this.reportedLayers.add(source.ssrc);
			}
		}
		this.stats.keyFramesSent = this.video.reduce((sum, source) => sum + source.keyFramesSent, 0);
	}

	/**
	 * Resolves once every simulcast layer has reached the SFU with RTP and a
	 * sender report. mediasoup 3.12 picks a PlainTransport consumer's layer when
	 * it is created and, without bandwidth estimation, reconsiders it only on
	 * score or sender-report events: a consumer created before the top layer is
	 * known stays on a lower one. Browsers' first consumers start the same way.
	 */
	async allLayersReported(timeoutMs = 5000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!this.video.every((source) => this.reportedLayers.has(source.ssrc))) {
			if (Date.now() > deadline) throw new Error(`publisher ${this.options.id}: not every layer reported within ${timeoutMs} ms (is the media clock running?)`);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}

	private send(packet: Buffer, rtcp = false): void {
		const wire = this.outbound ? (rtcp ? this.outbound.protectRtcp(packet) : this.outbound.protectRtp(packet)) : packet;
		if (!rtcp) {
			this.stats.packetsSent++;
			this.stats.bytesSent += wire.length;
		}
		this.socket.send(wire, this.remote.port, this.remote.ip, (error) => {
			if (error) this.stats.sendErrors++;
		});
	}

	private onMessage(message: Buffer): void {
		if (isRtp(message)) return;
		this.stats.rtcpReceived++;
		let rtcp: Buffer;
		try {
			rtcp = this.inbound ? this.inbound.unprotectRtcp(message) : message;
		} catch {
			this.stats.rtcpErrors++;
			return;
		}
		const now = Date.now();
		for (const ssrc of keyFrameRequests(rtcp)) {
			const source = this.video.find((candidate) => candidate.ssrc === ssrc);
			if (!source) continue;
			this.stats.keyFrameRequests++;
			source.requestKeyFrame(now);
		}
	}

	async close(options: { deleteBroadcaster?: boolean } = {}): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.socket.close();
		if (options.deleteBroadcaster !== false) await this.options.api.deleteBroadcaster(this.options.roomId, this.options.id);
	}
}

export function bindSocket(address: string): Promise<Socket> {
	return new Promise((resolve, reject) => {
		const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
		socket.once('error', reject);
		socket.bind(0, address, () => {
			socket.off('error', reject);
			resolve(socket);
		});
	});
}

export function audioRtpParameters(ssrc: number, cname: string): ms.RtpParameters {
	return {
		codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PAYLOAD_TYPE, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
		encodings: [{ ssrc }],
		rtcp: { cname, reducedSize: true },
	};
}

export function videoRtpParameters(profile: MediaProfile, ssrcs: number[], cname: string): ms.RtpParameters {
	const rtcpFeedback: ms.RtcpFeedback[] = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];
	const codec: ms.RtpCodecParameters =
		profile.video.codec === 'VP8'
			? { mimeType: 'video/VP8', payloadType: VP8_PAYLOAD_TYPE, clockRate: 90000, rtcpFeedback }
			: {
					mimeType: 'video/H264',
					payloadType: H264_PAYLOAD_TYPE,
					clockRate: 90000,
					parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
					rtcpFeedback,
				};
	const temporalLayers = profile.video.codec === 'VP8' ? profile.video.temporalLayers : 1;
	return {
		codecs: [codec],
		encodings: ssrcs.map((ssrc, index) => ({
			ssrc,
			scalabilityMode: `L1T${temporalLayers}`,
			maxBitrate: profile.video.layers[index]!.bitrate,
		})),
		rtcp: { cname, reducedSize: true },
	};
}

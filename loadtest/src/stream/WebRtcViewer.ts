/**
 * A WebRTC audience member in the load generator: a viewer-token protoo
 * session with its own receive WebRtcTransport, completed by werift (a
 * WebRTC stack in TypeScript): real ICE (to the server's ICE-lite
 * WebRtcServer), DTLS, SRTP, and RTCP feedback (receiver reports, NACK, PLI,
 * transport-wide congestion control), so the server pays what it pays for
 * a browser. Counts every RTP packet werift hands up after SRTP.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, useFIR, useNACK, usePLI, useSdesMid, useTransportWideCC, useTWCC, useAbsSendTime } from 'werift';
import type { types as ms } from 'mediasoup';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';
import { RtpReceiveStats } from '../stats/RtpReceiveStats.js';
import { answerDtlsParameters, consumerOfferSdp } from './consumerSdp.js';
import { ViewerConnection, viewerToken, type JoinTiming } from './ViewerConnection.js';

const OPUS_PT = 100;
const VP8_PT = 101;

/** What the werift viewer announces in `join`: the codecs and extensions it is configured for below. */
export function weriftRtpCapabilities(): ms.RtpCapabilities {
	const videoFeedback: ms.RtcpFeedback[] = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'transport-cc' }];
	return {
		codecs: [
			{ kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: OPUS_PT, clockRate: 48000, channels: 2, rtcpFeedback: [{ type: 'transport-cc' }] },
			{ kind: 'video', mimeType: 'video/VP8', preferredPayloadType: VP8_PT, clockRate: 90000, rtcpFeedback: videoFeedback },
		],
		headerExtensions: [
			{ kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, direction: 'sendrecv' },
			{ kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, direction: 'sendrecv' },
			{ kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 4, direction: 'sendrecv' },
			{ kind: 'audio', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5, direction: 'sendrecv' },
			{ kind: 'video', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5, direction: 'sendrecv' },
		],
	};
}

export type WebRtcStream = { kind: 'audio' | 'video'; ssrc: number; stats: RtpReceiveStats; firstPacketAt: number | undefined };

export class WebRtcViewer {
	readonly streams = new Map<number, WebRtcStream>();
	/** performance.now() when ICE + DTLS completed. */
	connectedAt: number | undefined;

	private constructor(
		readonly connection: ViewerConnection,
		private readonly pc: RTCPeerConnection,
		readonly timing: JoinTiming,
	) {}

	/** Token → protoo connect → router capabilities → receive transport → join → offered consumers → ICE/DTLS. */
	static async join(api: HttpApiClient, wsUrl: string, roomId: string, name: string, expectedConsumers: number, timeoutMs = 15_000): Promise<WebRtcViewer> {
		const token = await viewerToken(api, roomId, name);
		const connection = await ViewerConnection.connect(wsUrl, roomId, token, timeoutMs);
		const pc = new RTCPeerConnection({
			codecs: {
				audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PT, rtcpFeedback: [useTWCC()] })],
				video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: VP8_PT, rtcpFeedback: [useNACK(), usePLI(), useFIR(), useTWCC()] })],
			},
			headerExtensions: { audio: [useSdesMid(), useTransportWideCC()], video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()] },
			// Loopback only: the server listens on 127.0.0.1, which werift leaves out of its host candidates by default.
			iceAdditionalHostAddresses: ['127.0.0.1'],
			iceUseIpv6: false,
			iceFilterCandidatePair: (pair) => pair.localCandidate.host === '127.0.0.1',
		});
		try {
			await connection.request('getRouterRtpCapabilities', {});
			const transport = await connection.request('createWebRtcTransport', { producing: false, consuming: true });
			const { timing } = await connection.join({ displayName: name, device: { name: 'loadtest-werift' }, rtpCapabilities: weriftRtpCapabilities() });
			const viewer = new WebRtcViewer(connection, pc, timing);
			pc.onTrack.subscribe((track) => {
				track.onReceiveRtp.subscribe((packet) => viewer.onRtp(track.kind === 'audio' ? 'audio' : 'video', packet.header.ssrc, packet.header.sequenceNumber, packet.header.timestamp, packet.payload.length + 12));
			});
			const consumers = await connection.waitForConsumers(expectedConsumers, timeoutMs);
			await pc.setRemoteDescription({ type: 'offer', sdp: consumerOfferSdp(transport, consumers) });
			const answer = await pc.createAnswer();
			await pc.setLocalDescription(answer);
			const dtlsParameters = answerDtlsParameters(pc.localDescription?.sdp ?? answer.sdp);
			pc.connectionStateChange.subscribe((state) => {
				if (state === 'connected') viewer.connectedAt ??= performance.now();
			});
			await connection.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters });
			return viewer;
		} catch (error) {
			connection.close();
			await pc.close().catch(() => undefined);
			throw error;
		}
	}

	private onRtp(kind: 'audio' | 'video', ssrc: number, seq: number, timestamp: number, bytes: number): void {
		let stream = this.streams.get(ssrc);
		if (!stream) {
			stream = { kind, ssrc, stats: new RtpReceiveStats(kind === 'audio' ? 48000 : 90000), firstPacketAt: undefined };
			this.streams.set(ssrc, stream);
		}
		const now = performance.now();
		stream.firstPacketAt ??= now;
		stream.stats.onPacket(seq, timestamp, now, bytes);
	}

	/** Earliest RTP packet on any stream (performance.now()), or undefined. */
	get firstPacketAt(): number | undefined {
		const times = [...this.streams.values()].map((stream) => stream.firstPacketAt).filter((time): time is number => time !== undefined);
		return times.length === 0 ? undefined : Math.min(...times);
	}

	async close(): Promise<void> {
		this.connection.close();
		await this.pc.close().catch(() => undefined);
	}
}

/**
 * What a browser does to join a room, as protoo requests: connect,
 * getRouterRtpCapabilities, join, two createWebRtcTransport, and optionally
 * produce microphone + simulcast webcam with the RTP parameters Chrome's
 * mediasoup-client sends. Times each phase into the join metrics.
 */
import type { types as ms } from 'mediasoup';
import type { PeerInfo } from '../../../server/signalling/protocol.ts';
import { ProtooPeer, metrics } from './protoo.ts';

export type JoinOptions = {
	baseUrl: string;
	roomId: string;
	peerId: string;
	displayName: string;
	produce: boolean;
	tags: Record<string, string>;
	requestTimeoutMs?: number;
};

export type JoinedSession = {
	peer: ProtooPeer;
	peersAtJoin: PeerInfo[];
	sendTransportId: string;
	recvTransportId: string;
	producerIds: string[];
};

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the join sequence; on failure closes the connection and counts a join failure, then rethrows. */
export async function joinRoom(options: JoinOptions): Promise<JoinedSession> {
	const peer = new ProtooPeer({ baseUrl: options.baseUrl, roomId: options.roomId, peerId: options.peerId, tags: options.tags, requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
	try {
		await peer.open();
		const routerRtpCapabilities = await peer.request('getRouterRtpCapabilities', {});
		const sendTransport = await peer.request('createWebRtcTransport', { producing: true, consuming: false, appData: { direction: 'producer' } });
		const recvTransport = await peer.request('createWebRtcTransport', { producing: false, consuming: true, appData: { direction: 'consumer' } });
		const joined = await peer.request('join', {
			displayName: options.displayName,
			device: { flag: 'k6', name: 'k6', version: '1.3.0' },
			rtpCapabilities: clientRtpCapabilities(routerRtpCapabilities),
		});
		metrics.joinedTime.add(Date.now() - peer.connectStartedAt, options.tags);
		const producerIds: string[] = [];
		if (options.produce) {
			const audio = await peer.request('produce', { transportId: sendTransport.id, kind: 'audio', rtpParameters: chromeAudioRtpParameters(), appData: { source: 'mic' } });
			const video = await peer.request('produce', { transportId: sendTransport.id, kind: 'video', rtpParameters: chromeSimulcastRtpParameters(), appData: { source: 'webcam' } });
			producerIds.push(audio.id, video.id);
		}
		metrics.readyTime.add(Date.now() - peer.connectStartedAt, options.tags);
		return { peer, peersAtJoin: joined.peers, sendTransportId: sendTransport.id, recvTransportId: recvTransport.id, producerIds };
	} catch (error) {
		metrics.joinFailures.add(1, options.tags);
		peer.close();
		throw error;
	}
}

/** A client announces the router's codecs and header extensions it supports; Chrome supports all of ours. */
function clientRtpCapabilities(router: ms.RtpCapabilities): ms.RtpCapabilities {
	return { codecs: router.codecs ?? [], headerExtensions: router.headerExtensions ?? [] };
}

function randomSsrc(): number {
	return Math.floor(Math.random() * 0xfffffffe) + 1;
}

const CNAME = `k6${Math.floor(Math.random() * 1e9).toString(36)}`;

/** Opus as mediasoup-client's Chrome111 handler describes it. */
export function chromeAudioRtpParameters(): ms.RtpParameters {
	return {
		mid: '0',
		codecs: [
			{
				mimeType: 'audio/opus',
				payloadType: 111,
				clockRate: 48000,
				channels: 2,
				parameters: { minptime: 10, useinbandfec: 1 },
				rtcpFeedback: [{ type: 'transport-cc' }],
			},
		],
		headerExtensions: [
			{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} },
			{ uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 2, encrypt: false, parameters: {} },
			{ uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 3, encrypt: false, parameters: {} },
			{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1, encrypt: false, parameters: {} },
		],
		encodings: [{ ssrc: randomSsrc(), dtx: false }],
		rtcp: { cname: CNAME, reducedSize: true },
	};
}

/** VP8 with RTX and three simulcast encodings (rid r0–r2, L1T3), as Chrome sends a 720p webcam. */
export function chromeSimulcastRtpParameters(): ms.RtpParameters {
	const feedback: ms.RtcpFeedback[] = [
		{ type: 'goog-remb' },
		{ type: 'transport-cc' },
		{ type: 'ccm', parameter: 'fir' },
		{ type: 'nack' },
		{ type: 'nack', parameter: 'pli' },
	];
	return {
		mid: '1',
		codecs: [
			{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: feedback },
			{ mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
		],
		headerExtensions: [
			{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} },
			{ uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 10, encrypt: false, parameters: {} },
			{ uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: 11, encrypt: false, parameters: {} },
			{ uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 2, encrypt: false, parameters: {} },
			{ uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 3, encrypt: false, parameters: {} },
			{ uri: 'urn:3gpp:video-orientation', id: 13, encrypt: false, parameters: {} },
			{ uri: 'urn:ietf:params:rtp-hdrext:toffset', id: 14, encrypt: false, parameters: {} },
		],
		encodings: [
			{ rid: 'r0', scalabilityMode: 'L1T3', maxBitrate: 150_000, scaleResolutionDownBy: 4 },
			{ rid: 'r1', scalabilityMode: 'L1T3', maxBitrate: 500_000, scaleResolutionDownBy: 2 },
			{ rid: 'r2', scalabilityMode: 'L1T3', maxBitrate: 1_200_000, scaleResolutionDownBy: 1 },
		],
		rtcp: { cname: CNAME, reducedSize: true },
	};
}

/**
 * The SDP offer a receive-only WebRTC client needs for mediasoup consumers:
 * what mediasoup-client's RemoteSdp builds in its recv handler (the server is
 * ICE-lite, offers `setup:actpass`, one BUNDLEd m-section per consumer with
 * its mid, codecs, RTCP feedback, header extensions and SSRCs), written out
 * for a non-browser peer connection (werift). Pure: unit-tested.
 */
import type { CreateWebRtcTransportResponse, NewConsumerData } from '../../../server/signalling/protocol.js';

function fmtp(parameters: Record<string, unknown> | undefined): string | undefined {
	const entries = Object.entries(parameters ?? {});
	return entries.length === 0 ? undefined : entries.map(([key, value]) => `${key}=${String(value)}`).join(';');
}

function mediaSection(transport: CreateWebRtcTransportResponse, consumer: NewConsumerData, fingerprint: { algorithm: string; value: string }): string[] {
	const { rtpParameters } = consumer;
	const mid = rtpParameters.mid;
	if (mid === undefined) throw new Error(`consumer ${consumer.id} has no mid: it must be on a WebRtcTransport`);
	const payloadTypes = rtpParameters.codecs.map((codec) => codec.payloadType);
	const lines = [
		`m=${consumer.kind} 7 UDP/TLS/RTP/SAVPF ${payloadTypes.join(' ')}`,
		'c=IN IP4 127.0.0.1',
		`a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
		`a=ice-pwd:${transport.iceParameters.password}`,
		`a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
		'a=setup:actpass',
		`a=mid:${mid}`,
		'a=sendonly',
		'a=rtcp-mux',
		'a=rtcp-rsize',
	];
	for (const codec of rtpParameters.codecs) {
		const [, name] = codec.mimeType.split('/');
		lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels && codec.channels > 1 ? `/${codec.channels}` : ''}`);
		const parameters = fmtp(codec.parameters as Record<string, unknown> | undefined);
		if (parameters) lines.push(`a=fmtp:${codec.payloadType} ${parameters}`);
		for (const feedback of codec.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${codec.payloadType} ${feedback.type}${feedback.parameter ? ` ${feedback.parameter}` : ''}`);
	}
	for (const extension of rtpParameters.headerExtensions ?? []) lines.push(`a=extmap:${extension.id} ${extension.uri}`);
	const cname = rtpParameters.rtcp?.cname ?? consumer.peerId;
	const msid = `${consumer.peerId} ${consumer.id}`;
	lines.push(`a=msid:${msid}`);
	for (const encoding of rtpParameters.encodings ?? []) {
		if (encoding.ssrc === undefined) continue;
		lines.push(`a=ssrc:${encoding.ssrc} cname:${cname}`, `a=ssrc:${encoding.ssrc} msid:${msid}`);
		if (encoding.rtx?.ssrc !== undefined) {
			lines.push(`a=ssrc-group:FID ${encoding.ssrc} ${encoding.rtx.ssrc}`, `a=ssrc:${encoding.rtx.ssrc} cname:${cname}`, `a=ssrc:${encoding.rtx.ssrc} msid:${msid}`);
		}
	}
	for (const candidate of transport.iceCandidates) {
		if (candidate.protocol !== 'udp') continue;
		const address = (candidate as { address?: string }).address ?? candidate.ip;
		lines.push(`a=candidate:${candidate.foundation} 1 udp ${candidate.priority} ${address} ${candidate.port} typ host`);
	}
	lines.push('a=end-of-candidates');
	return lines;
}

/** An SDP offer for `consumers` (all on `transport`), sha-256 fingerprint of the server's DTLS certificate. */
export function consumerOfferSdp(transport: CreateWebRtcTransportResponse, consumers: readonly NewConsumerData[]): string {
	const fingerprint = transport.dtlsParameters.fingerprints.find((candidate) => candidate.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
	if (!fingerprint) throw new Error('the transport has no DTLS fingerprint');
	const mids = consumers.map((consumer) => consumer.rtpParameters.mid ?? '');
	const lines = ['v=0', `o=mediasoup ${Date.now()} 1 IN IP4 0.0.0.0`, 's=-', 't=0 0', 'a=ice-lite', `a=group:BUNDLE ${mids.join(' ')}`, 'a=msid-semantic: WMS *'];
	for (const consumer of consumers) lines.push(...mediaSection(transport, consumer, fingerprint));
	return `${lines.join('\r\n')}\r\n`;
}

/** The DTLS parameters of a local answer: its fingerprint and, from `a=setup`, the role it takes. */
export function answerDtlsParameters(sdp: string): { role: 'client' | 'server'; fingerprints: { algorithm: 'sha-256' | 'sha-1' | 'sha-224' | 'sha-384' | 'sha-512'; value: string }[] } {
	const fingerprint = /^a=fingerprint:(\S+) (\S+)/m.exec(sdp);
	const setup = /^a=setup:(\S+)/m.exec(sdp);
	if (!fingerprint) throw new Error('the answer has no a=fingerprint');
	const algorithm = fingerprint[1]!.toLowerCase() as 'sha-256';
	// Answering an actpass offer, "active" makes the client the DTLS client; "passive" the server.
	return { role: setup?.[1] === 'passive' ? 'server' : 'client', fingerprints: [{ algorithm, value: fingerprint[2]! }] };
}

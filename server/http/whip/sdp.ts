/**
 * SDP for WHIP and WHEP: reading a client's offer into mediasoup's RTP
 * structures, and writing the server's answer. The server is ICE-lite with
 * every candidate in the answer, and answers DTLS as the passive side.
 *
 * Pure functions over sdp-transform's parsed form, so they are unit-tested
 * without a browser; the e2e tests run them against Chromium's offers.
 */
import type { types as ms } from 'mediasoup';
import sdpTransform, { type MediaAttributes, type SessionDescription } from 'sdp-transform';

export class SdpError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SdpError';
	}
}

type OfferMedia = SessionDescription['media'][number];

export type OfferSection = {
	mid: string;
	kind: ms.MediaKind | 'other';
	direction: 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';
	media: OfferMedia;
};

export type Offer = {
	iceUfrag: string;
	icePwd: string;
	dtls: ms.DtlsParameters;
	sections: OfferSection[];
};

const MAX_SDP_BYTES = 64 * 1024;

/** Parses and checks a WHIP/WHEP offer: BUNDLE-able, ICE credentials and a DTLS fingerprint present. */
export function parseOffer(text: string): Offer {
	if (text.length > MAX_SDP_BYTES) throw new SdpError(`the offer is larger than ${MAX_SDP_BYTES} bytes`);
	if (!/^v=0\r?\n/.test(text)) throw new SdpError('the body is not an SDP offer (it must start with "v=0")');
	const sdp = sdpTransform.parse(text);
	if (!sdp.media || sdp.media.length === 0) throw new SdpError('the offer has no media sections');
	if (sdp.media.length > 16) throw new SdpError('the offer has more than 16 media sections');
	const first = sdp.media[0]!;
	const iceUfrag = String(first.iceUfrag ?? sdp.iceUfrag ?? '');
	const icePwd = String(first.icePwd ?? sdp.icePwd ?? '');
	if (!iceUfrag || !icePwd) throw new SdpError('the offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)');
	const fingerprint = first.fingerprint ?? sdp.fingerprint;
	if (!fingerprint) throw new SdpError('the offer has no DTLS fingerprint (a=fingerprint)');
	const setup = first.setup ?? sdp.setup ?? 'actpass';
	// We answer passive (DTLS server) to actpass/active; an offer that insists on passive makes us the client.
	const role: ms.DtlsRole = setup === 'passive' ? 'server' : 'client';
	const sections = sdp.media.map((media, index): OfferSection => {
		const kind = media.type === 'audio' || media.type === 'video' ? media.type : 'other';
		const direction = (media.direction ?? 'sendrecv') as OfferSection['direction'];
		return { mid: String(media.mid ?? index), kind, direction, media };
	});
	return { iceUfrag, icePwd, dtls: { role, fingerprints: [{ algorithm: fingerprint.type, value: fingerprint.hash }] as ms.DtlsFingerprint[] }, sections };
}

function parameters(media: OfferMedia, payloadType: number): Record<string, string | number> {
	const config = media.fmtp?.find((fmtp) => fmtp.payload === payloadType)?.config;
	if (!config) return {};
	const result: Record<string, string | number> = {};
	for (const [key, value] of Object.entries(sdpTransform.parseParams(config))) result[key] = value as string | number;
	return result;
}

function feedback(media: OfferMedia, payloadType: number): ms.RtcpFeedback[] {
	return (media.rtcpFb ?? [])
		.filter((fb) => fb.payload === '*' || Number(fb.payload) === payloadType)
		.map((fb) => (fb.subtype ? { type: fb.type, parameter: fb.subtype } : { type: fb.type }));
}

function mimeType(kind: ms.MediaKind, codec: string): string {
	return `${kind}/${codec}`;
}

/** The codecs of a section as mediasoup RTP codec parameters, in the offer's order, RTX codecs last. */
function codecsOf(section: OfferSection): ms.RtpCodecParameters[] {
	const kind = section.kind as ms.MediaKind;
	return section.media.rtp.map((rtp) => ({
		mimeType: mimeType(kind, rtp.codec),
		payloadType: rtp.payload,
		clockRate: rtp.rate ?? 90000,
		...(kind === 'audio' ? { channels: Number(rtp.encoding ?? 1) } : {}),
		parameters: parameters(section.media, rtp.payload),
		rtcpFeedback: feedback(section.media, rtp.payload),
	}));
}

function extensionsOf(section: OfferSection): ms.RtpHeaderExtensionParameters[] {
	return (section.media.ext ?? []).map((ext) => ({ uri: ext.uri, id: ext.value }));
}

/**
 * The RTP parameters a sendonly section could be produced with, one per
 * media codec the offer lists (in its order, each with its RTX), for the
 * caller to try until mediasoup accepts one.
 */
export function producerCandidates(section: OfferSection): ms.RtpParameters[] {
	if (section.kind === 'other') return [];
	const codecs = codecsOf(section);
	const media = codecs.filter((codec) => !/\/(rtx|red|ulpfec|flexfec-03|CN|telephone-event)$/i.test(codec.mimeType));
	const encodings = encodingsOf(section);
	const cname = section.media.ssrcs?.find((line) => line.attribute === 'cname')?.value;
	return media.map((codec) => {
		const rtx = codecs.find((other) => /\/rtx$/i.test(other.mimeType) && Number(other.parameters?.apt) === codec.payloadType);
		return {
			mid: section.mid,
			codecs: rtx ? [codec, rtx] : [codec],
			headerExtensions: extensionsOf(section),
			encodings: encodings.map((encoding) => (rtx || !encoding.rtx ? encoding : { ...encoding, rtx: undefined })),
			rtcp: { cname, reducedSize: section.media.rtcpRsize === 'rtcp-rsize', mux: true },
		};
	});
}

/** Simulcast by RID (a=rid / a=simulcast), else the SSRC with its RTX (a=ssrc-group:FID). */
function encodingsOf(section: OfferSection): ms.RtpEncodingParameters[] {
	const rids = (section.media.rids ?? []).filter((rid) => rid.direction === 'send').map((rid) => String(rid.id));
	if (rids.length > 0) {
		// The simulcast line lists the layers low to high in Chromium; mediasoup wants them in that order too.
		const order = section.media.simulcast?.list1?.split(';').map((alternative) => alternative.split(',')[0]!.replace(/^~/, ''));
		const ordered = order && order.length === rids.length ? order : rids;
		return ordered.map((rid) => ({ rid }));
	}
	const fid = section.media.ssrcGroups?.find((group) => group.semantics === 'FID');
	if (fid) {
		const [ssrc, rtx] = fid.ssrcs.split(' ').map(Number);
		return [{ ssrc, rtx: rtx ? { ssrc: rtx } : undefined }];
	}
	const ssrc = section.media.ssrcs?.[0]?.id;
	if (ssrc !== undefined) return [{ ssrc: Number(ssrc) }];
	throw new SdpError(`media section ${section.mid} has neither a=rid nor a=ssrc lines`);
}

/** What a recvonly section can receive, as RTP capabilities with the offer's payload types and extension ids. */
export function capabilitiesOf(section: OfferSection): ms.RtpCapabilities {
	if (section.kind === 'other') return { codecs: [], headerExtensions: [] };
	const kind = section.kind;
	return {
		codecs: codecsOf(section).map((codec) => ({
			kind,
			mimeType: codec.mimeType,
			preferredPayloadType: codec.payloadType,
			clockRate: codec.clockRate,
			channels: codec.channels,
			parameters: codec.parameters,
			rtcpFeedback: codec.rtcpFeedback,
		})),
		headerExtensions: extensionsOf(section).map((ext) => ({ kind, uri: ext.uri, preferredId: ext.id, direction: 'sendrecv' as const })),
	};
}

export type AnswerSection =
	| { mid: string; kind: ms.MediaKind; direction: 'recvonly'; rtpParameters: ms.RtpParameters; simulcastRids?: string[] }
	| { mid: string; kind: ms.MediaKind; direction: 'sendonly'; rtpParameters: ms.RtpParameters; streamId: string; trackId: string }
	| { mid: string; kind: ms.MediaKind | 'other'; direction: 'inactive'; protocol: string; formats: string };

export type AnswerTransport = {
	iceParameters: ms.IceParameters;
	iceCandidates: ms.IceCandidate[];
	dtlsParameters: ms.DtlsParameters;
	/** Our DTLS side: passive (server) unless the offer insisted on passive itself. */
	dtlsRole: 'server' | 'client';
};

function rtpLines(rtpParameters: ms.RtpParameters): Pick<MediaAttributes, 'rtp' | 'fmtp' | 'rtcpFb' | 'ext'> {
	const rtp: MediaAttributes['rtp'] = [];
	const fmtp: MediaAttributes['fmtp'] = [];
	const rtcpFb: NonNullable<MediaAttributes['rtcpFb']> = [];
	for (const codec of rtpParameters.codecs) {
		const [, name] = codec.mimeType.split('/') as [string, string];
		rtp.push({ payload: codec.payloadType, codec: name, rate: codec.clockRate, ...(codec.channels && codec.channels > 1 ? { encoding: codec.channels } : {}) });
		const params = Object.entries(codec.parameters ?? {});
		if (params.length > 0) fmtp.push({ payload: codec.payloadType, config: params.map(([key, value]) => `${key}=${value}`).join(';') });
		for (const fb of codec.rtcpFeedback ?? []) rtcpFb.push({ payload: String(codec.payloadType), type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) });
	}
	const ext = (rtpParameters.headerExtensions ?? []).map((extension) => ({ value: extension.id, uri: extension.uri }));
	return { rtp, fmtp, rtcpFb, ext };
}

/** The answer: ICE-lite, bundled, with every candidate of the transport in each section. */
export function buildAnswer(transport: AnswerTransport, sections: AnswerSection[]): string {
	const fingerprint = transport.dtlsParameters.fingerprints.find((fp) => fp.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0]!;
	const bundled = sections.filter((section) => section.direction !== 'inactive').map((section) => section.mid);
	const candidates = transport.iceCandidates.map((candidate, index) => ({
		foundation: candidate.foundation,
		component: 1,
		transport: candidate.protocol,
		priority: candidate.priority,
		ip: candidate.ip,
		port: candidate.port,
		type: candidate.type,
		...(candidate.tcpType ? { tcptype: candidate.tcpType } : {}),
		generation: 0,
		'network-id': index + 1,
	}));
	const description: SessionDescription = {
		version: 0,
		origin: { username: '-', sessionId: String(Date.now()), sessionVersion: 1, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
		name: '-',
		timing: { start: 0, stop: 0 },
		icelite: 'ice-lite',
		groups: bundled.length > 0 ? [{ type: 'BUNDLE', mids: bundled.join(' ') }] : undefined,
		msidSemantic: { semantic: 'WMS', token: '*' },
		fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
		media: sections.map((section) => {
			if (section.direction === 'inactive') {
				return { type: section.kind === 'other' ? 'application' : section.kind, port: 0, protocol: section.protocol, payloads: section.formats, mid: section.mid, direction: 'inactive', rtp: [], fmtp: [] };
			}
			const lines = rtpLines(section.rtpParameters);
			const media: SessionDescription['media'][number] = {
				type: section.kind,
				port: 9,
				protocol: 'UDP/TLS/RTP/SAVPF',
				payloads: section.rtpParameters.codecs.map((codec) => codec.payloadType).join(' '),
				connection: { version: 4, ip: '0.0.0.0' },
				mid: section.mid,
				direction: section.direction,
				iceUfrag: transport.iceParameters.usernameFragment,
				icePwd: transport.iceParameters.password,
				setup: transport.dtlsRole === 'server' ? 'passive' : 'active',
				rtcpMux: 'rtcp-mux',
				rtcpRsize: 'rtcp-rsize',
				candidates,
				endOfCandidates: 'end-of-candidates',
				...lines,
			};
			if (section.direction === 'recvonly' && section.simulcastRids && section.simulcastRids.length > 0) {
				media.rids = section.simulcastRids.map((id) => ({ id, direction: 'recv' }));
				media.simulcast = { dir1: 'recv', list1: section.simulcastRids.join(';') };
			}
			if (section.direction === 'sendonly') {
				const encoding = section.rtpParameters.encodings?.[0];
				const cname = section.rtpParameters.rtcp?.cname ?? 'sfu';
				media.msid = [{ id: section.streamId, appdata: section.trackId }];
				if (encoding?.ssrc !== undefined) {
					media.ssrcs = [
						{ id: encoding.ssrc, attribute: 'cname', value: cname },
						{ id: encoding.ssrc, attribute: 'msid', value: `${section.streamId} ${section.trackId}` },
					];
					if (encoding.rtx?.ssrc !== undefined) {
						media.ssrcs.push({ id: encoding.rtx.ssrc, attribute: 'cname', value: cname });
						media.ssrcGroups = [{ semantics: 'FID', ssrcs: `${encoding.ssrc} ${encoding.rtx.ssrc}` }];
					}
				}
			}
			return media;
		}),
	};
	return sdpTransform.write(description);
}

/** An unusable section is answered with port 0, keeping its mid and formats. */
export function rejected(section: OfferSection): AnswerSection {
	return { mid: section.mid, kind: section.kind, direction: 'inactive', protocol: section.media.protocol, formats: String(section.media.payloads ?? '') };
}

/** ICE credentials in a trickle-ice-sdpfrag PATCH body (RFC 8840), if it carries new ones. */
export function fragmentCredentials(fragment: string): { ufrag: string; pwd: string } | undefined {
	const ufrag = /^a=ice-ufrag:(\S+)/m.exec(fragment)?.[1];
	const pwd = /^a=ice-pwd:(\S+)/m.exec(fragment)?.[1];
	return ufrag && pwd ? { ufrag, pwd } : undefined;
}

/** The sdpfrag a PATCH answer carries after an ICE restart. */
export function iceFragment(iceParameters: ms.IceParameters): string {
	return `a=ice-lite\r\na=ice-ufrag:${iceParameters.usernameFragment}\r\na=ice-pwd:${iceParameters.password}\r\n`;
}

/**
 * Runtime schemas for every request a peer or an HTTP client can send. Each
 * is typed against protocol.ts (`z.ZodType<RequestData<M>>`), so the schema
 * and the documented type cannot drift apart silently.
 *
 * mediasoup's own structures (RTP parameters, DTLS parameters…) are checked
 * for shape and bounds here and fully by mediasoup afterwards; unknown
 * fields inside them are kept, since newer clients add fields mediasoup
 * ignores. Our own request objects drop unknown fields.
 */
import type { types as ms } from 'mediasoup';
import { z } from 'zod';
import { assignableRoles } from '../auth/roles.js';
import { BROADCASTER_ROLES, type ClientAppData, type HttpApi, type NotificationsFromPeer, type PeerDevice, type RequestData, type RequestMethod } from './protocol.js';

const id = z.string().min(1).max(128);
const uint8 = z.number().int().min(0).max(255);
const payloadType = z.number().int().min(0).max(127);
const ssrc = z.number().int().min(0).max(0xffffffff);
const mediaKind = z.enum(['audio', 'video']);
const shortText = z.string().max(256);

/** Small JSON object of the client's own (bounded: it is relayed to other peers). */
export const appDataSchema: z.ZodType<ClientAppData> = z
	.record(z.string().max(64), z.unknown())
	.refine((value) => Object.keys(value).length <= 32 && JSON.stringify(value).length <= 4096, {
		message: 'appData must have at most 32 keys and 4 KiB of JSON',
	});

const deviceSchema: z.ZodType<PeerDevice> = z.object({
	flag: shortText.optional(),
	name: shortText.optional(),
	version: shortText.optional(),
});

const codecParameters = z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()])).optional();
const rtcpFeedback = z.looseObject({ type: z.string().min(1).max(32), parameter: z.string().max(32).optional() });

const rtpCodecCapability: z.ZodType<ms.RtpCodecCapability> = z.looseObject({
	kind: mediaKind,
	mimeType: z.string().regex(/^(audio|video)\/[\w.+-]+$/i, 'mimeType must look like "video/VP8"'),
	preferredPayloadType: payloadType.optional(),
	clockRate: z.number().int().positive(),
	channels: uint8.optional(),
	parameters: codecParameters,
	rtcpFeedback: z.array(rtcpFeedback).max(32).optional(),
});

const rtpHeaderExtension: z.ZodType<ms.RtpHeaderExtension> = z.looseObject({
	kind: mediaKind,
	uri: z.string().min(1).max(256),
	preferredId: z.number().int().min(1).max(255),
	preferredEncrypt: z.boolean().optional(),
	direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
});

export const rtpCapabilitiesSchema: z.ZodType<ms.RtpCapabilities> = z.looseObject({
	codecs: z.array(rtpCodecCapability).max(64).optional(),
	headerExtensions: z.array(rtpHeaderExtension).max(64).optional(),
});

const rtpEncoding: z.ZodType<ms.RtpEncodingParameters> = z.looseObject({
	ssrc: ssrc.optional(),
	rid: z.string().min(1).max(32).optional(),
	codecPayloadType: payloadType.optional(),
	rtx: z.object({ ssrc }).optional(),
	dtx: z.boolean().optional(),
	scalabilityMode: z.string().max(16).optional(),
	scaleResolutionDownBy: z.number().min(1).max(64).optional(),
	maxBitrate: z.number().positive().optional(),
});

export const rtpParametersSchema: z.ZodType<ms.RtpParameters> = z.looseObject({
	mid: z.string().max(32).optional(),
	codecs: z
		.array(
			z.looseObject({
				mimeType: z.string().regex(/^(audio|video)\/[\w.+-]+$/i, 'mimeType must look like "video/VP8"'),
				payloadType,
				clockRate: z.number().int().positive(),
				channels: uint8.optional(),
				parameters: codecParameters,
				rtcpFeedback: z.array(rtcpFeedback).max(32).optional(),
			}),
		)
		.min(1)
		.max(16),
	headerExtensions: z
		.array(z.looseObject({ uri: z.string().min(1).max(256), id: z.number().int().min(1).max(255), encrypt: z.boolean().optional(), parameters: z.unknown().optional() }))
		.max(32)
		.optional(),
	encodings: z.array(rtpEncoding).min(1).max(8).optional(),
	rtcp: z.looseObject({ cname: z.string().max(256).optional(), reducedSize: z.boolean().optional(), mux: z.boolean().optional() }).optional(),
});

const numSctpStreams: z.ZodType<ms.NumSctpStreams> = z.looseObject({ OS: z.number().int().min(1).max(65535), MIS: z.number().int().min(1).max(65535) });
const sctpCapabilities: z.ZodType<ms.SctpCapabilities> = z.looseObject({ numStreams: numSctpStreams });

const dtlsParameters: z.ZodType<ms.DtlsParameters> = z.looseObject({
	role: z.enum(['auto', 'client', 'server']).optional(),
	fingerprints: z
		.array(z.looseObject({ algorithm: z.string().min(1).max(32), value: z.string().min(1).max(256) }))
		.min(1)
		.max(8),
});

const sctpStreamParameters: z.ZodType<ms.SctpStreamParameters> = z.looseObject({
	streamId: z.number().int().min(0).max(65534),
	ordered: z.boolean().optional(),
	maxPacketLifeTime: z.number().int().min(0).optional(),
	maxRetransmits: z.number().int().min(0).optional(),
});

export const srtpCryptoSuiteSchema: z.ZodType<ms.SrtpCryptoSuite> = z.enum([
	'AEAD_AES_256_GCM',
	'AEAD_AES_128_GCM',
	'AES_CM_128_HMAC_SHA1_80',
	'AES_CM_128_HMAC_SHA1_32',
]);

const srtpParameters: z.ZodType<ms.SrtpParameters> = z.object({
	cryptoSuite: srtpCryptoSuiteSchema,
	keyBase64: z.string().min(1).max(256).regex(/^[A-Za-z0-9+/=]+$/, 'keyBase64 must be Base64'),
});

const producerId = z.object({ producerId: id });
const consumerId = z.object({ consumerId: id });
const transportId = z.object({ transportId: id });

export function displayNameSchema(maxLength: number) {
	return z.string().trim().min(1, 'displayName must not be empty').max(maxLength, `displayName must be at most ${maxLength} characters`);
}

const notificationSchemas: { [M in keyof NotificationsFromPeer]: z.ZodType<NotificationsFromPeer[M]> } = {
	closeProducer: producerId,
	pauseProducer: producerId,
	resumeProducer: producerId,
	pauseConsumer: consumerId,
	resumeConsumer: consumerId,
	setConsumerPreferredLayers: z.object({
		consumerId: id,
		spatialLayer: z.number().int().min(0).max(15),
		temporalLayer: z.number().int().min(0).max(15).optional(),
	}),
	setConsumerPriority: z.object({ consumerId: id, priority: z.number().int().min(1).max(255) }),
	requestConsumerKeyFrame: consumerId,
	// The length limit comes from configuration: see requestSchemas().
	changeDisplayName: z.object({ displayName: z.string() }),
	leave: z.union([z.object({}), z.undefined()]).transform(() => ({}) as Record<string, never>),
	closeTransport: transportId,
};

export type RequestSchemas = { [M in RequestMethod]: z.ZodType<RequestData<M>> };

/** No data, or an empty object. */
const emptyData = z.union([z.object({}).transform(() => ({}) as Record<string, never>), z.undefined()]);

/** Schemas of all requests; a few bounds come from the configuration. */
export function requestSchemas({ maxDisplayNameLength }: { maxDisplayNameLength: number }): RequestSchemas {
	const displayName = displayNameSchema(maxDisplayNameLength);
	return {
		...notificationSchemas,
		changeDisplayName: z.object({ displayName }),
		getRouterRtpCapabilities: emptyData,
		join: z.object({
			displayName,
			device: deviceSchema.optional(),
			rtpCapabilities: rtpCapabilitiesSchema.optional(),
			sctpCapabilities: sctpCapabilities.optional(),
		}),
		createWebRtcTransport: z.object({
			forceTcp: z.boolean().optional(),
			producing: z.boolean().optional(),
			consuming: z.boolean().optional(),
			sctpCapabilities: sctpCapabilities.optional(),
			appData: z.looseObject({ direction: z.enum(['producer', 'consumer']).optional() }).optional(),
		}),
		connectWebRtcTransport: z.object({ transportId: id, dtlsParameters }),
		restartIce: transportId,
		produce: z.object({
			transportId: id,
			kind: mediaKind,
			rtpParameters: rtpParametersSchema,
			appData: appDataSchema.optional(),
			paused: z.boolean().optional(),
		}),
		produceData: z.object({
			transportId: id,
			sctpStreamParameters,
			label: z.string().max(128).optional(),
			protocol: z.string().max(128).optional(),
			appData: appDataSchema.optional(),
		}),
		getTransportStats: transportId,
		getProducerStats: producerId,
		getConsumerStats: consumerId,
		getDataProducerStats: z.object({ dataProducerId: id }),
		getDataConsumerStats: z.object({ dataConsumerId: id }),
		mutePeer: peerIdData,
		allowUnmute: peerIdData,
		stopPeerMedia: z.object({ peerId: idSchema, source: z.enum(['mic', 'webcam', 'screen']) }),
		removePeer: peerIdData,
		lockRoom: z.object({ locked: z.boolean() }),
		admitPeer: z.object({ peerId: idSchema, role: z.enum(assignableRoles).optional() }),
		denyPeer: peerIdData,
		setPeerRole: z.object({ peerId: idSchema, role: z.enum(assignableRoles) }),
		endMeeting: emptyData,
		getLobby: emptyData,
		getAudience: emptyData,
		raiseHand: z.object({ raised: z.boolean() }),
		ping: emptyData,
		resume: emptyData,
	};
}

export const notificationMethods = Object.keys(notificationSchemas) as (keyof NotificationsFromPeer)[];

// ---------------------------------------------------------------------------
// HTTP API bodies
// ---------------------------------------------------------------------------

export const idSchema = z.string().regex(/^[A-Za-z0-9_.~-]{1,64}$/, 'must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -');
const peerIdData = z.object({ peerId: idSchema });

export function httpSchemas({ maxDisplayNameLength }: { maxDisplayNameLength: number }) {
	type Bodies = 'openModeToken' | 'createBroadcaster' | 'createPlainTransport' | 'connectPlainTransport' | 'createProducer' | 'createConsumer' | 'createDataProducer' | 'createDataConsumer' | 'setPreferredLayers';
	const schemas: { [K in Bodies]: z.ZodType<HttpApi[K]['body']> } = {
		createBroadcaster: z.object({
			id: idSchema,
			displayName: displayNameSchema(maxDisplayNameLength),
			device: deviceSchema.optional(),
			rtpCapabilities: rtpCapabilitiesSchema.optional(),
			role: z.enum(BROADCASTER_ROLES).optional(),
		}),
		createPlainTransport: z.object({
			type: z.literal('plain').optional(),
			comedia: z.boolean().optional(),
			rtcpMux: z.boolean().optional(),
			enableSrtp: z.boolean().optional(),
			srtpCryptoSuite: srtpCryptoSuiteSchema.optional(),
			enableSctp: z.boolean().optional(),
			numSctpStreams: numSctpStreams.optional(),
		}),
		connectPlainTransport: z.object({
			ip: z.union([z.ipv4(), z.ipv6()], { error: 'ip must be an IPv4 or IPv6 address' }).optional(),
			port: z.number().int().min(1).max(65535).optional(),
			rtcpPort: z.number().int().min(1).max(65535).optional(),
			srtpParameters: srtpParameters.optional(),
		}),
		createProducer: z.object({
			kind: mediaKind,
			rtpParameters: rtpParametersSchema,
			paused: z.boolean().optional(),
			appData: appDataSchema.optional(),
		}),
		createConsumer: z.object({ producerId: id.optional(), paused: z.boolean().optional() }),
		openModeToken: z.object({
			roomId: idSchema,
			role: z.enum(['participant', 'viewer']).optional(),
			displayName: displayNameSchema(maxDisplayNameLength).optional(),
		}),
		createDataProducer: z.object({
			sctpStreamParameters,
			label: z.string().max(128).optional(),
			protocol: z.string().max(128).optional(),
			appData: appDataSchema.optional(),
		}),
		createDataConsumer: z.object({ dataProducerId: id }),
		setPreferredLayers: z.object({ spatialLayer: z.number().int().min(0).max(15), temporalLayer: z.number().int().min(0).max(15).optional() }),
	};
	return schemas;
}

/** One line naming each problem's field, for error responses. */
export function describeIssues(error: z.ZodError): string {
	return error.issues
		.slice(0, 5)
		.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'data'}: ${issue.message}`)
		.join('; ');
}

/**
 * Malformed request data, generated from one table of every protocol
 * method: whole data of the wrong type, each required field missing, each
 * field of the wrong type (400, naming it); data over
 * signalling.maxMessageBytes (413); and names the server does not know:
 * methods (405) and enum values (400).
 *
 * protoo-server turns falsy request data (null, 0, false, "") into `{}`, so
 * "null data" is only a case for methods with a required field; for the
 * others it is a valid empty request.
 */
import type { RequestData, RequestMethod } from '../../../server/signalling/protocol.js';
import { chromium, withMid } from '../../helpers/fixtures.js';
import type { CorpusSettings } from '../settings.js';
import type { ActorName, HostileCase, Targets } from '../types.js';

type MethodShape<M extends RequestMethod> = { sample: NonNullable<RequestData<M>>; required: (keyof NonNullable<RequestData<M>> & string)[] };

const sctp = { numStreams: { OS: 1024, MIS: 1024 } };
const id = 'a7f3c9e2-0000-4000-8000-000000000000';

/** A well-formed request of every method; typed by the protocol, so a new method must be added here. */
export const methodShapes: { [M in RequestMethod]: MethodShape<M> } = {
	getRouterRtpCapabilities: { sample: {}, required: [] },
	join: { sample: { displayName: 'Mallory', device: { name: 'x' }, rtpCapabilities: chromium.rtpCapabilities, sctpCapabilities: sctp }, required: ['displayName'] },
	createWebRtcTransport: { sample: { forceTcp: false, producing: true, consuming: false, sctpCapabilities: sctp, appData: { direction: 'producer' } }, required: [] },
	connectWebRtcTransport: { sample: { transportId: id, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] } }, required: ['transportId', 'dtlsParameters'] },
	restartIce: { sample: { transportId: id }, required: ['transportId'] },
	produce: { sample: { transportId: id, kind: 'audio', rtpParameters: withMid(chromium.opus, 30), appData: { source: 'mic' }, paused: false }, required: ['transportId', 'kind', 'rtpParameters'] },
	produceData: { sample: { transportId: id, sctpStreamParameters: { streamId: 1 }, label: 'chat', protocol: 'json', appData: {} }, required: ['transportId', 'sctpStreamParameters'] },
	getTransportStats: { sample: { transportId: id }, required: ['transportId'] },
	getProducerStats: { sample: { producerId: id }, required: ['producerId'] },
	getConsumerStats: { sample: { consumerId: id }, required: ['consumerId'] },
	getDataProducerStats: { sample: { dataProducerId: id }, required: ['dataProducerId'] },
	getDataConsumerStats: { sample: { dataConsumerId: id }, required: ['dataConsumerId'] },
	mutePeer: { sample: { peerId: 'host' }, required: ['peerId'] },
	allowUnmute: { sample: { peerId: 'host' }, required: ['peerId'] },
	stopPeerMedia: { sample: { peerId: 'host', source: 'mic' }, required: ['peerId', 'source'] },
	removePeer: { sample: { peerId: 'host' }, required: ['peerId'] },
	lockRoom: { sample: { locked: true }, required: ['locked'] },
	admitPeer: { sample: { peerId: 'guest', role: 'viewer' }, required: ['peerId'] },
	denyPeer: { sample: { peerId: 'guest' }, required: ['peerId'] },
	setPeerRole: { sample: { peerId: 'host', role: 'viewer' }, required: ['peerId', 'role'] },
	endMeeting: { sample: {}, required: [] },
	getLobby: { sample: {}, required: [] },
	getAudience: { sample: {}, required: [] },
	raiseHand: { sample: { raised: true }, required: ['raised'] },
	closeProducer: { sample: { producerId: id }, required: ['producerId'] },
	pauseProducer: { sample: { producerId: id }, required: ['producerId'] },
	resumeProducer: { sample: { producerId: id }, required: ['producerId'] },
	pauseConsumer: { sample: { consumerId: id }, required: ['consumerId'] },
	resumeConsumer: { sample: { consumerId: id }, required: ['consumerId'] },
	setConsumerPreferredLayers: { sample: { consumerId: id, spatialLayer: 1, temporalLayer: 1 }, required: ['consumerId', 'spatialLayer'] },
	setConsumerPriority: { sample: { consumerId: id, priority: 10 }, required: ['consumerId', 'priority'] },
	requestConsumerKeyFrame: { sample: { consumerId: id }, required: ['consumerId'] },
	changeDisplayName: { sample: { displayName: 'Mallory' }, required: ['displayName'] },
	leave: { sample: {}, required: [] },
	closeTransport: { sample: { transportId: id }, required: ['transportId'] },
	ping: { sample: {}, required: [] },
	resume: { sample: {}, required: [] },
};

export const allMethods = Object.keys(methodShapes) as RequestMethod[];

/** Values of the wrong type for a field whose valid value is `value`: two for each JSON type. */
function wrongTypesFor(value: unknown): [label: string, wrong: unknown][] {
	if (typeof value === 'string') return [['a number', 12345], ['an array', ['x']]];
	if (typeof value === 'number') return [['a string', '7'], ['a boolean', true]];
	if (typeof value === 'boolean') return [['a string', 'yes'], ['a number', 1]];
	return [['a string', 'not-an-object'], ['a number', 42]];
}

/** Whole-data values that are not an object (and that protoo-server does not replace with `{}`). */
const notObjects: [label: string, value: unknown][] = [
	['a number', 42],
	['a string', 'text'],
	['true', true],
	['an empty array', []],
	['an array of objects', [{}]],
];

/** The typists take turns, so no one connection's rate limit is what answers. */
const typists: ActorName[] = ['typist1', 'typist2', 'typist3'];

export function wrongTypeCases(): HostileCase[] {
	const cases: HostileCase[] = [];
	const add = (method: RequestMethod, description: string, data: unknown, field: string) =>
		cases.push({
			category: 'wrong-types',
			description: `${method}: ${description}`,
			send: { via: 'request', actor: typists[cases.length % typists.length]!, method, data },
			expect: { code: 400, reason: `invalid ${method} request: ${field}` },
		});
	for (const method of allMethods) {
		const { sample, required } = methodShapes[method] as MethodShape<RequestMethod>;
		const fields = sample as Record<string, unknown>;
		for (const [label, value] of notObjects) add(method, `data is ${label}`, value, 'data');
		if (required.length > 0) add(method, 'data is null', null, required[0]!);
		for (const field of required) {
			const { [field]: _dropped, ...rest } = fields;
			add(method, `"${field}" missing`, rest, field);
		}
		for (const [field, value] of Object.entries(fields)) {
			for (const [label, wrong] of wrongTypesFor(value)) add(method, `"${field}" is ${label}`, { ...fields, [field]: wrong }, field);
		}
	}
	// mediasoup refuses a clash inside its worker; that is the client's fault (422), not the server's (500).
	cases.push({
		category: 'wrong-types',
		description: 'produce: the SSRC of a producer the peer already sends',
		send: { via: 'request', actor: 'participant', method: 'produce', data: (t: Targets) => ({ transportId: t.participant.sendTransportId, kind: 'audio', rtpParameters: withMid(chromium.opus, 50), appData: { source: 'mic' } }) },
		expect: { code: 422 },
	});
	return cases;
}

/** Over signalling.maxMessageBytes (413, the connection stays), under the WebSocket's own limit of 4× that (which cuts it). */
export function oversizeCases({ limits }: CorpusSettings): HostileCase[] {
	const padding = (bytes: number) => 'x'.repeat(bytes);
	const over = limits.maxMessageBytes + 1024;
	const hardLimit = limits.maxMessageBytes * 4;
	const cases: HostileCase[] = [];
	const add = (description: string, method: RequestMethod, data: unknown) => {
		const bytes = Buffer.byteLength(JSON.stringify(data));
		if (bytes <= limits.maxMessageBytes || bytes > hardLimit * 0.9) throw new Error(`oversize case "${description}" is ${bytes} bytes: keep it between ${limits.maxMessageBytes} and ${hardLimit * 0.9}`);
		cases.push({
			category: 'oversize',
			description: `${description} (${Math.round(bytes / 1024)} KiB)`,
			send: { via: 'request', actor: typists[cases.length % typists.length]!, method, data },
			expect: { code: 413, reason: 'signalling.maxMessageBytes' },
		});
	};
	const codec = chromium.rtpCapabilities.codecs![0]!;
	add('changeDisplayName with a name just over the limit', 'changeDisplayName', { displayName: padding(over) });
	add('changeDisplayName at three times the limit', 'changeDisplayName', { displayName: padding(limits.maxMessageBytes * 3) });
	add('join with a huge device name', 'join', { displayName: 'M', device: { name: padding(over) } });
	add('join with 800 codecs in rtpCapabilities', 'join', { displayName: 'M', rtpCapabilities: { codecs: Array.from({ length: 800 }, (_, i) => ({ ...codec, preferredPayloadType: i % 128 })) } });
	add('produce with an appData of 1000 keys', 'produce', { ...methodShapes.produce.sample, appData: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, padding(70)])) });
	add('produce with 3000 header extensions', 'produce', { ...methodShapes.produce.sample, rtpParameters: { ...methodShapes.produce.sample.rtpParameters, headerExtensions: Array.from({ length: 3000 }, (_, i) => ({ uri: `urn:x:${i}`, id: (i % 14) + 1 })) } });
	add('produceData with a huge label', 'produceData', { ...methodShapes.produceData.sample, label: padding(over) });
	add('createWebRtcTransport with a huge unknown field', 'createWebRtcTransport', { junk: padding(over) });
	add('connectWebRtcTransport with 2000 fingerprints', 'connectWebRtcTransport', { transportId: id, dtlsParameters: { fingerprints: Array.from({ length: 2000 }, () => ({ algorithm: 'sha-256', value: padding(16) })) } });
	add('getRouterRtpCapabilities with a padded body', 'getRouterRtpCapabilities', { padding: padding(over) });
	add('setConsumerPriority with a padded body', 'setConsumerPriority', { consumerId: id, priority: 1, padding: padding(over) });
	add('mutePeer with a huge peerId', 'mutePeer', { peerId: padding(over) });
	// JSON.parse takes any depth; JSON.stringify (the size check, appData's bound) overflows the stack at a few thousand levels.
	const nested = (depth: number) => (id: number) => `{"request":true,"id":${id},"method":"produce","data":{"transportId":"${id}","kind":"audio","rtpParameters":{"codecs":[]},"appData":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;
	for (const [description, depth] of [['data nested 20 000 arrays deep (40 KB, under the limit)', 20_000], ['data nested 50 000 arrays deep (100 KB, over the limit)', 50_000]] as const) {
		cases.push({ category: 'oversize', description, send: { via: 'raw', actor: typists[cases.length % typists.length]!, text: nested(depth) }, expect: { code: [400, 413] } });
	}
	// Past 4× the limit the WebSocket itself refuses the message: 1009 (message too big), or 1006 when the cut comes while we still write.
	for (const factor of [5, 16]) {
		cases.push({ category: 'oversize', description: `one message of ${factor}× the limit: the server cuts that connection`, send: { via: 'huge', bytes: limits.maxMessageBytes * factor }, expect: { code: [1009, 1006] } });
	}
	return cases;
}

export function unknownNameCases({ limits }: CorpusSettings): HostileCase[] {
	const cases: HostileCase[] = [];
	const add = (description: string, method: string, data: unknown, code: number, reason: string) =>
		cases.push({
			category: 'unknown-names',
			description,
			send: { via: 'request', actor: typists[cases.length % typists.length]!, method, data },
			expect: { code, reason },
		});
	const methods = ['dropTables', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'JOIN', 'join ', ' produce', 'produce\u0000', 'getRouterRtpCapabilities2', '', 'm'.repeat(2000), 'newConsumer', 'sessionEnded', 'admitted', 'mutePeers', 'closeRouter', 'closeConsumer'];
	for (const method of methods) add(`unknown method ${JSON.stringify(method.length > 40 ? `${method.slice(0, 12)}…(${method.length})` : method)}`, method, {}, 405, 'unknown method');
	add('unknown method with data over the size limit', 'uploadFile', { blob: 'x'.repeat(limits.maxMessageBytes + 1024) }, 405, 'unknown method');
	const enumCase = (description: string, method: RequestMethod, data: unknown, field: string) => add(description, method, data, 400, `invalid ${method} request: ${field}`);
	enumCase('produce of kind "data"', 'produce', { ...methodShapes.produce.sample, kind: 'data' }, 'kind');
	enumCase('produce of kind "AUDIO"', 'produce', { ...methodShapes.produce.sample, kind: 'AUDIO' }, 'kind');
	enumCase('produce with a codec "text/plain"', 'produce', { ...methodShapes.produce.sample, rtpParameters: { codecs: [{ mimeType: 'text/plain', payloadType: 100, clockRate: 48000 }] } }, 'rtpParameters.codecs.0.mimeType');
	enumCase('produce with payload type 200', 'produce', { ...methodShapes.produce.sample, rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 200, clockRate: 48000 }] } }, 'rtpParameters.codecs.0.payloadType');
	enumCase('produce with an SSRC over 32 bits', 'produce', { ...methodShapes.produce.sample, rtpParameters: { ...methodShapes.produce.sample.rtpParameters, encodings: [{ ssrc: 2 ** 40 }] } }, 'rtpParameters.encodings.0.ssrc');
	enumCase('stopPeerMedia of source "all"', 'stopPeerMedia', { peerId: 'host', source: 'all' }, 'source');
	enumCase('setPeerRole to "service"', 'setPeerRole', { peerId: 'typist1', role: 'service' }, 'role');
	enumCase('setPeerRole to "guest"', 'setPeerRole', { peerId: 'typist1', role: 'guest' }, 'role');
	enumCase('setPeerRole to "admin"', 'setPeerRole', { peerId: 'typist1', role: 'admin' }, 'role');
	enumCase('admitPeer as "service"', 'admitPeer', { peerId: 'guest', role: 'service' }, 'role');
	enumCase('createWebRtcTransport direction "sideways"', 'createWebRtcTransport', { appData: { direction: 'sideways' } }, 'appData.direction');
	enumCase('connectWebRtcTransport with DTLS role "master"', 'connectWebRtcTransport', { transportId: id, dtlsParameters: { role: 'master', fingerprints: [{ algorithm: 'sha-256', value: 'AB' }] } }, 'dtlsParameters.role');
	enumCase('setConsumerPriority 0 (below the range)', 'setConsumerPriority', { consumerId: id, priority: 0 }, 'priority');
	enumCase('setConsumerPriority 256 (above the range)', 'setConsumerPriority', { consumerId: id, priority: 256 }, 'priority');
	enumCase('setConsumerPreferredLayers layer -1', 'setConsumerPreferredLayers', { consumerId: id, spatialLayer: -1 }, 'spatialLayer');
	enumCase('setConsumerPreferredLayers layer 1e9', 'setConsumerPreferredLayers', { consumerId: id, spatialLayer: 1e9 }, 'spatialLayer');
	enumCase('produceData with stream id 65535', 'produceData', { ...methodShapes.produceData.sample, sctpStreamParameters: { streamId: 65535 } }, 'sctpStreamParameters.streamId');
	enumCase('changeDisplayName to whitespace', 'changeDisplayName', { displayName: ' \t ' }, 'displayName');
	enumCase('mutePeer of a peerId with markup', 'mutePeer', { peerId: '<img src=x>' }, 'peerId');
	return cases;
}

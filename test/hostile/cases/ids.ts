/**
 * Id guessing: acting on objects that exist but belong to someone else (the
 * bystander, the host) must give 403, ids from another room or made up
 * 404, over signalling and over the broadcaster API alike. The ids used are
 * real: a request that got through would act on the bystander's media.
 */
import { chromium, withMid } from '../../helpers/fixtures.js';
import { joinToken } from '../jwt.js';
import { BYSTANDER_PUBLISHER, BYSTANDER_SUBSCRIBER, EVIL_BROADCASTER, type CorpusSettings } from '../settings.js';
import type { ActorName, HostileCase, Late, Targets } from '../types.js';

const guessed = '7d5e0c1a-4b7e-4f64-9d0c-2f1b3a5e6c7d';

/** Every signalling method that takes an id, with the data naming `id`. */
const byKind = {
	transport: [
		['connectWebRtcTransport', (id: string) => ({ transportId: id, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] } })],
		['restartIce', (id: string) => ({ transportId: id })],
		['getTransportStats', (id: string) => ({ transportId: id })],
		['produce', (id: string) => ({ transportId: id, kind: 'audio', rtpParameters: withMid(chromium.opus, 40), appData: { source: 'mic' } })],
		['produceData', (id: string) => ({ transportId: id, sctpStreamParameters: { streamId: 7 }, label: 'chat' })],
	],
	producer: [
		['closeProducer', (id: string) => ({ producerId: id })],
		['pauseProducer', (id: string) => ({ producerId: id })],
		['resumeProducer', (id: string) => ({ producerId: id })],
		['getProducerStats', (id: string) => ({ producerId: id })],
	],
	consumer: [
		['pauseConsumer', (id: string) => ({ consumerId: id })],
		['resumeConsumer', (id: string) => ({ consumerId: id })],
		['setConsumerPreferredLayers', (id: string) => ({ consumerId: id, spatialLayer: 0 })],
		['setConsumerPriority', (id: string) => ({ consumerId: id, priority: 1 })],
		['requestConsumerKeyFrame', (id: string) => ({ consumerId: id })],
		['getConsumerStats', (id: string) => ({ consumerId: id })],
	],
	dataProducer: [['getDataProducerStats', (id: string) => ({ dataProducerId: id })]],
	dataConsumer: [['getDataConsumerStats', (id: string) => ({ dataConsumerId: id })]],
} as const satisfies Record<string, readonly (readonly [string, (id: string) => unknown])[]>;

type Kind = keyof typeof byKind;

function signalling(actor: ActorName, whose: string, kind: Kind, id: (t: Targets) => string, code: number, reason: string): HostileCase[] {
	return byKind[kind].map(([method, data]) => ({
		category: 'id-guessing' as const,
		description: `${actor}: ${method} on ${whose}`,
		send: { via: 'request' as const, actor, method, data: (t: Targets) => data(id(t)) },
		expect: { code, reason },
	}));
}

export function idGuessingCases({ secret, room, otherRoom, serviceApiKey }: CorpusSettings): HostileCase[] {
	const evilToken = `Bearer ${joinToken(secret, room, EVIL_BROADCASTER, 'service')}`;
	const apiKey = `Bearer ${serviceApiKey}`;
	const http = (description: string, method: 'POST' | 'DELETE', path: Late<string>, body: unknown, authorization: string, code: number, reason: string): HostileCase => ({
		category: 'id-guessing',
		description,
		send: { via: 'http', method, path, body, authorization },
		expect: { code, reason },
	});
	const base = `/api/rooms/${room}/broadcasters`;
	const theirs = 'belongs to another peer';
	const notOurs = `this token is for broadcaster "${EVIL_BROADCASTER}"`;
	const producerBody = { kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1111 }] } };

	return [
		...signalling('participant', "the bystander's transport", 'transport', (t) => t.bystander.subscriberTransportId, 403, theirs),
		...signalling('participant', "the bystander's video producer", 'producer', (t) => t.bystander.videoProducerId, 403, theirs),
		...signalling('participant', "the bystander's consumer", 'consumer', (t) => t.bystander.subscriberConsumerIds[1]!, 403, theirs),
		...signalling('viewer', "the host's transport", 'transport', (t) => t.host.transportId, 403, theirs).filter((c) => !c.description.includes('produce')),
		...signalling('viewer', "the host's producer", 'producer', (t) => t.host.producerId, 403, theirs),
		...signalling('viewer', "the host's consumer", 'consumer', (t) => t.host.consumerId, 403, theirs),
		...signalling('outsider', "the bystander's transport from another room", 'transport', (t) => t.bystander.subscriberTransportId, 404, 'not found'),
		...signalling('outsider', "the bystander's producer from another room", 'producer', (t) => t.bystander.audioProducerId, 404, 'not found'),
		...signalling('outsider', "the bystander's consumer from another room", 'consumer', (t) => t.bystander.subscriberConsumerIds[0]!, 404, 'not found'),
		...(Object.keys(byKind) as Kind[]).flatMap((kind) => signalling('participant', `a made-up ${kind} id`, kind, () => guessed, 404, 'not found')),

		http('evil token: DELETE the bystander publisher', 'DELETE', `${base}/${BYSTANDER_PUBLISHER}`, undefined, evilToken, 403, notOurs),
		http('evil token: create a broadcaster under the bystander\'s name', 'POST', base, { id: 'bystander-pub2', displayName: 'x' }, evilToken, 403, 'this token is for broadcaster'),
		http('evil token: a transport for the bystander subscriber', 'POST', `${base}/${BYSTANDER_SUBSCRIBER}/transports`, {}, evilToken, 403, notOurs),
		http('evil token: redirect the bystander\'s transport', 'POST', (t) => `${base}/${BYSTANDER_SUBSCRIBER}/transports/${t.bystander.subscriberTransportId}/connect`, { ip: '127.0.0.1', port: 9 }, evilToken, 403, notOurs),
		http('evil token: consume on the bystander\'s transport', 'POST', (t) => `${base}/${BYSTANDER_SUBSCRIBER}/transports/${t.bystander.subscriberTransportId}/consume?producerId=${t.bystander.videoProducerId}`, {}, evilToken, 403, notOurs),
		http('evil token: produce as the bystander publisher', 'POST', (t) => `${base}/${BYSTANDER_PUBLISHER}/transports/${t.bystander.subscriberTransportId}/producers`, producerBody, evilToken, 403, notOurs),
		http('evil token: resume the bystander\'s consumer', 'POST', (t) => `${base}/${BYSTANDER_SUBSCRIBER}/consumers/${t.bystander.subscriberConsumerIds[1]}/resume`, undefined, evilToken, 403, notOurs),
		http('evil token: layers of the bystander\'s consumer', 'POST', (t) => `${base}/${BYSTANDER_SUBSCRIBER}/consumers/${t.bystander.subscriberConsumerIds[1]}/preferred-layers`, { spatialLayer: 0 }, evilToken, 403, notOurs),
		http('evil token: key frames for the bystander\'s consumer', 'POST', (t) => `${base}/${BYSTANDER_SUBSCRIBER}/consumers/${t.bystander.subscriberConsumerIds[1]}/request-key-frame`, undefined, evilToken, 403, notOurs),
		http('evil token: its own path, the bystander\'s transport (connect)', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/transports/${t.bystander.subscriberTransportId}/connect`, { ip: '127.0.0.1', port: 9 }, evilToken, 403, theirs),
		http('evil token: its own path, the bystander\'s transport (consume)', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/transports/${t.bystander.subscriberTransportId}/consume?producerId=${t.bystander.audioProducerId}`, {}, evilToken, 403, theirs),
		http('evil token: its own path, the bystander\'s transport (produce)', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/transports/${t.bystander.subscriberTransportId}/producers`, producerBody, evilToken, 403, theirs),
		http('evil token: its own path, the bystander\'s consumer (resume)', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/consumers/${t.bystander.subscriberConsumerIds[1]}/resume`, undefined, evilToken, 403, theirs),
		http('evil token: its own path, the bystander\'s consumer (layers)', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/consumers/${t.bystander.subscriberConsumerIds[1]}/preferred-layers`, { spatialLayer: 0 }, evilToken, 403, theirs),
		http('evil token: its own path, the bystander\'s consumer (key frame)', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/consumers/${t.bystander.subscriberConsumerIds[0]}/request-key-frame`, undefined, evilToken, 403, theirs),
		http('evil token: a made-up transport', 'POST', `${base}/${EVIL_BROADCASTER}/transports/${guessed}/producers`, producerBody, evilToken, 404, 'not found'),
		http('evil token: a made-up consumer', 'POST', `${base}/${EVIL_BROADCASTER}/consumers/${guessed}/resume`, undefined, evilToken, 404, 'not found'),
		http('evil token: consume a made-up producer', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/transports/${t.evil.consumeTransportId}/consume?producerId=${guessed}`, {}, evilToken, 404, `producer "${guessed}" not found`),
		http('evil token: consume data on a transport without SCTP', 'POST', (t) => `${base}/${EVIL_BROADCASTER}/transports/${t.evil.consumeTransportId}/consume/data`, { dataProducerId: guessed }, evilToken, 409, 'has no SCTP'),
		http('evil token: used for another room', 'POST', `/api/rooms/${otherRoom}/broadcasters`, { id: EVIL_BROADCASTER, displayName: 'x' }, evilToken, 401, `token is for room "${room}"`),
		http('API key: DELETE a WebRTC peer as if it were a broadcaster', 'DELETE', `${base}/host`, undefined, apiKey, 403, 'is a WebRTC peer'),
		http('API key: a transport for a WebRTC peer', 'POST', `${base}/participant/transports`, {}, apiKey, 403, 'is a WebRTC peer'),
		http('API key: take the bystander publisher\'s id', 'POST', base, { id: BYSTANDER_PUBLISHER, displayName: 'impostor' }, apiKey, 409, 'already exists'),
		http('API key: take a joined peer\'s id', 'POST', base, { id: 'host', displayName: 'impostor' }, apiKey, 409, 'already exists'),
		http('API key: a made-up broadcaster', 'DELETE', `${base}/ghost`, undefined, apiKey, 404, 'broadcaster "ghost" not found'),
		http('API key: a room that does not exist', 'POST', '/api/rooms/no-such-room/broadcasters/x/transports', {}, apiKey, 404, 'room "no-such-room" not found'),
	];
}

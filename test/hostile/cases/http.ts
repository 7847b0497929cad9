/**
 * The HTTP API without credentials, with wrong ones, or with the wrong kind
 * (every broadcaster route, on both mounts), room listing without an admin
 * key, open mode's token endpoint on a server with a secret, and the
 * PlainTransport rules: media only to allow-listed unicast addresses, each
 * producer consumed once per transport. Paths name the bystander's real
 * objects, so a call that got through would change its media.
 */
import { joinToken, nowSeconds, signHs256 } from '../jwt.js';
import { BYSTANDER_PUBLISHER, BYSTANDER_SUBSCRIBER, EVIL_BROADCASTER, type CorpusSettings } from '../settings.js';
import type { HostileCase, Late } from '../types.js';

type Route = { name: string; method: 'GET' | 'POST' | 'DELETE'; path: Late<string>; body?: unknown };

function broadcasterRoutes(mount: string, room: string): Route[] {
	const base = `${mount}/${room}/broadcasters`;
	const transport = (t: { bystander: { subscriberTransportId: string } }) => `${base}/${BYSTANDER_SUBSCRIBER}/transports/${t.bystander.subscriberTransportId}`;
	const consumer = (t: { bystander: { subscriberConsumerIds: string[] } }) => `${base}/${BYSTANDER_SUBSCRIBER}/consumers/${t.bystander.subscriberConsumerIds[1]}`;
	return [
		{ name: 'GET room', method: 'GET', path: `${mount}/${room}` },
		{ name: 'POST broadcasters', method: 'POST', path: base, body: { id: 'intruder', displayName: 'Intruder' } },
		{ name: 'DELETE broadcaster', method: 'DELETE', path: `${base}/${BYSTANDER_PUBLISHER}` },
		{ name: 'POST transports', method: 'POST', path: `${base}/${BYSTANDER_SUBSCRIBER}/transports`, body: {} },
		{ name: 'POST connect', method: 'POST', path: (t) => `${transport(t)}/connect`, body: { ip: '127.0.0.1', port: 9 } },
		{ name: 'POST producers', method: 'POST', path: (t) => `${transport(t)}/producers`, body: { kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 2222 }] } } },
		{ name: 'POST consume', method: 'POST', path: (t) => `${transport(t)}/consume?producerId=${t.bystander.videoProducerId}`, body: {} },
		{ name: 'POST produce/data', method: 'POST', path: (t) => `${transport(t)}/produce/data`, body: { sctpStreamParameters: { streamId: 1 } } },
		{ name: 'POST consume/data', method: 'POST', path: (t) => `${transport(t)}/consume/data`, body: { dataProducerId: 'x' } },
		{ name: 'POST consumer resume', method: 'POST', path: (t) => `${consumer(t)}/resume` },
		{ name: 'POST consumer preferred-layers', method: 'POST', path: (t) => `${consumer(t)}/preferred-layers`, body: { spatialLayer: 0 } },
		{ name: 'POST consumer request-key-frame', method: 'POST', path: (t) => `${consumer(t)}/request-key-frame` },
	];
}

export function httpCredentialCases({ secret, room, otherRoom, adminApiKey, serviceApiKey }: CorpusSettings): HostileCase[] {
	const now = nowSeconds();
	const credentials: [label: string, authorization: string | undefined, code: number, reason: string][] = [
		['no Authorization header', undefined, 401, 'missing credentials'],
		['a wrong API key', 'Bearer wrong-key-0123456789abcdefghijkl', 401, 'not one of auth.serviceApiKeys'],
		['Basic instead of Bearer', `Basic ${Buffer.from(`admin:${serviceApiKey}`).toString('base64')}`, 401, 'missing credentials'],
		['"Bearer" with nothing after it', 'Bearer ', 401, 'missing credentials'],
		['the admin key (not a service key)', `Bearer ${adminApiKey}`, 401, 'not one of auth.serviceApiKeys'],
		['the service key with a suffix', `Bearer ${serviceApiKey}x`, 401, 'not one of auth.serviceApiKeys'],
		['a participant join token', `Bearer ${joinToken(secret, room, 'mallory', 'participant')}`, 403, 'needs a token of role "service"'],
		['a host join token', `Bearer ${joinToken(secret, room, 'mallory', 'host')}`, 403, 'needs a token of role "service"'],
		['a forged service token', `Bearer ${signHs256('forged-secret-forged-secret-forged!!', { sub: EVIL_BROADCASTER, room, role: 'service', exp: now + 600 })}`, 401, 'token signature invalid'],
		['an expired service token', `Bearer ${signHs256(secret, { sub: EVIL_BROADCASTER, room, role: 'service', exp: now - 3600 })}`, 401, 'token expired'],
		['a service token for another room', `Bearer ${joinToken(secret, otherRoom, EVIL_BROADCASTER, 'service')}`, 401, 'token is for room'],
	];
	const cases: HostileCase[] = [];
	for (const route of broadcasterRoutes('/api/rooms', room)) {
		for (const [label, authorization, code, reason] of credentials) {
			// A token caller acting as another broadcaster is id guessing; here only credentials that prove nothing useful.
			cases.push({ category: 'http-credentials', description: `${route.name} with ${label}`, send: { via: 'http', method: route.method, path: route.path, body: route.body, authorization }, expect: { code, reason } });
		}
	}
	for (const route of broadcasterRoutes('/rooms', room)) {
		cases.push({ category: 'http-credentials', description: `${route.name} (mediasoup-demo mount) without credentials`, send: { via: 'http', method: route.method, path: route.path, body: route.body }, expect: { code: 401, reason: 'missing credentials' } });
	}
	const listing: [label: string, authorization: string | undefined, reason: string][] = [
		['no credentials', undefined, 'missing credentials'],
		['the service key', `Bearer ${serviceApiKey}`, 'not one of auth.adminApiKeys'],
		['a host join token', `Bearer ${joinToken(secret, room, 'mallory', 'host')}`, 'not one of auth.adminApiKeys'],
		['a service join token', `Bearer ${joinToken(secret, room, EVIL_BROADCASTER, 'service')}`, 'not one of auth.adminApiKeys'],
		['the admin key with a suffix', `Bearer ${adminApiKey}-`, 'not one of auth.adminApiKeys'],
		['the admin key as Basic', `Basic ${adminApiKey}`, 'missing credentials'],
	];
	for (const [mount, [label, authorization, reason]] of ['/api/rooms', '/rooms'].flatMap((mount) => listing.map((entry) => [mount, entry] as const))) {
		cases.push({ category: 'http-credentials', description: `GET ${mount} (all rooms) with ${label}`, send: { via: 'http', method: 'GET', path: mount, authorization }, expect: { code: 401, reason } });
	}
	const tokenBodies: [label: string, body: unknown, authorization?: string][] = [
		['a participant token for the room', { roomId: room }],
		['a host token', { roomId: room, role: 'host' }],
		['no body', undefined],
		['a token, presenting the service key', { roomId: room }, `Bearer ${serviceApiKey}`],
		['a token, presenting the admin key', { roomId: room, role: 'viewer' }, `Bearer ${adminApiKey}`],
	];
	for (const [label, body, authorization] of tokenBodies) {
		cases.push({ category: 'http-credentials', description: `POST /api/token on a server with a secret: ${label}`, send: { via: 'http', method: 'POST', path: '/api/token', body, authorization }, expect: { code: 403, reason: 'not in open mode' } });
	}
	// Credentials are checked before anything else is read: an anonymous caller learns nothing about bodies.
	cases.push(
		{ category: 'http-credentials', description: 'POST broadcasters without credentials and with an invalid body', send: { via: 'http', method: 'POST', path: `/api/rooms/${room}/broadcasters`, body: { id: 'has space' } }, expect: { code: 401, reason: 'missing credentials' } },
		{ category: 'http-credentials', description: 'POST transports without credentials and with a body that is not JSON', send: { via: 'http', method: 'POST', path: `/api/rooms/${room}/broadcasters/${BYSTANDER_SUBSCRIBER}/transports`, body: '{"comedia": ' }, expect: { code: 401, reason: 'missing credentials' } },
	);
	return cases;
}

export function plainTransportCases({ secret, room, serviceApiKey, limits }: CorpusSettings): HostileCase[] {
	const evilToken = `Bearer ${joinToken(secret, room, EVIL_BROADCASTER, 'service')}`;
	const apiKey = `Bearer ${serviceApiKey}`;
	const base = `/api/rooms/${room}/broadcasters/${EVIL_BROADCASTER}`;
	const connect = (t: { evil: { connectTransportId: string } }) => `${base}/transports/${t.evil.connectTransportId}/connect`;
	const cases: HostileCase[] = [];
	const refused = ['224.0.0.1', '239.255.255.250', '255.255.255.255', '0.0.0.0', '8.8.8.8', '1.1.1.1', '10.0.0.1', '192.168.1.10', '169.254.169.254', '100.64.0.1', '::', 'ff02::1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '::ffff:224.0.0.1'];
	for (const [index, ip] of refused.entries()) {
		cases.push({
			category: 'plain-transport',
			description: `connect to ${ip}`,
			send: { via: 'http', method: 'POST', path: connect, body: { ip, port: 5004 }, authorization: index % 2 === 0 ? apiKey : evilToken },
			expect: { code: 403, reason: `cannot send media to ${ip}` },
		});
	}
	const invalid: [label: string, body: unknown, reason: string][] = [
		['a host name instead of an address', { ip: 'localhost', port: 5004 }, 'ip must be an IPv4 or IPv6 address'],
		['an address with a port in it', { ip: '127.0.0.1:5004', port: 5004 }, 'ip must be an IPv4 or IPv6 address'],
		['port 0', { ip: '127.0.0.1', port: 0 }, 'port'],
		['port 70000', { ip: '127.0.0.1', port: 70_000 }, 'port'],
		['an RTCP port of -1', { ip: '127.0.0.1', port: 5004, rtcpPort: -1 }, 'rtcpPort'],
		['SRTP keys that are not Base64', { ip: '127.0.0.1', port: 5004, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: '!!not base64!!' } }, 'keyBase64'],
		['an SRTP suite that does not exist', { ip: '127.0.0.1', port: 5004, srtpParameters: { cryptoSuite: 'ROT13', keyBase64: 'AAAA' } }, 'cryptoSuite'],
	];
	for (const [label, body, reason] of invalid) {
		cases.push({ category: 'plain-transport', description: `connect with ${label}`, send: { via: 'http', method: 'POST', path: connect, body, authorization: apiKey }, expect: { code: 400, reason } });
	}
	cases.push(
		{
			category: 'plain-transport',
			description: 'consume a producer the transport already consumes',
			send: { via: 'http', method: 'POST', path: (t) => `${base}/transports/${t.evil.consumeTransportId}/consume?producerId=${t.bystander.videoProducerId}`, body: {}, authorization: evilToken },
			expect: { code: 409, reason: 'a PlainTransport consumes each producer once' },
		},
		{
			category: 'plain-transport',
			description: 'consume it again, the producer id in the body this time',
			send: { via: 'http', method: 'POST', path: (t) => `${base}/transports/${t.evil.consumeTransportId}/consume`, body: (t: { bystander: { videoProducerId: string } }) => ({ producerId: t.bystander.videoProducerId }), authorization: apiKey },
			expect: { code: 409, reason: 'a PlainTransport consumes each producer once' },
		},
		{ category: 'plain-transport', description: 'consume without a producer id', send: { via: 'http', method: 'POST', path: (t) => `${base}/transports/${t.evil.consumeTransportId}/consume`, body: {}, authorization: apiKey }, expect: { code: 400, reason: 'producerId is required' } },
		{ category: 'plain-transport', description: 'transport of type "webrtc"', send: { via: 'http', method: 'POST', path: `${base}/transports`, body: { type: 'webrtc' }, authorization: apiKey }, expect: { code: 400, reason: 'type' } },
		{ category: 'plain-transport', description: 'transport with SRTP suite "ROT13"', send: { via: 'http', method: 'POST', path: `${base}/transports`, body: { enableSrtp: true, srtpCryptoSuite: 'ROT13' }, authorization: apiKey }, expect: { code: 400, reason: 'srtpCryptoSuite' } },
		{ category: 'plain-transport', description: 'transport with 0 SCTP streams', send: { via: 'http', method: 'POST', path: `${base}/transports`, body: { enableSctp: true, numSctpStreams: { OS: 0, MIS: 0 } }, authorization: apiKey }, expect: { code: 400, reason: 'numSctpStreams' } },
		{ category: 'plain-transport', description: 'a producer of kind "smell"', send: { via: 'http', method: 'POST', path: (t) => `${base}/transports/${t.evil.connectTransportId}/producers`, body: { kind: 'smell', rtpParameters: { codecs: [] } }, authorization: apiKey }, expect: { code: 400, reason: 'kind' } },
		{ category: 'plain-transport', description: 'a body over http.maxBodyBytes', send: { via: 'http', method: 'POST', path: `${base}/transports`, body: { padding: 'x'.repeat(limits.maxBodyBytes + 1024) }, authorization: apiKey }, expect: { code: 413, reason: 'http.maxBodyBytes' } },
		{ category: 'plain-transport', description: 'a body that is not JSON', send: { via: 'http', method: 'POST', path: `${base}/transports`, body: '{"comedia": tru', authorization: apiKey }, expect: { code: 400, reason: 'not valid JSON' } },
		{ category: 'plain-transport', description: 'a JSON body that is an array', send: { via: 'http', method: 'POST', path: `${base}/transports`, body: '[{"comedia":true}]', authorization: apiKey }, expect: { code: 400, reason: 'invalid transport options' } },
		{ category: 'plain-transport', description: 'an API route that does not exist', send: { via: 'http', method: 'POST', path: (t) => `${base}/transports/${t.evil.connectTransportId}/rewire`, body: {}, authorization: apiKey }, expect: { code: 404, reason: 'no API route' } },
		{ category: 'plain-transport', description: 'PUT on the room list with a service key (the list is for admins, whatever the method)', send: { via: 'http', method: 'PUT', path: '/api/rooms', body: {}, authorization: apiKey }, expect: { code: 401, reason: 'adminApiKeys' } },
	);
	return cases;
}

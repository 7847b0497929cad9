/**
 * Forged and tampered join tokens, and WebSocket URLs the server must not
 * take. A token the server refuses gets an in-session refusal: the socket is
 * accepted and every request answered with the reason (401 for a token that
 * proves nothing, 403 for one that proves the wrong thing). A URL it cannot
 * read is refused at the upgrade with an HTTP status.
 */
import { b64url, claims, hmac, joinToken, nowSeconds, signHs256, signingInput, withPayload } from '../jwt.js';
import type { CorpusSettings } from '../settings.js';
import type { HostileCase } from '../types.js';

export function forgedTokenCases({ secret, room, otherRoom }: CorpusSettings): HostileCase[] {
	const now = nowSeconds();
	const valid = claims(room, 'mallory', 'participant');
	const connect = (description: string, token: string, code: number, reason: string, extra: Record<string, string> = {}): HostileCase => ({
		category: 'forged-tokens',
		description,
		send: { via: 'connect', query: { roomId: room, token, ...extra } },
		expect: { code, reason },
	});
	const unsigned = (header: Record<string, unknown>, payload: object) => `${signingInput({ alg: 'none', ...header }, payload)}.`;
	const signedToken = joinToken(secret, room, 'mallory', 'viewer');
	const [headerPart, payloadPart, signaturePart] = signedToken.split('.') as [string, string, string];
	const flip = (text: string) => `${text.slice(0, -2)}${text.at(-2) === 'A' ? 'B' : 'A'}${text.at(-1)}`;

	return [
		connect('signed with another secret', signHs256('not-the-servers-secret-0123456789abcdef', valid), 401, 'token signature invalid'),
		connect('signed with an empty secret', signHs256('', valid), 401, 'token signature invalid'),
		connect('alg "none", no signature', unsigned({ typ: 'JWT' }, valid), 401, 'token algorithm not allowed'),
		connect('alg "none" with the real signature appended', `${signingInput({ alg: 'none' }, valid)}.${signaturePart}`, 401, 'token algorithm not allowed'),
		connect('alg "NONE" (case games)', unsigned({ alg: 'NONE' }, valid), 401, 'token algorithm not allowed'),
		connect('alg HS512, signed with the real secret', (() => {
			const input = signingInput({ alg: 'HS512', typ: 'JWT' }, valid);
			return `${input}.${hmac('sha512', secret, input)}`;
		})(), 401, 'token algorithm not allowed'),
		connect('alg HS384 header over an HS256 signature', (() => {
			const input = signingInput({ alg: 'HS384' }, valid);
			return `${input}.${hmac('sha256', secret, input)}`;
		})(), 401, 'token algorithm not allowed'),
		connect('alg RS256 header, HMAC signature (algorithm confusion)', (() => {
			const input = signingInput({ alg: 'RS256', typ: 'JWT' }, valid);
			return `${input}.${hmac('sha256', secret, input)}`;
		})(), 401, 'token algorithm not allowed'),
		connect('alg EdDSA on a server without public keys', (() => {
			const input = signingInput({ alg: 'EdDSA' }, valid);
			return `${input}.${hmac('sha256', secret, input)}`;
		})(), 401, 'token algorithm not allowed'),
		connect('alg ES256 with a junk signature', `${signingInput({ alg: 'ES256' }, valid)}.${b64url('x'.repeat(64))}`, 401, 'token algorithm not allowed'),
		connect('"crit" header the server does not understand', signHs256(secret, valid, { alg: 'HS256', crit: ['x-hostile'], 'x-hostile': true }), 401, 'token'),
		connect('"b64": false header (unencoded payload)', signHs256(secret, valid, { alg: 'HS256', b64: false, crit: ['b64'] }), 401, 'token'),
		connect('expired an hour ago', signHs256(secret, { ...valid, exp: now - 3600 }), 401, 'token expired'),
		connect('expired a minute ago (past the clock tolerance)', signHs256(secret, { ...valid, exp: now - 60 }), 401, 'token expired'),
		connect('not valid before tomorrow (nbf)', signHs256(secret, { ...valid, nbf: now + 86_400 }), 401, 'token not yet valid'),
		connect('no exp claim', signHs256(secret, { sub: 'mallory', room, role: 'participant' }), 401, 'token claim "exp" invalid'),
		connect('exp as a string', signHs256(secret, { ...valid, exp: String(now + 600) }), 401, 'token claim "exp" invalid'),
		connect('for another room', joinToken(secret, otherRoom, 'mallory', 'participant'), 401, `token is for room "${otherRoom}"`),
		connect('no room claim', signHs256(secret, { sub: 'mallory', role: 'participant', exp: now + 600 }), 401, 'token claim "room" invalid'),
		connect('room claim a wildcard "*"', joinToken(secret, '*', 'mallory', 'participant'), 401, 'token claim "room" invalid'),
		connect('no sub claim', signHs256(secret, { room, role: 'participant', exp: now + 600 }), 401, 'token claim "sub" invalid'),
		connect('sub with bad characters', joinToken(secret, room, '../host<script>', 'participant'), 401, 'token claim "sub" invalid'),
		connect('sub empty', joinToken(secret, room, '', 'participant'), 401, 'token claim "sub" invalid'),
		connect('sub 65 characters long', joinToken(secret, room, 's'.repeat(65), 'participant'), 401, 'token claim "sub" invalid'),
		connect('sub a number', signHs256(secret, { ...valid, sub: 42 }), 401, 'token claim "sub" invalid'),
		connect('role "admin" (not in the enum)', signHs256(secret, { ...valid, role: 'admin' }), 401, 'token claim "role" invalid'),
		connect('role "HOST" (wrong case)', signHs256(secret, { ...valid, role: 'HOST' }), 401, 'token claim "role" invalid'),
		connect('role missing', signHs256(secret, { sub: 'mallory', room, exp: now + 600 }), 401, 'token claim "role" invalid'),
		connect('role as an array of roles', signHs256(secret, { ...valid, role: ['viewer', 'host'] }), 401, 'token claim "role" invalid'),
		connect('permissions with an unknown permission', signHs256(secret, { ...valid, permissions: { root: true } }), 401, 'token claim "permissions'),
		connect('permissions with a non-boolean grant', signHs256(secret, { ...valid, permissions: { moderate: 'yes' } }), 401, 'token claim "permissions.moderate" invalid'),
		connect('name of 5000 characters', signHs256(secret, { ...valid, name: 'n'.repeat(5000) }), 401, 'token claim "name" invalid'),
		connect('payload tampered after signing: viewer → host', withPayload(signedToken, { ...JSON.parse(Buffer.from(payloadPart, 'base64url').toString()), role: 'host' }), 401, 'token signature invalid'),
		connect('payload tampered after signing: sub → host', withPayload(signedToken, { ...JSON.parse(Buffer.from(payloadPart, 'base64url').toString()), sub: 'host' }), 401, 'token signature invalid'),
		connect('header tampered after signing (kid added)', `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'other' }))}.${payloadPart}.${signaturePart}`, 401, 'token signature invalid'),
		connect('signature with one character changed', `${headerPart}.${payloadPart}.${flip(signaturePart)}`, 401, 'token signature invalid'),
		connect('signature stripped', `${headerPart}.${payloadPart}.`, 401, 'token signature invalid'),
		connect('payload is a JSON array', signHs256(secret, '["sub","host"]'), 401, 'token malformed'),
		connect('payload is not JSON (validly signed)', signHs256(secret, '{sub: host'), 401, 'token malformed'),
		connect('payload is a JSON string (validly signed)', signHs256(secret, '"host"'), 401, 'token malformed'),
		connect('garbage', 'not-a-token', 401, 'token malformed'),
		connect('two parts only', `${headerPart}.${payloadPart}`, 401, 'token malformed'),
		connect('four parts', `${signedToken}.extra`, 401, 'token malformed'),
		connect('empty token', '', 401, 'token malformed'),
		connect('huge token (9 KB)', `${headerPart}.${b64url('x'.repeat(7000))}.${signaturePart}`, 401, 'token too long'),
		connect('valid token, peerId of someone else in the URL', joinToken(secret, room, 'mallory', 'participant'), 403, 'is not the token\'s identity', { peerId: 'host' }),
		connect('service token on the WebSocket', joinToken(secret, room, 'mallory', 'service'), 403, 'a service token is for the HTTP broadcaster API'),
		{
			category: 'forged-tokens',
			description: 'no token at all on a server with a secret (open-mode style ?peerId=)',
			send: { via: 'connect', query: { roomId: room, peerId: 'mallory' } },
			expect: { code: 401, reason: 'this server needs a join token' },
		},
		{
			category: 'forged-tokens',
			description: 'no token, taking the id of a joined peer',
			send: { via: 'connect', query: { roomId: room, peerId: 'host' } },
			expect: { code: 401, reason: 'this server needs a join token' },
		},
	];
}

/** URLs refused at the upgrade, before any identity or room is looked at. */
export function badConnectionCases({ secret, room }: CorpusSettings): HostileCase[] {
	const token = joinToken(secret, room, 'mallory', 'participant');
	const upgrade = (description: string, path: string, code: number, reason: string, protocol?: string): HostileCase => ({
		category: 'bad-connections',
		description,
		send: { via: 'upgrade', path, ...(protocol ? { protocol } : {}) },
		expect: { code, reason },
	});
	return [
		upgrade('no query at all', '/', 400, 'missing roomId'),
		upgrade('token but no roomId', `/?token=${token}`, 400, 'missing roomId'),
		upgrade('roomId but neither token nor peerId', `/?roomId=${room}`, 400, 'missing token'),
		upgrade('roomId with a path traversal', `/?roomId=..%2F..%2Fetc&token=${token}`, 400, 'invalid roomId'),
		upgrade('roomId 65 characters long', `/?roomId=${'r'.repeat(65)}&token=${token}`, 400, 'invalid roomId'),
		upgrade('roomId with a NUL byte', `/?roomId=${room}%00&token=${token}`, 400, 'invalid roomId'),
		upgrade('roomId empty', `/?roomId=&token=${token}`, 400, 'invalid roomId'),
		upgrade('peerId with markup', `/?roomId=${room}&peerId=%3Cscript%3E&token=${token}`, 400, 'invalid peerId'),
		upgrade('peerId with spaces', `/?roomId=${room}&peerId=a%20b&token=${token}`, 400, 'invalid peerId'),
		upgrade('a URL of 20 KB (header overflow)', `/?roomId=${room}&token=${'x'.repeat(20_000)}`, 431, ''),
		upgrade('another WebSocket subprotocol', `/?roomId=${room}&token=${token}`, 403, '', 'chat'),
	];
}

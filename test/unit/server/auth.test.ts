/** The pure parts of access control: the roles table, token verification, and the limit mechanisms. */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AddressAllowList, ConnectionCounter, KeyedBuckets, KeyFrameThrottle, TokenBucket } from '../../../server/auth/limits.js';
import { Access, authorize, matchesSource, publishPermissions, rolePermissions } from '../../../server/auth/roles.js';
import { loadTokenKeys, mintJoinToken, parseDuration, verifyJoinToken } from '../../../server/auth/tokens.js';

const SECRET = 'unit-test-secret-0123456789-abcdefghijkl';
const noProducers = () => undefined;

describe('roles', () => {
	it('give each role what the table says, and tokens can add or withdraw', () => {
		expect(new Access('host').list()).toEqual(rolePermissions.host);
		expect(new Access('viewer').canPublish()).toBe(false);
		expect(new Access('guest').list()).toEqual([]);
		const muted = new Access('participant', { publishAudio: false, moderate: true });
		expect(muted.can('publishAudio')).toBe(false);
		expect(muted.can('moderate')).toBe(true);
		muted.setRole('viewer');
		expect(muted.can('moderate')).toBe(false);
	});

	it('authorize every request against the table, naming what is missing', () => {
		const viewer = new Access('viewer');
		expect(() => authorize(viewer, 'produce', { transportId: 't', kind: 'audio', rtpParameters: { codecs: [] } }, noProducers)).toThrow(/"publishAudio"/);
		expect(() => authorize(viewer, 'produce', { transportId: 't', kind: 'video', rtpParameters: { codecs: [] }, appData: { source: 'screen' } }, noProducers)).toThrow(/"publishScreen"/);
		expect(() => authorize(viewer, 'mutePeer', { peerId: 'x' }, noProducers)).toThrow(/"moderate"/);
		expect(() => authorize(viewer, 'createWebRtcTransport', {}, noProducers)).not.toThrow();
		expect(() => authorize(new Access('guest'), 'createWebRtcTransport', {}, noProducers)).toThrow(/one of the permissions/);
		const muted = new Access('participant', { publishAudio: false });
		const lookup = (id: string) => (id === 'mic' ? { kind: 'audio' as const, source: 'mic' } : { kind: 'video' as const, source: 'webcam' });
		expect(() => authorize(muted, 'resumeProducer', { producerId: 'mic' }, lookup)).toThrow(/"publishAudio"/);
		expect(() => authorize(muted, 'resumeProducer', { producerId: 'cam' }, lookup)).not.toThrow();
		expect(() => authorize(viewer, 'produceData', { transportId: 't', sctpStreamParameters: { streamId: 0 }, label: 'chat' }, noProducers)).not.toThrow();
	});

	it('map sources to permissions and to moderated sources', () => {
		// A muted peer cannot send its voice labelled as screen audio.
		expect(publishPermissions('audio', 'screen-audio')).toEqual(['publishAudio', 'publishScreen']);
		expect(publishPermissions('video', 'screen')).toEqual(['publishScreen']);
		expect(publishPermissions('video', undefined)).toEqual(['publishVideo']);
		expect(() => authorize(new Access('participant', { publishAudio: false }), 'produce', { transportId: 't', kind: 'audio', rtpParameters: { codecs: [] }, appData: { source: 'screen-audio' } }, noProducers)).toThrow(/"publishAudio"/);
		expect(matchesSource('mic', 'audio', 'mic')).toBe(true);
		expect(matchesSource('mic', 'audio', 'screen-audio')).toBe(false);
		expect(matchesSource('screen', 'audio', 'screen-audio')).toBe(true);
		expect(matchesSource('webcam', 'video', 'screen')).toBe(false);
	});
});

describe('join tokens', () => {
	it('round-trip through mint and verify, with the claims as the grant', async () => {
		const keys = await loadTokenKeys({ secret: SECRET, publicKeys: [] }, '/nonexistent');
		const { token, expiresAt } = await mintJoinToken(SECRET, { room: 'r', identity: 'alice', role: 'presenter', name: 'Alice', permissions: { chat: false }, ttlSeconds: 60 });
		const result = await verifyJoinToken(keys, token, 'r');
		expect(result).toEqual({ ok: true, grant: { identity: 'alice', room: 'r', role: 'presenter', name: 'Alice', overrides: { chat: false }, expiresAt } });
		expect(await verifyJoinToken(keys, token, 'other')).toEqual({ ok: false, reason: 'token is for room "r", not "other"' });
	});

	it('accept EdDSA tokens from any configured public key, and refuse an unknown key', async () => {
		const pairs = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')];
		const pem = (pair: (typeof pairs)[number]) => pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
		const keys = await loadTokenKeys({ secret: SECRET, publicKeys: [pem(pairs[0]!), pem(pairs[1]!)] }, '/nonexistent');
		const sign = (pair: (typeof pairs)[number]) => new SignJWT({ room: 'r', role: 'viewer' }).setProtectedHeader({ alg: 'EdDSA' }).setSubject('v').setExpirationTime('1m').sign(pair.privateKey);
		expect(await verifyJoinToken(keys, await sign(pairs[1]!), 'r')).toMatchObject({ ok: true, grant: { identity: 'v', role: 'viewer' } });
		expect(await verifyJoinToken(keys, await sign(pairs[0]!), 'r')).toMatchObject({ ok: true });
		expect(await verifyJoinToken(keys, await sign(pairs[2]!), 'r')).toEqual({ ok: false, reason: 'token signature invalid' });
		const noEd = await loadTokenKeys({ secret: SECRET, publicKeys: [] }, '/nonexistent');
		expect(await verifyJoinToken(noEd, await sign(pairs[0]!), 'r')).toEqual({ ok: false, reason: 'token algorithm not allowed (use HS256 or EdDSA)' });
	});

	it('read durations', () => {
		expect(parseDuration('90')).toBe(90);
		expect(parseDuration('15m')).toBe(900);
		expect(parseDuration('1h')).toBe(3600);
		expect(parseDuration('7d')).toBe(604_800);
		expect(() => parseDuration('1 week')).toThrow(/cannot read duration/);
	});
});

describe('limits', () => {
	it('token bucket: a burst, then the rate', () => {
		const bucket = new TokenBucket(2, 3, 0);
		expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
		expect(bucket.take(400)).toBe(false);
		expect(bucket.take(500)).toBe(true);
		expect(bucket.full(5000)).toBe(true);
	});

	it('keyed buckets forget idle keys', () => {
		const buckets = new KeyedBuckets(1, 1);
		for (let i = 0; i < 100; i++) buckets.take(`10.0.0.${i}`, 0);
		expect(buckets.size).toBe(100);
		buckets.take('10.0.0.200', 20_000);
		expect(buckets.size).toBe(1);
	});

	it('counts connections per address', () => {
		const counter = new ConnectionCounter(2);
		expect([counter.tryOpen('a'), counter.tryOpen('a'), counter.tryOpen('a'), counter.tryOpen('b')]).toEqual([true, true, false, true]);
		counter.close('a');
		expect(counter.tryOpen('a')).toBe(true);
		counter.close('b');
		expect(counter.count('b')).toBe(0);
	});

	it('throttles key frame requests per consumer', () => {
		const throttle = new KeyFrameThrottle(1000);
		expect([throttle.allow('c1', 0), throttle.allow('c1', 500), throttle.allow('c2', 500), throttle.allow('c1', 1000)]).toEqual([true, false, true, true]);
	});

	it('allow-list: ranges, mapped IPv4, and addresses never allowed', () => {
		const list = new AddressAllowList(['127.0.0.0/8', '::1/128', '10.1.2.3', '0.0.0.0/0']);
		expect(list.refusal('127.0.0.1')).toBeUndefined();
		expect(list.refusal('::ffff:127.0.0.1')).toBeUndefined();
		expect(list.refusal('::1')).toBeUndefined();
		expect(list.refusal('8.8.8.8')).toBeUndefined();
		for (const address of ['0.0.0.0', '224.0.0.1', '255.255.255.255', 'ff02::1', '::']) expect(list.refusal(address), address).toMatch(/never sent/);
		expect(new AddressAllowList(['127.0.0.0/8']).refusal('192.168.0.1')).toMatch(/not on auth.plainTransportAllowList/);
		expect(list.refusal('example.org')).toMatch(/not an IP address/);
	});
});

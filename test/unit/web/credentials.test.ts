import { describe, expect, it } from 'vitest';
import { mintJoinToken } from '../../../server/auth/tokens.js';
import { fresh, invitationCredentials, readTokenClaims } from '../../../web/src/lib/credentials.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

describe('join token claims, read by the page', () => {
	it('reads what the server signs: identity, room, role, name, expiry', async () => {
		const { token, expiresAt } = await mintJoinToken(SECRET, { room: 'team-42', identity: 'ada', role: 'host', name: 'Ada Lovelace ✓', ttlSeconds: 600 });
		expect(readTokenClaims(token)).toEqual({ sub: 'ada', room: 'team-42', role: 'host', name: 'Ada Lovelace ✓', exp: expiresAt / 1000 });
	});

	it('refuses what is not a join token', async () => {
		expect(readTokenClaims('')).toBeUndefined();
		expect(readTokenClaims('a.b.c')).toBeUndefined();
		const payload = (claims: unknown) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.x`;
		expect(readTokenClaims(payload({ sub: 'a', room: 'r', role: 'admin', exp: 1 }))).toBeUndefined();
		expect(readTokenClaims(payload({ sub: 'a/b', room: 'r', role: 'host', exp: 1 }))).toBeUndefined();
		expect(readTokenClaims(payload({ sub: 'a', room: 'r', role: 'host' }))).toBeUndefined();
		expect(readTokenClaims(payload([1, 2]))).toBeUndefined();
	});

	it('an invitation counts for its own room only (another room asks the server)', async () => {
		const { token, expiresAt } = await mintJoinToken(SECRET, { room: 'team-42', identity: 'ada', role: 'guest', ttlSeconds: 600 });
		expect(invitationCredentials(token, 'team-42')).toEqual({ token, identity: 'ada', role: 'guest', expiresAt, origin: 'invitation' });
		expect(invitationCredentials(token, 'other-room')).toBeUndefined();
		expect(invitationCredentials(undefined, 'team-42')).toBeUndefined();
	});

	it('credentials near their expiry are not reused', () => {
		const credentials = { token: 't', identity: 'a', role: 'participant', expiresAt: 100_000, origin: 'open-mode' } as const;
		expect(fresh(credentials, 0)).toBe(true);
		expect(fresh(credentials, 50_000)).toBe(false);
	});
});

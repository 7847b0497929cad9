/**
 * TURN servers for clients, with time-limited credentials in the form TURN
 * servers such as coturn check with `use-auth-secret`: the username is
 * "<expiry unix time>:<peerId>" and the password is the Base64 HMAC-SHA1 of
 * the username under the shared secret. No password is ever stored.
 */
import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import type { IceServer } from '../signalling/protocol.js';

export function turnCredentials(secret: string, peerId: string, ttlSeconds: number, now = Date.now()): { username: string; credential: string } {
	const username = `${Math.floor(now / 1000) + ttlSeconds}:${peerId}`;
	return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * The ICE servers a peer should use, or none when no TURN server is
 * configured. The credentials expire with the peer's join token, if sooner.
 */
export function iceServersFor(turn: Config['turn'], peerId: string, notAfter = Infinity, now = Date.now()): IceServer[] | undefined {
	if (turn.urls.length === 0) return undefined;
	const ttlSeconds = Math.max(1, Math.min(turn.credentialTtlSeconds, Math.floor((notAfter - now) / 1000)));
	return [{ urls: turn.urls, ...turnCredentials(turn.secret, peerId, ttlSeconds, now) }];
}

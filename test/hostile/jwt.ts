/**
 * JWTs built by hand, so a case can be exactly as broken as it says: any
 * header, any payload (even one that is not an object), signed with any
 * HMAC, or not at all. Valid join tokens are made the same way, with the
 * server's secret, as an application backend would sign them.
 */
import { createHmac } from 'node:crypto';
import type { JoinTokenClaims } from '../../server/signalling/protocol.js';

export const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

export type JwtHeader = { alg: string; typ?: string } & Record<string, unknown>;

/** header.payload, each part JSON (a string payload is used as the raw JSON text). */
export function signingInput(header: JwtHeader, payload: object | string): string {
	const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
	return `${b64url(JSON.stringify(header))}.${b64url(body)}`;
}

export function hmac(algorithm: 'sha256' | 'sha512', secret: string, input: string): string {
	return createHmac(algorithm, secret).update(input).digest('base64url');
}

/** HS256 over whatever header and payload: a real signature with `secret`. */
export function signHs256(secret: string, payload: object | string, header: JwtHeader = { alg: 'HS256', typ: 'JWT' }): string {
	const input = signingInput(header, payload);
	return `${input}.${hmac('sha256', secret, input)}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Claims of a join token valid for ten minutes. */
export function claims(room: string, sub: string, role: JoinTokenClaims['role'], extra: Partial<JoinTokenClaims> = {}): JoinTokenClaims {
	const now = nowSeconds();
	return { sub, room, role, iat: now, exp: now + 600, ...extra };
}

/** A join token the server accepts. */
export function joinToken(secret: string, room: string, sub: string, role: JoinTokenClaims['role'], extra: Partial<JoinTokenClaims> = {}): string {
	return signHs256(secret, claims(room, sub, role, extra));
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function withPayload(token: string, payload: object): string {
	const [header, , signature] = token.split('.');
	return `${header}.${b64url(JSON.stringify(payload))}.${signature}`;
}

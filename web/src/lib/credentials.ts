/**
 * Who the page joins as: the join token of an invitation link, or, on a
 * server in open mode, one the server mints for this page (`POST
 * /api/token`). The token's claims are read here, not verified: that is the
 * server's job, and it refuses a token that lies.
 */
import type { HttpApi, HttpError, PeerId, Role, RoomId } from '../../../server/signalling/protocol.js';
import { userError } from './errors.js';
import type { UserError } from './errors.js';
import { ID_PATTERN } from './settings.js';

/** The claims the page uses (JoinTokenClaims in the protocol, without the permission overrides). */
export type TokenClaims = { sub: PeerId; room: RoomId; role: Role; name?: string | undefined; exp: number };

export type Credentials = {
	token: string;
	/** The peer id: the token's `sub`. */
	identity: PeerId;
	role: Role;
	/** Milliseconds since the epoch. */
	expiresAt: number;
	/** From the page's invitation link, or minted by this server for the page (open mode: anyone may invite). */
	origin: 'invitation' | 'open-mode';
};

export type OpenModeTokenRequest = HttpApi['openModeToken']['body'];

/** Every role, as a record so that a role added to the protocol does not compile until it is listed. */
const knownRoles: Record<Role, true> = { host: true, presenter: true, participant: true, viewer: true, guest: true, service: true };

export function isRole(value: unknown): value is Role {
	return typeof value === 'string' && Object.hasOwn(knownRoles, value);
}

function decodeBase64Url(text: string): string {
	const base64 = text.replace(/-/gu, '+').replace(/_/gu, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
	const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
	return new TextDecoder().decode(bytes);
}

/** The payload of a JWT, if it has the claims of a join token. */
export function readTokenClaims(token: string): TokenClaims | undefined {
	const payload = token.split('.')[1];
	if (!payload) return undefined;
	let value: unknown;
	try {
		value = JSON.parse(decodeBase64Url(payload));
	} catch {
		return undefined;
	}
	if (typeof value !== 'object' || value === null) return undefined;
	const { sub, room, role, name, exp } = value as Record<string, unknown>;
	if (typeof sub !== 'string' || !ID_PATTERN.test(sub) || typeof room !== 'string' || !ID_PATTERN.test(room)) return undefined;
	if (!isRole(role) || typeof exp !== 'number') return undefined;
	return { sub, room, role, name: typeof name === 'string' ? name : undefined, exp };
}

/** The invitation's credentials, if its token is one and is for this room (else the page asks its server). */
export function invitationCredentials(token: string | undefined, roomId: RoomId): Credentials | undefined {
	const claims = token === undefined ? undefined : readTokenClaims(token);
	if (!token || !claims || claims.room !== roomId) return undefined;
	return { token, identity: claims.sub, role: claims.role, expiresAt: claims.exp * 1000, origin: 'invitation' };
}

/** Still usable for a while: a token that expires during the call would refuse the next reconnect. */
export function fresh(credentials: Credentials, now: number, marginMs = 60_000): boolean {
	return credentials.expiresAt - marginMs > now;
}

/** Getting credentials failed with something the user should read. */
export class CredentialsError extends Error {
	constructor(readonly userError: UserError) {
		super(userError.detail ?? userError.title);
		this.name = 'CredentialsError';
	}
}

/** Asks the page's own server for a token (open mode); a server with a secret answers 403. */
export async function requestOpenModeToken(pageUrl: string, body: OpenModeTokenRequest): Promise<Credentials> {
	let response: Response;
	try {
		response = await fetch(new URL('/api/token', pageUrl), {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(body),
		});
	} catch (error) {
		throw new CredentialsError(userError('server-unreachable', error instanceof Error ? error.message : String(error)));
	}
	const data: unknown = await response.json().catch(() => undefined);
	if (!response.ok) {
		const reason = (data as Partial<HttpError> | undefined)?.error ?? `HTTP ${response.status}`;
		throw new CredentialsError(userError(response.status === 403 ? 'invitation-required' : 'unexpected', reason));
	}
	const { token, identity, role, expiresAt } = (data ?? {}) as Partial<HttpApi['openModeToken']['response']>;
	if (typeof token !== 'string' || typeof identity !== 'string' || !isRole(role) || typeof expiresAt !== 'number') {
		throw new CredentialsError(userError('unexpected', 'the server answered /api/token without a token'));
	}
	return { token, identity, role, expiresAt, origin: 'open-mode' };
}

/** What the page joins with: the room, the name, and what its link carried. */
export type CredentialsRequest = { roomId: RoomId; displayName: string; token?: string | undefined; role?: OpenModeTokenRequest['role'] | undefined };

/**
 * The page's credentials per room: the invitation's token, or open mode's,
 * minted once per room and role for the page's life, so that joining again
 * is the same person (and takes its stale session back).
 */
export class PageCredentials {
	readonly #minted = new Map<string, Credentials>();

	async for(pageUrl: string, { roomId, displayName, token, role = 'participant' }: CredentialsRequest): Promise<Credentials> {
		const invited = invitationCredentials(token, roomId);
		if (invited) return invited;
		const key = `${roomId}/${role}`;
		const known = this.#minted.get(key);
		if (known && fresh(known, Date.now())) return known;
		const obtained = await requestOpenModeToken(pageUrl, { roomId, role, displayName });
		this.#minted.set(key, obtained);
		return obtained;
	}
}

/**
 * Join tokens: JWTs that say who a peer is (`sub`), which room it may join,
 * with which role. Signed by the application's backend with the server's
 * secret (HS256) or with an Ed25519 private key whose public half the server
 * is configured with (EdDSA). Only those two algorithms are accepted, so
 * `alg: none` and algorithm confusion are refused before any claim is read.
 *
 * Without a configured secret the server is in *open mode*: it makes a
 * random secret of its own (kept in a file, so `npm run token` can sign
 * for it too) and mints participant tokens for its own web page.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errors, importSPKI, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { JoinTokenClaims, PeerId, Permission, Role, RoomId } from '../signalling/protocol.js';
import { ID_PATTERN_SOURCE } from '../signalling/protocol.js';
import { allPermissions, allRoles, type PermissionOverrides } from './roles.js';

/** What a verified token grants. */
export type Grant = {
	identity: PeerId;
	room: RoomId;
	role: Role;
	name: string | undefined;
	overrides: PermissionOverrides;
	/** Milliseconds since the epoch. */
	expiresAt: number;
};

export type VerifyResult = { ok: true; grant: Grant } | { ok: false; reason: string };

const CLOCK_TOLERANCE_SECONDS = 5;
const MIN_SECRET_LENGTH = 32;

const id = z.string().regex(new RegExp(ID_PATTERN_SOURCE), 'must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -');

const claimsSchema = z.object({
	sub: id,
	room: id,
	role: z.enum(allRoles),
	name: z.string().max(1000).optional(),
	permissions: z.partialRecord(z.enum(allPermissions), z.boolean()).optional(),
	exp: z.number(),
	nbf: z.number().optional(),
	iat: z.number().optional(),
}) satisfies z.ZodType<JoinTokenClaims>;

export type AuthSettings = { secret: string; publicKeys: string[] };

type PublicKey = Awaited<ReturnType<typeof importSPKI>>;

export type TokenKeys = {
	/** The HS256 secret: configured, or open mode's own. */
	secret: Uint8Array;
	publicKeys: PublicKey[];
	/** No secret was configured: the server mints tokens for its own page. */
	open: boolean;
};

/** Open mode's secret: read from its file, or made and saved there (mode 0600). */
export function openModeSecret(file: string): string {
	if (existsSync(file)) {
		const saved = readFileSync(file, 'utf8').trim();
		if (saved.length >= MIN_SECRET_LENGTH) return saved;
	}
	const secret = randomBytes(32).toString('base64url');
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, `${secret}\n`, { mode: 0o600 });
	chmodSync(file, 0o600);
	return secret;
}

export async function loadTokenKeys(settings: AuthSettings, openModeSecretFile: string): Promise<TokenKeys> {
	const open = settings.secret === '';
	const secret = new TextEncoder().encode(open ? openModeSecret(openModeSecretFile) : settings.secret);
	const publicKeys = await Promise.all(settings.publicKeys.map((pem) => importSPKI(pem, 'EdDSA')));
	return { secret, publicKeys, open };
}

function describeFailure(error: unknown): string {
	if (error instanceof errors.JWTExpired) return 'token expired';
	if (error instanceof errors.JWTClaimValidationFailed) {
		return error.claim === 'nbf' ? 'token not yet valid (nbf is in the future)' : `token claim "${error.claim}" invalid: ${error.reason}`;
	}
	if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'token algorithm not allowed (use HS256 or EdDSA)';
	if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
	if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'token malformed';
	return 'token invalid';
}

/** Checks signature, time and claims, and that the token is for `roomId`. */
export async function verifyJoinToken(keys: TokenKeys, token: string, roomId: RoomId | undefined): Promise<VerifyResult> {
	if (token.length > 8192) return { ok: false, reason: 'token too long' };
	let payload: JWTPayload;
	try {
		({ payload } = await jwtVerify(
			token,
			async (header) => {
				if (header.alg === 'HS256') return keys.secret;
				if (header.alg === 'EdDSA') {
					if (keys.publicKeys.length === 0) throw new errors.JOSEAlgNotAllowed('no EdDSA keys configured');
					return keys.publicKeys[0]!;
				}
				throw new errors.JOSEAlgNotAllowed(`"${header.alg}" not allowed`);
			},
			{ algorithms: ['HS256', 'EdDSA'], clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['exp', 'sub'] },
		));
	} catch (error) {
		if (error instanceof errors.JWSSignatureVerificationFailed && keys.publicKeys.length > 1) {
			return verifyWithEachKey(keys, token, roomId);
		}
		return { ok: false, reason: describeFailure(error) };
	}
	return grantOf(payload, roomId);
}

/** jose takes one key per verification; with several EdDSA keys, each is tried. */
async function verifyWithEachKey(keys: TokenKeys, token: string, roomId: RoomId | undefined): Promise<VerifyResult> {
	for (const key of keys.publicKeys) {
		try {
			const { payload } = await jwtVerify(token, key, { algorithms: ['EdDSA'], clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['exp', 'sub'] });
			return grantOf(payload, roomId);
		} catch (error) {
			if (!(error instanceof errors.JWSSignatureVerificationFailed)) return { ok: false, reason: describeFailure(error) };
		}
	}
	return { ok: false, reason: 'token signature invalid' };
}

function grantOf(payload: JWTPayload, roomId: RoomId | undefined): VerifyResult {
	const claims = claimsSchema.safeParse(payload);
	if (!claims.success) {
		const issue = claims.error.issues[0]!;
		return { ok: false, reason: `token claim "${issue.path.join('.') || 'payload'}" invalid: ${issue.message}` };
	}
	const { sub, room, role, name, permissions, exp } = claims.data;
	if (roomId !== undefined && room !== roomId) return { ok: false, reason: `token is for room "${room}", not "${roomId}"` };
	return { ok: true, grant: { identity: sub, room, role, name, overrides: permissions ?? {}, expiresAt: exp * 1000 } };
}

export type MintOptions = {
	room: RoomId;
	identity: PeerId;
	role: Role;
	name?: string;
	permissions?: Partial<Record<Permission, boolean>>;
	ttlSeconds: number;
};

/** Signs a join token with an HS256 secret (what an application backend does; here for open mode and `npm run token`). */
export async function mintJoinToken(secret: Uint8Array | string, options: MintOptions): Promise<{ token: string; expiresAt: number }> {
	const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
	const now = Math.floor(Date.now() / 1000);
	const exp = now + options.ttlSeconds;
	const claims: Omit<JoinTokenClaims, 'sub' | 'exp' | 'iat'> = { room: options.room, role: options.role };
	if (options.name !== undefined) claims.name = options.name;
	if (options.permissions) claims.permissions = options.permissions;
	const token = await new SignJWT(claims)
		.setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
		.setSubject(options.identity)
		.setIssuedAt(now)
		.setExpirationTime(exp)
		.sign(key);
	return { token, expiresAt: exp * 1000 };
}

/** "90", "90s", "15m", "1h", "7d" → seconds. */
export function parseDuration(text: string): number {
	const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
	if (!match) throw new Error(`cannot read duration "${text}": use e.g. 90s, 15m, 1h, 7d`);
	const factor = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
	return Number(match[1]) * factor;
}

export { MIN_SECRET_LENGTH };

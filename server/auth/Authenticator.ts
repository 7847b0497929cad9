/**
 * Who is asking: a WebSocket's join token, or an HTTP request's bearer
 * credential (an API key from the configuration, or a join token of the
 * service role). One object, made at start-up, used by the signalling
 * server and the HTTP routes alike.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { RequestError } from '../signalling/errors.js';
import { ErrorCode, type PeerId, type Role, type RoomId } from '../signalling/protocol.js';
import { loadTokenKeys, mintJoinToken, verifyJoinToken, type Grant, type MintOptions, type TokenKeys, type VerifyResult } from './tokens.js';

/** An HTTP caller allowed to drive broadcasters: any of them (API key), or only its own identity's (token). */
export type ServiceCaller = { kind: 'api-key' } | { kind: 'token'; identity: PeerId; grant: Grant };

const unauthorized = (message: string) => new RequestError(ErrorCode.unauthorized, message);

function digest(value: string): Buffer {
	return createHash('sha256').update(value).digest();
}

/** Constant-time membership test (all keys compared, digests of equal length). */
function includesKey(keys: readonly Buffer[], candidate: string): boolean {
	const probe = digest(candidate);
	let found = false;
	for (const key of keys) found = timingSafeEqual(key, probe) || found;
	return found;
}

export class Authenticator {
	readonly #keys: TokenKeys;
	readonly #serviceKeys: Buffer[];
	readonly #adminKeys: Buffer[];
	readonly #config: Config['auth'];

	private constructor(keys: TokenKeys, config: Config['auth']) {
		this.#keys = keys;
		this.#config = config;
		this.#serviceKeys = config.serviceApiKeys.map(digest);
		this.#adminKeys = config.adminApiKeys.map(digest);
	}

	static async create(config: Config, logger: Logger): Promise<Authenticator> {
		const keys = await loadTokenKeys(config.auth, config.auth.openModeSecretFile);
		if (keys.open) {
			logger.warn(
				{ event: 'auth-open-mode', secretFile: config.auth.openModeSecretFile },
				'auth.secret is not set: the server is OPEN, anyone who reaches it can get a participant token for any room. Set SFU_AUTH_SECRET (see README, "Deploying safely") before exposing it.',
			);
		}
		return new Authenticator(keys, config.auth);
	}

	/** No secret configured: the server mints participant tokens for its own page. */
	get open(): boolean {
		return this.#keys.open;
	}

	verify(token: string, roomId: RoomId | undefined): Promise<VerifyResult> {
		return verifyJoinToken(this.#keys, token, roomId);
	}

	/** Open mode's token for the web page: a fresh identity, a participant or viewer role. */
	mintForOpenMode(room: RoomId, role: Extract<Role, 'participant' | 'viewer'>, identity: PeerId, name: string | undefined) {
		return this.mint({ room, identity, role, name, ttlSeconds: this.#config.openModeTokenTtlSeconds });
	}

	/** A token this server accepts (HS256 with its secret), as an application backend would sign it. */
	mint(options: MintOptions) {
		return mintJoinToken(this.#keys.secret, options);
	}

	/** The broadcaster API's caller for `roomId`, or a 401/403 error. */
	async service(authorization: string | undefined, roomId: RoomId): Promise<ServiceCaller> {
		const credential = this.#bearer(authorization);
		if (includesKey(this.#serviceKeys, credential)) return { kind: 'api-key' };
		if (!credential.includes('.')) throw unauthorized('the API key is not one of auth.serviceApiKeys');
		const result = await this.verify(credential, roomId);
		if (!result.ok) throw unauthorized(result.reason);
		if (result.grant.role !== 'service') throw new RequestError(ErrorCode.forbidden, `the broadcaster API needs a token of role "service", not "${result.grant.role}"`);
		return { kind: 'token', identity: result.grant.identity, grant: result.grant };
	}

	/**
	 * A WHIP publisher's or WHEP player's caller: a join token for the room
	 * (its identity and role), a service API key, or, on a server in open
	 * mode, nobody in particular with `openRole`.
	 */
	async media(authorization: string | undefined, roomId: RoomId, openRole: Extract<Role, 'participant' | 'viewer'>): Promise<{ identity: PeerId | undefined; role: Role; grant: Grant | undefined }> {
		if (authorization === undefined && this.open) return { identity: undefined, role: openRole, grant: undefined };
		const credential = this.#bearer(authorization);
		if (includesKey(this.#serviceKeys, credential)) return { identity: undefined, role: 'service', grant: undefined };
		const result = await this.verify(credential, roomId);
		if (!result.ok) throw unauthorized(result.reason);
		return { identity: result.grant.identity, role: result.grant.role, grant: result.grant };
	}

	/** Room listing and other cross-room data: an admin API key only. */
	admin(authorization: string | undefined): void {
		const credential = this.#bearer(authorization);
		if (!includesKey(this.#adminKeys, credential)) {
			throw unauthorized(this.#adminKeys.length === 0 ? 'this needs an admin API key, and none is configured (auth.adminApiKeys)' : 'the API key is not one of auth.adminApiKeys');
		}
	}

	#bearer(authorization: string | undefined): string {
		const match = /^Bearer\s+(\S{1,8192})$/i.exec(authorization ?? '');
		if (!match) throw unauthorized('missing credentials: send "Authorization: Bearer <API key or service token>"');
		return match[1]!;
	}
}

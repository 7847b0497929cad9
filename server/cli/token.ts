/**
 * Mints a join token and prints it, nothing else (so it can be captured):
 *
 *   npm run --silent token -- --room R --identity I --role ROLE [--name N] [--ttl 1h] [--allow P,…] [--deny P,…]
 *
 * Signed with auth.secret from the configuration (config/local.json,
 * SFU_CONFIG or SFU_AUTH_SECRET, as the server reads it), or, on a server in
 * open mode, with the secret it keeps in auth.openModeSecretFile.
 */
import { parseArgs } from 'node:util';
import { allPermissions, allRoles } from '../auth/roles.js';
import { mintJoinToken, openModeSecret, parseDuration } from '../auth/tokens.js';
import { ConfigError, loadConfig } from '../config.js';
import type { Permission, Role } from '../signalling/protocol.js';
import { ID_PATTERN_SOURCE } from '../signalling/protocol.js';

const usage = `usage: npm run --silent token -- --room ROOM --identity ID --role ${allRoles.join('|')} [--name NAME] [--ttl 1h] [--allow PERMISSION,…] [--deny PERMISSION,…]
permissions: ${allPermissions.join(', ')}`;

function fail(message: string): never {
	process.stderr.write(`${message}\n${usage}\n`);
	process.exit(2);
}

function permissionList(text: string | undefined, allowed: boolean): Partial<Record<Permission, boolean>> {
	const result: Partial<Record<Permission, boolean>> = {};
	for (const name of (text ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
		if (!(allPermissions as readonly string[]).includes(name)) fail(`unknown permission "${name}"`);
		result[name as Permission] = allowed;
	}
	return result;
}

async function main(): Promise<void> {
	let values;
	try {
		({ values } = parseArgs({
			options: {
				room: { type: 'string' },
				identity: { type: 'string' },
				role: { type: 'string' },
				name: { type: 'string' },
				ttl: { type: 'string', default: '1h' },
				allow: { type: 'string' },
				deny: { type: 'string' },
				help: { type: 'boolean', short: 'h' },
			},
		}));
	} catch (error) {
		fail((error as Error).message);
	}
	if (values.help) {
		process.stdout.write(`${usage}\n`);
		return;
	}
	const idPattern = new RegExp(ID_PATTERN_SOURCE);
	for (const name of ['room', 'identity'] as const) {
		const value = values[name];
		if (value === undefined) fail(`--${name} is required`);
		if (!idPattern.test(value)) fail(`--${name} must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -`);
	}
	if (!values.role || !(allRoles as readonly string[]).includes(values.role)) fail(`--role must be one of ${allRoles.join(', ')}`);
	let ttlSeconds: number;
	try {
		ttlSeconds = parseDuration(values.ttl);
	} catch (error) {
		fail((error as Error).message);
	}
	if (ttlSeconds < 1) fail('--ttl must be at least 1 second');

	let secret: string;
	try {
		const config = loadConfig();
		secret = config.auth.secret !== '' ? config.auth.secret : openModeSecret(config.auth.openModeSecretFile);
	} catch (error) {
		fail(error instanceof ConfigError ? error.message : String(error));
	}
	const permissions = { ...permissionList(values.allow, true), ...permissionList(values.deny, false) };
	const { token } = await mintJoinToken(secret, {
		room: values.room!,
		identity: values.identity!,
		role: values.role as Role,
		name: values.name,
		permissions: Object.keys(permissions).length > 0 ? permissions : undefined,
		ttlSeconds,
	});
	process.stdout.write(`${token}\n`);
}

void main();

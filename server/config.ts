/**
 * Configuration: config/default.json, then a local file (config/local.json, or
 * the file named by SFU_CONFIG), then environment variables, then overrides
 * given in code (tests). The result is validated; a bad value stops the
 * server with a message naming the setting, where it came from and what is
 * allowed.
 *
 * Every setting has an environment variable: its path in SCREAMING_SNAKE_CASE
 * prefixed with SFU_, e.g. http.listenPort → SFU_HTTP_LISTEN_PORT.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const rtcPort = z.number().int().min(1024).max(65535);
const positiveInt = z.number().int().positive();
const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4 or IPv6 address' });
/** "10.0.0.0/8", "::1/128", or a single address. */
const cidr = z.string().refine((value) => {
	const [address, bits, extra] = value.split('/');
	if (extra !== undefined || address === undefined) return false;
	const v4 = z.ipv4().safeParse(address).success;
	const v6 = !v4 && z.ipv6().safeParse(address).success;
	if (!v4 && !v6) return false;
	if (bits === undefined) return true;
	return /^\d{1,3}$/.test(bits) && Number(bits) <= (v4 ? 32 : 128);
}, 'expected an address or a CIDR range, e.g. "127.0.0.0/8" or "::1/128"');
const optionalAddress = z.union([z.literal(''), ipAddress, z.hostname()], { error: 'expected an IP address, a hostname, or "" (automatic)' });

const configSchema = z
	.object({
		http: z.strictObject({
			listenHost: z.union([ipAddress, z.hostname()], { error: 'expected an IP address or hostname' }),
			listenPort: port,
			tls: z.strictObject({
				certFile: z.string(),
				keyFile: z.string(),
				selfSignedDir: z.string().min(1),
			}),
			maxBodyBytes: positiveInt.max(16 * 1024 * 1024),
			webDistDir: z.string(),
		}),
		mediasoup: z.strictObject({
			numWorkers: z.number().int().min(0).max(256),
			workerLogLevel: z.enum(['debug', 'warn', 'error', 'none']),
			listenIp: ipAddress,
			announcedAddress: optionalAddress,
			webRtcServerPort: port,
			rtcMinPort: rtcPort,
			rtcMaxPort: rtcPort,
			plainTransportListenIp: ipAddress,
			plainTransportAnnouncedAddress: optionalAddress,
			initialAvailableOutgoingBitrate: positiveInt,
			maxIncomingBitrate: z.number().int().min(0),
			routerConsumerSoftLimit: positiveInt,
			loadSampleIntervalMs: z.number().int().min(100).max(60_000),
		}),
		rooms: z.strictObject({
			maxRooms: positiveInt,
			maxPeersPerRoom: positiveInt,
			maxProducersPerPeer: positiveInt.max(64),
			maxDataProducersPerPeer: positiveInt.max(64),
			maxTransportsPerPeer: positiveInt.max(16),
			maxBroadcastersPerRoom: z.number().int().min(0),
			emptyRoomGraceMs: z.number().int().min(0).max(3_600_000),
			resumeGraceMs: z.number().int().min(0).max(600_000),
		}),
		signalling: z.strictObject({
			maxMessageBytes: z.number().int().min(4096).max(16 * 1024 * 1024),
			maxDisplayNameLength: positiveInt.max(1000),
			keepaliveIntervalMs: z.number().int().min(1000).max(600_000),
			keepaliveGraceMs: z.number().int().min(1000).max(600_000),
			livenessTimeoutMs: z.number().int().min(1000).max(600_000),
			requestTimeoutMs: z.number().int().min(100).max(120_000),
		}),
		auth: z.strictObject({
			secret: z.string().refine((value) => value === '' || value.length >= 32, 'must be empty (open mode) or at least 32 characters (e.g. `openssl rand -base64 32`)'),
			publicKeys: z.array(z.string().includes('BEGIN PUBLIC KEY', { message: 'expected a PEM Ed25519 public key (-----BEGIN PUBLIC KEY-----)' })).max(16),
			serviceApiKeys: z.array(z.string().min(24, 'API keys must be at least 24 characters')).max(64),
			adminApiKeys: z.array(z.string().min(24, 'API keys must be at least 24 characters')).max(64),
			openModeSecretFile: z.string().min(1),
			openModeTokenTtlSeconds: z.number().int().min(60).max(30 * 86_400),
			plainTransportAllowList: z.array(cidr).max(64),
		}),
		limits: z.strictObject({
			maxConnectionsPerIp: positiveInt,
			joinTimeoutMs: z.number().int().min(500).max(600_000),
			requestsPerSecond: positiveInt.max(100_000),
			requestBurst: positiveInt.max(100_000),
			maxQueuedRequests: positiveInt.max(10_000),
			keyFrameRequestIntervalMs: z.number().int().min(0).max(60_000),
			httpRequestsPerSecondPerIp: positiveInt.max(100_000),
			httpRequestBurstPerIp: positiveInt.max(100_000),
			lobbyWaitMs: z.number().int().min(1000).max(86_400_000),
		}),
		turn: z.strictObject({
			urls: z.array(z.string().regex(/^turns?:[^\s]+$/, 'expected turn: or turns: URLs, e.g. "turn:turn.example.org:3478?transport=udp"')).max(16),
			secret: z.string(),
			credentialTtlSeconds: z.number().int().min(60).max(7 * 24 * 3600),
		}),
		log: z.strictObject({
			level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
		}),
		shutdownTimeoutMs: z.number().int().min(100).max(60_000),
		drainTimeoutMs: z.number().int().min(0).max(86_400_000),
	})
	.strict()
	.superRefine((config, ctx) => {
		const { rtcMinPort, rtcMaxPort, webRtcServerPort, numWorkers } = config.mediasoup;
		if (rtcMinPort > rtcMaxPort) {
			ctx.addIssue({ code: 'custom', path: ['mediasoup', 'rtcMinPort'], message: `must not be greater than mediasoup.rtcMaxPort (${rtcMaxPort})` });
		}
		if (webRtcServerPort !== 0 && webRtcServerPort + Math.max(numWorkers, 1) - 1 > 65535) {
			ctx.addIssue({ code: 'custom', path: ['mediasoup', 'webRtcServerPort'], message: 'plus one port per worker must stay ≤ 65535' });
		}
		if (config.turn.urls.length > 0 && config.turn.secret === '') {
			ctx.addIssue({ code: 'custom', path: ['turn', 'secret'], message: 'is needed with turn.urls (the static-auth-secret of the TURN server, for time-limited credentials)' });
		}
		if ((config.http.tls.certFile === '') !== (config.http.tls.keyFile === '')) {
			ctx.addIssue({ code: 'custom', path: ['http', 'tls', 'certFile'], message: 'certFile and keyFile must be given together (or both left empty for a self-signed certificate)' });
		}
	});

export type ConfigInput = z.infer<typeof configSchema>;

/** The validated configuration, with defaults resolved (paths absolute, worker count known). */
export type Config = ConfigInput & {
	mediasoup: ConfigInput['mediasoup'] & { numWorkers: number };
	/** Project root, for resolving relative paths. */
	rootDir: string;
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConfigError';
	}
}

export function projectRoot(): string {
	let dir = dirname(fileURLToPath(import.meta.url));
	while (!existsSync(join(dir, 'package.json'))) {
		const parent = dirname(dir);
		if (parent === dir) throw new ConfigError('cannot find the project root (no package.json above server/)');
		dir = parent;
	}
	return dir;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: JsonObject, override: JsonObject): JsonObject {
	const result: JsonObject = { ...base };
	for (const [key, value] of Object.entries(override)) {
		if (value === undefined) continue;
		const current = result[key];
		result[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
	}
	return result;
}

/** http.listenPort → SFU_HTTP_LISTEN_PORT */
export function envName(path: readonly string[]): string {
	return `SFU_${path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** Every leaf setting path of the defaults, e.g. ['http', 'listenPort']. */
export function settingPaths(defaults: JsonObject, prefix: string[] = []): string[][] {
	return Object.entries(defaults).flatMap(([key, value]) =>
		isObject(value) ? settingPaths(value, [...prefix, key]) : [[...prefix, key]]);
}

/** Parses an environment value to the type of the default it overrides. */
function parseEnvValue(raw: string, defaultValue: Json): Json {
	if (typeof defaultValue === 'number') {
		const trimmed = raw.trim();
		return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : raw;
	}
	if (Array.isArray(defaultValue)) {
		// A JSON array, or a comma-separated list.
		if (raw.trim().startsWith('[')) {
			try {
				return JSON.parse(raw) as Json;
			} catch {
				return raw;
			}
		}
		return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
	}
	if (typeof defaultValue === 'boolean') {
		if (/^(true|1|yes)$/i.test(raw)) return true;
		if (/^(false|0|no)$/i.test(raw)) return false;
		return raw;
	}
	return raw;
}

function getPath(object: JsonObject, path: readonly string[]): Json | undefined {
	let current: Json | undefined = object;
	for (const part of path) current = isObject(current) ? current[part] : undefined;
	return current;
}

function setPath(object: JsonObject, path: readonly string[], value: Json): void {
	let current = object;
	for (const part of path.slice(0, -1)) {
		const next = current[part];
		if (!isObject(next)) current[part] = {};
		current = current[part] as JsonObject;
	}
	current[path[path.length - 1]!] = value;
}

function readJsonFile(path: string): JsonObject {
	let parsed: unknown;
	try {
		parsed = JSON.parse(readFileSync(path, 'utf8'));
	} catch (error) {
		throw new ConfigError(`cannot read configuration file ${path}: ${(error as Error).message}`);
	}
	if (!isObject(parsed)) throw new ConfigError(`configuration file ${path} must contain a JSON object`);
	return parsed;
}

export type LoadConfigOptions = {
	/** Environment to read SFU_* variables from (default: process.env). */
	env?: NodeJS.ProcessEnv;
	/** A local configuration file; default: $SFU_CONFIG, else config/local.json when present; null: none. */
	file?: string | null;
	/** Applied last; for tests and embedding. */
	overrides?: DeepPartial<ConfigInput>;
};

export function loadConfig({ env = process.env, file, overrides }: LoadConfigOptions = {}): Config {
	const rootDir = projectRoot();
	const defaults = readJsonFile(join(rootDir, 'config', 'default.json'));
	const sources = new Map<string, string>();
	let merged = defaults;

	const localFile = file ?? env.SFU_CONFIG ?? join(rootDir, 'config', 'local.json');
	const explicit = typeof file === 'string' || (file === undefined && env.SFU_CONFIG !== undefined);
	if (file !== null && (explicit || existsSync(localFile))) {
		const local = readJsonFile(resolve(rootDir, localFile));
		for (const path of settingPaths(local)) sources.set(path.join('.'), localFile);
		merged = deepMerge(merged, local);
	}

	for (const path of settingPaths(defaults)) {
		const name = envName(path);
		const raw = env[name];
		if (raw === undefined) continue;
		setPath(merged, path, parseEnvValue(raw, getPath(defaults, path) ?? null));
		sources.set(path.join('.'), name);
	}

	if (overrides) merged = deepMerge(merged, overrides as JsonObject);

	const result = configSchema.safeParse(merged);
	if (!result.success) {
		const problems = result.error.issues.map((issue) => {
			const key = issue.path.join('.');
			const source = sources.get(key);
			const got = issue.code === 'unrecognized_keys' ? '' : `, got ${JSON.stringify(getPath(merged, issue.path.map(String)))}`;
			const where = issue.code === 'unrecognized_keys' ? `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => [key, k].filter(Boolean).join('.')).join(', ')}` : `"${key}"`;
			return `  ${where}${source ? ` (from ${source})` : ''}: ${issue.message}${got}`;
		});
		throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
	}

	const config = result.data;
	const absolute = (path: string) => (path === '' || isAbsolute(path) ? path : resolve(rootDir, path));
	return {
		...config,
		rootDir,
		auth: { ...config.auth, openModeSecretFile: absolute(config.auth.openModeSecretFile) },
		http: {
			...config.http,
			webDistDir: absolute(config.http.webDistDir),
			tls: {
				certFile: absolute(config.http.tls.certFile),
				keyFile: absolute(config.http.tls.keyFile),
				selfSignedDir: absolute(config.http.tls.selfSignedDir),
			},
		},
		mediasoup: {
			...config.mediasoup,
			numWorkers: config.mediasoup.numWorkers === 0 ? availableParallelism() : config.mediasoup.numWorkers,
		},
	};
}

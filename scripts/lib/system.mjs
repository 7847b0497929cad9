// Small, dependency-free helpers for the set-up script: it runs before
// `npm ci`, so it may only use Node's standard library.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** An error whose message tells the user what to run or fix. */
export class SetupError extends Error {
	constructor(message) {
		super(message);
		this.name = 'SetupError';
	}
}

export function log(message) {
	process.stderr.write(`[setup] ${message}\n`);
}

/** Where built artefacts that outlive a clone live (the worker binary, meson). */
export function cacheRoot() {
	if (process.env.SFU_CACHE_DIR) return process.env.SFU_CACHE_DIR;
	const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
	return join(base, 'sfu-server');
}

/**
 * Runs a command, streaming its output unless `capture` is set.
 * Throws a SetupError naming the command when it fails.
 */
export function run(command, args, { cwd, env, capture = false, allowFailure = false } = {}) {
	const result = spawnSync(command, args, {
		cwd,
		env: env ? { ...process.env, ...env } : process.env,
		stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
		encoding: 'utf8',
		maxBuffer: 64 * 1024 * 1024,
	});
	if (result.error) {
		if (allowFailure) return result;
		throw new SetupError(`could not run '${command}': ${result.error.message}`);
	}
	if (result.status !== 0 && !allowFailure) {
		const detail = capture ? `\n${(result.stderr || result.stdout || '').trim().slice(-4000)}` : '';
		throw new SetupError(`'${command} ${args.join(' ')}' exited with ${result.status}${detail}`);
	}
	return result;
}

export function commandExists(command) {
	return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function isRoot() {
	return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Debian packages from `names` that are not installed. */
export function missingDebianPackages(names) {
	if (!commandExists('dpkg-query')) return names;
	const result = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...names], { encoding: 'utf8' });
	const installed = new Set(
		(result.stdout || '')
			.split('\n')
			.filter((line) => line.endsWith(' install ok installed'))
			.map((line) => line.split(' ')[0].split(':')[0])
	);
	return names.filter((name) => !installed.has(name));
}

let aptUpdated = false;

/** Installs missing Debian packages, or explains exactly what to run when it cannot. */
export function ensureDebianPackages(names, purpose) {
	const missing = missingDebianPackages(names);
	if (missing.length === 0) return;
	const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
	if (!commandExists('apt-get')) {
		throw new SetupError(`${purpose} needs these Debian packages, and apt-get is not available: ${missing.join(' ')}. Install their equivalents for your system.`);
	}
	if (!isRoot()) {
		throw new SetupError(`${purpose} needs Debian packages that are missing. Run as root:\n  ${command}\nthen run this command again.`);
	}
	log(`installing Debian packages for ${purpose}: ${missing.join(' ')}`);
	const env = { DEBIAN_FRONTEND: 'noninteractive' };
	if (!aptUpdated) {
		run('apt-get', ['update', '-qq'], { env });
		aptUpdated = true;
	}
	run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

/** sha256 over the contents of the given files and directories (recursively, sorted). */
export function hashPaths(paths, { ignore = () => false } = {}) {
	const hash = createHash('sha256');
	const visit = (path) => {
		if (!existsSync(path) || ignore(path)) return;
		if (statSync(path).isDirectory()) {
			for (const entry of readdirSync(path).sort()) visit(join(path, entry));
			return;
		}
		hash.update(path);
		hash.update('\0');
		hash.update(readFileSync(path));
		hash.update('\0');
	};
	for (const path of paths) visit(path);
	return hash.digest('hex');
}

export function readStamp(path) {
	return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

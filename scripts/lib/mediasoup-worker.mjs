// Builds mediasoup's C++ worker from the npm package's own sources against
// Debian's libraries, without any download from GitHub or wrapdb, and caches
// the binary outside the clone. See DESIGN.md §3 and the README ("The mediasoup
// worker") for why it is done this way.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { SetupError, cacheRoot, ensureDebianPackages, log, run } from './system.mjs';

/** Packages needed to compile the worker (libraries are linked dynamically, except libsrtp). */
export const WORKER_BUILD_PACKAGES = [
	'g++', 'make', 'python3', 'pkg-config', 'dpkg-dev',
	'libuv1-dev', 'libssl-dev', 'libusrsctp-dev', 'libabsl-dev', 'nlohmann-json3-dev',
];

const SRTP_SOURCE_PACKAGE = 'libsrtp2';

/**
 * Meson subprojects that stand in for mediasoup's wraps. Each exports the
 * variables mediasoup's meson.build reads; `*_lib` variables are linked with
 * `link_whole`, so they are empty static libraries and the real (shared)
 * library arrives through the `dependency()`.
 */
function shimSubprojects() {
	const dummy = (name) => `${name} = static_library('${name}_shim', 'empty.c')\n`;
	return {
		'openssl-3.0.8': {
			build: `project('openssl-shim', 'c')
openssl_dep = dependency('openssl')
libcrypto_dep = dependency('libcrypto')
libssl_dep = dependency('libssl')
${dummy('libcrypto_lib')}${dummy('libssl_lib')}`,
		},
		'nlohmann_json-3.10.5': {
			build: `project('nlohmann_json-shim', 'c')
nlohmann_json_dep = dependency('nlohmann_json')
`,
		},
		'libuv-v1.44.2': {
			build: `project('libuv-shim', 'c')
libuv_dep = dependency('libuv')
${dummy('libuv')}`,
			options: `option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)
`,
		},
		'usrsctp-4e06feb01cadcd127d119486b98a4bd3d64aa1e7': {
			build: `project('usrsctp-shim', 'c')
usrsctp_dep = dependency('usrsctp')
${dummy('usrsctp')}`,
			options: `option('sctp_build_programs', type: 'boolean', value: false)
`,
		},
		'abseil-cpp-20220623.0': {
			build: `project('abseil-shim', 'c', 'cpp')
absl_container_dep = dependency('absl_flat_hash_map')
absl_strings_dep = dependency('absl_strings')
absl_types_dep = dependency('absl_optional')
${dummy('absl_container_lib')}`,
		},
		'Catch2-2.13.7': {
			// Only the worker's own unit tests use Catch2, and they are not built.
			build: `project('catch2-shim', 'cpp')
catch2_dep = declare_dependency()
`,
		},
	};
}

function mesonEnv(pipDir) {
	// Older ninja wheels keep the binary under ninja/data/bin and put a Python wrapper in bin/.
	const legacyNinja = join(pipDir, 'ninja', 'data', 'bin', 'ninja');
	return {
		PYTHONPATH: pipDir,
		NINJA: existsSync(legacyNinja) ? legacyNinja : join(pipDir, 'bin', 'ninja'),
		PATH: `${join(pipDir, 'bin')}:${process.env.PATH}`,
	};
}

/** meson ≥ 1.1 and ninja through pip, into the cache (Debian's meson is 1.0). */
function ensureMeson() {
	const pipDir = join(cacheRoot(), 'pip');
	const meson = join(pipDir, 'bin', 'meson');
	if (existsSync(meson) && existsSync(mesonEnv(pipDir).NINJA)) return { meson, env: mesonEnv(pipDir) };
	if (run('python3', ['-m', 'pip', '--version'], { capture: true, allowFailure: true }).status !== 0) {
		ensureDebianPackages(['python3-pip'], 'installing meson');
	}
	log('installing meson and ninja with pip');
	// pip's default index may be unreachable: fail fast on it instead of retrying for minutes.
	run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '0', '--timeout', '5',
		'--upgrade', '--target', pipDir, 'meson>=1.1', 'ninja']);
	if (!existsSync(meson)) throw new SetupError(`pip did not install meson into ${pipDir}; try: python3 -m pip install --target ${pipDir} meson ninja`);
	return { meson, env: mesonEnv(pipDir) };
}

/**
 * Debian's libsrtp2 *source* package, which carries upstream's meson.build.
 * A private apt configuration adds bookworm's deb-src without touching the system's sources.
 */
function fetchSrtpSource(workDir) {
	const aptDir = join(workDir, 'apt');
	mkdirSync(join(aptDir, 'lists', 'partial'), { recursive: true });
	mkdirSync(join(aptDir, 'cache', 'archives', 'partial'), { recursive: true });
	const mirror = process.env.SFU_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
	writeFileSync(join(aptDir, 'sources.list'), `deb-src ${mirror} bookworm main\n`);
	const options = [
		'-o', `Dir::Etc::SourceList=${join(aptDir, 'sources.list')}`,
		'-o', 'Dir::Etc::SourceParts=/nonexistent',
		'-o', `Dir::State::Lists=${join(aptDir, 'lists')}`,
		'-o', `Dir::Cache=${join(aptDir, 'cache')}`,
		'-o', 'APT::Sandbox::User=root',
		'-qq',
	];
	log(`fetching Debian's ${SRTP_SOURCE_PACKAGE} source package`);
	run('apt-get', [...options, 'update']);
	const srcDir = join(workDir, 'src');
	rmSync(srcDir, { recursive: true, force: true });
	mkdirSync(srcDir, { recursive: true });
	run('apt-get', [...options, 'source', SRTP_SOURCE_PACKAGE], { cwd: srcDir, capture: true });
	const dsc = readdirSync(srcDir).find((name) => name.endsWith('.dsc'));
	const unpacked = readdirSync(srcDir).find((name) => statSync(join(srcDir, name)).isDirectory());
	if (!dsc || !unpacked) throw new SetupError(`apt-get source ${SRTP_SOURCE_PACKAGE} did not unpack a source tree in ${srcDir}`);
	const version = dsc.replace(`${SRTP_SOURCE_PACKAGE}_`, '').replace(/\.dsc$/, '');
	if (!existsSync(join(srcDir, unpacked, 'meson.build'))) {
		throw new SetupError(`${SRTP_SOURCE_PACKAGE} ${version} has no meson.build; mediasoup needs libsrtp 2.5.x`);
	}
	return { dir: join(srcDir, unpacked), version };
}

/** The libraries the worker links dynamically, from `ldd`; throws if one is missing. */
export function checkWorkerLinkage(binary) {
	const { stdout } = run('ldd', [binary], { capture: true });
	const missing = stdout.split('\n').filter((line) => line.includes('not found'));
	if (missing.length > 0) {
		throw new SetupError(`the mediasoup worker ${binary} needs libraries that are not installed:\n${missing.join('\n')}\nInstall: apt-get install -y libuv1 libssl3 libusrsctp2 libabsl20220623`);
	}
	if (/libsrtp2\.so/.test(stdout)) {
		throw new SetupError(`the mediasoup worker ${binary} links Debian's NSS-based libsrtp2.so; it must use libsrtp built with OpenSSL (delete it and run set-up again)`);
	}
	return stdout;
}

function buildWorker(mediasoupDir, version, workDir) {
	ensureDebianPackages(WORKER_BUILD_PACKAGES, 'building the mediasoup worker');
	const { meson, env } = ensureMeson();
	const srtp = fetchSrtpSource(workDir);

	const workerDir = join(workDir, `mediasoup-${version}`, 'worker');
	rmSync(join(workDir, `mediasoup-${version}`), { recursive: true, force: true });
	cpSync(join(mediasoupDir, 'worker'), workerDir, { recursive: true });
	const subprojects = join(workerDir, 'subprojects');
	for (const [dir, { build, options }] of Object.entries(shimSubprojects())) {
		mkdirSync(join(subprojects, dir), { recursive: true });
		writeFileSync(join(subprojects, dir, 'meson.build'), build);
		writeFileSync(join(subprojects, dir, 'empty.c'), '// intentionally empty: see scripts/lib/mediasoup-worker.mjs\n');
		if (options) writeFileSync(join(subprojects, dir, 'meson_options.txt'), options);
	}
	// The wrap names the directory meson looks for before it would download.
	const srtpWrap = readFileSync(join(subprojects, 'libsrtp2.wrap'), 'utf8');
	const srtpDirName = /^directory\s*=\s*(\S+)/m.exec(srtpWrap)?.[1];
	if (!srtpDirName) throw new SetupError('cannot read the libsrtp2 directory from mediasoup\'s wrap file');
	cpSync(srtp.dir, join(subprojects, srtpDirName), { recursive: true });

	const buildDir = join(workerDir, 'out', 'build');
	log(`building mediasoup ${version} worker (libsrtp ${srtp.version} with OpenSSL; a few minutes on 2 cores)`);
	const started = Date.now();
	run(meson, ['setup', '--wrap-mode=nodownload', '--buildtype', 'release', '-Db_ndebug=true', '-Db_pie=true', '-Db_staticpic=true', buildDir],
		{ cwd: workerDir, env });
	run(meson, ['compile', '-C', buildDir, '-j', String(Math.max(1, cpus().length)), 'mediasoup-worker'], { cwd: workerDir, env });
	log(`worker built in ${Math.round((Date.now() - started) / 1000)} s`);
	return { binary: join(buildDir, 'mediasoup-worker'), srtpVersion: srtp.version };
}

function findCachedWorker(workersDir, version) {
	if (!existsSync(workersDir)) return undefined;
	for (const entry of readdirSync(workersDir).sort().reverse()) {
		if (!entry.startsWith(`mediasoup-${version}_libsrtp2-`)) continue;
		const binary = join(workersDir, entry, 'mediasoup-worker');
		if (existsSync(binary) && existsSync(join(workersDir, entry, 'build.json'))) return binary;
	}
	return undefined;
}

function sameFile(a, b) {
	if (!existsSync(a) || !existsSync(b)) return false;
	const [sa, sb] = [statSync(a), statSync(b)];
	return sa.size === sb.size && Math.abs(sa.mtimeMs - sb.mtimeMs) < 1;
}

/**
 * Makes sure node_modules/mediasoup has a worker built against Debian's
 * libraries: from the cache when one exists for this mediasoup version,
 * otherwise built now and stored in the cache.
 * @returns {string} path of the installed binary
 */
export function ensureMediasoupWorker(projectDir) {
	const mediasoupDir = join(projectDir, 'node_modules', 'mediasoup');
	const pkgPath = join(mediasoupDir, 'package.json');
	if (!existsSync(pkgPath)) throw new SetupError('node_modules/mediasoup is missing; npm ci did not install it');
	const { version } = JSON.parse(readFileSync(pkgPath, 'utf8'));
	const workersDir = join(cacheRoot(), 'workers');

	let cached = findCachedWorker(workersDir, version);
	if (cached) {
		try {
			checkWorkerLinkage(cached);
		} catch (error) {
			log(`cached worker ${cached} is unusable, rebuilding: ${error.message.split('\n')[0]}`);
			cached = undefined;
		}
	}
	if (!cached) {
		const workDir = join(cacheRoot(), 'build');
		mkdirSync(workDir, { recursive: true });
		const { binary, srtpVersion } = buildWorker(mediasoupDir, version, workDir);
		const linkage = checkWorkerLinkage(binary);
		const entryDir = join(workersDir, `mediasoup-${version}_libsrtp2-${srtpVersion}`);
		const tmpDir = `${entryDir}.tmp-${process.pid}`;
		mkdirSync(tmpDir, { recursive: true });
		copyFileSync(binary, join(tmpDir, 'mediasoup-worker'));
		chmodSync(join(tmpDir, 'mediasoup-worker'), 0o755);
		writeFileSync(join(tmpDir, 'build.json'), `${JSON.stringify({
			mediasoup: version,
			libsrtp2Source: srtpVersion,
			cryptoLibrary: 'openssl',
			builtAt: new Date().toISOString(),
			ldd: linkage.split('\n').map((line) => line.trim()).filter(Boolean),
		}, null, 2)}\n`);
		rmSync(entryDir, { recursive: true, force: true });
		renameSync(tmpDir, entryDir);
		rmSync(join(workDir, `mediasoup-${version}`), { recursive: true, force: true });
		cached = join(entryDir, 'mediasoup-worker');
	}

	const installed = join(mediasoupDir, 'worker', 'out', 'Release', 'mediasoup-worker');
	if (!sameFile(cached, installed)) {
		mkdirSync(join(mediasoupDir, 'worker', 'out', 'Release'), { recursive: true });
		copyFileSync(cached, installed);
		chmodSync(installed, 0o755);
		const { atime, mtime } = statSync(cached);
		// Same mtime as the cache entry, so the next set-up can tell it is current without hashing.
		utimesSync(installed, atime, mtime);
		log(`installed worker from ${cached}`);
	}
	return installed;
}

import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, loadConfig, projectRoot, settingPaths } from '../../../server/config.js';

const load = (env: Record<string, string> = {}, overrides = {}) => loadConfig({ env, file: null, overrides });

function errorOf(fn: () => unknown): ConfigError {
	try {
		fn();
	} catch (error) {
		if (error instanceof ConfigError) return error;
		throw error;
	}
	throw new Error('expected a ConfigError');
}

describe('configuration', () => {
	it('runs on the defaults: one worker per core, paths made absolute', () => {
		const config = load();
		expect(config.mediasoup.numWorkers).toBe(availableParallelism());
		expect(config.http.listenPort).toBe(4443);
		expect(config.http.tls.selfSignedDir).toBe(join(projectRoot(), 'data', 'tls'));
	});

	it('names every setting by an SFU_ environment variable', () => {
		expect(envName(['http', 'listenPort'])).toBe('SFU_HTTP_LISTEN_PORT');
		expect(envName(['mediasoup', 'webRtcServerPort'])).toBe('SFU_MEDIASOUP_WEB_RTC_SERVER_PORT');
		const config = load({ SFU_HTTP_LISTEN_PORT: '8443', SFU_MEDIASOUP_NUM_WORKERS: '3', SFU_MEDIASOUP_ANNOUNCED_ADDRESS: 'sfu.example.org', SFU_LOG_LEVEL: 'debug' });
		expect(config.http.listenPort).toBe(8443);
		expect(config.mediasoup.numWorkers).toBe(3);
		expect(config.mediasoup.announcedAddress).toBe('sfu.example.org');
		expect(config.log.level).toBe('debug');
	});

	it('stops on a bad value with the setting, its source and what is allowed', () => {
		const error = errorOf(() => load({ SFU_HTTP_LISTEN_PORT: '70000' }));
		expect(error.message).toContain('"http.listenPort" (from SFU_HTTP_LISTEN_PORT)');
		expect(error.message).toContain('70000');
		expect(error.message).toMatch(/65535/);

		const level = errorOf(() => load({ SFU_LOG_LEVEL: 'loud' }));
		expect(level.message).toContain('"log.level"');
		expect(level.message).toMatch(/info/);

		const ip = errorOf(() => load({}, { mediasoup: { listenIp: 'not-an-ip' } }));
		expect(ip.message).toContain('"mediasoup.listenIp"');

		const ports = errorOf(() => load({}, { mediasoup: { rtcMinPort: 50000, rtcMaxPort: 40000 } }));
		expect(ports.message).toContain('"mediasoup.rtcMinPort"');
		expect(ports.message).toContain('rtcMaxPort');

		const tls = errorOf(() => load({}, { http: { tls: { certFile: '/etc/cert.pem' } } }));
		expect(tls.message).toContain('"http.tls.certFile"');
	});

	it('rejects unknown settings in a local file, naming the file', () => {
		const dir = mkdtempSync(join(tmpdir(), 'sfu-config-'));
		const file = join(dir, 'local.json');
		writeFileSync(file, JSON.stringify({ http: { listenPort: 9000, listenPrt: 1 } }));
		const error = errorOf(() => loadConfig({ env: {}, file }));
		expect(error.message).toContain('unknown setting http.listenPrt');

		writeFileSync(file, JSON.stringify({ rooms: { maxPeersPerRoom: 0 } }));
		expect(errorOf(() => loadConfig({ env: {}, file })).message).toContain(`"rooms.maxPeersPerRoom" (from ${file})`);

		writeFileSync(file, JSON.stringify({ rooms: { maxPeersPerRoom: 12 } }));
		expect(loadConfig({ env: {}, file }).rooms.maxPeersPerRoom).toBe(12);
		expect(loadConfig({ env: { SFU_CONFIG: file } }).rooms.maxPeersPerRoom).toBe(12);
	});

	it('documents every setting in config/README.md', () => {
		const defaults = JSON.parse(readFileSync(join(projectRoot(), 'config', 'default.json'), 'utf8'));
		const readme = readFileSync(join(projectRoot(), 'config', 'README.md'), 'utf8');
		for (const path of settingPaths(defaults)) {
			expect(readme, `config/README.md documents ${path.join('.')}`).toContain(`\`${path.join('.')}\``);
			expect(readme, `config/README.md names ${envName(path)}`).toContain(envName(path));
		}
	});
});

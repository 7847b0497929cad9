/**
 * The server as users run it: `node dist/server/main.js` (what `npm start`
 * runs after set-up), configured by environment variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/config.js';
import { TestPeer } from '../helpers/TestPeer.js';
import { waitFor } from '../helpers/server.js';

const entry = join(projectRoot(), 'dist', 'server', 'main.js');

type LogLine = { level: string; event?: string; msg: string; url?: string; workerPids?: number[] } & Record<string, unknown>;

function startProcess(env: Record<string, string>): { child: ChildProcess; lines: LogLine[]; exited: Promise<number | null> } {
	if (!existsSync(entry)) throw new Error(`${entry} is missing: run the set-up (npm test does) to compile the server`);
	const child = spawn(process.execPath, [entry], {
		env: {
			PATH: process.env.PATH,
			SFU_HTTP_LISTEN_HOST: '127.0.0.1',
			SFU_HTTP_LISTEN_PORT: '0',
			SFU_HTTP_TLS_SELF_SIGNED_DIR: join(tmpdir(), 'sfu-server-test-tls'),
			SFU_MEDIASOUP_NUM_WORKERS: '1',
			SFU_MEDIASOUP_LISTEN_IP: '127.0.0.1',
			SFU_MEDIASOUP_WEB_RTC_SERVER_PORT: '0',
			...env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const lines: LogLine[] = [];
	let buffer = '';
	child.stdout!.on('data', (chunk: Buffer) => {
		buffer += chunk.toString();
		const parts = buffer.split('\n');
		buffer = parts.pop()!;
		for (const part of parts) if (part.trim()) lines.push(JSON.parse(part));
	});
	const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
	return { child, lines, exited };
}

const alive = (pid: number) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

describe('the server process', () => {
	it('shuts down gracefully on SIGINT: tells peers, closes workers, exits 0', async () => {
		const { child, lines, exited } = startProcess({});
		const ready = await waitFor('server-ready log line', () => lines.find((l) => l.event === 'server-ready'));
		expect(ready.msg).toBe('server ready');
		const wsUrl = ready.url!.replace('https://', 'wss://');
		const peer = await TestPeer.connect(wsUrl, 'shutdown', 'p1');
		await peer.request('join', { displayName: 'P1' });

		const started = Date.now();
		child.kill('SIGINT');
		await peer.waitForNotification('reconnectRequired', (n) => n.reason === 'server-shutdown');
		expect(await exited).toBe(0);
		expect(Date.now() - started).toBeLessThan(5000);
		expect(lines.some((l) => l.event === 'server-stopped')).toBe(true);
		for (const pid of ready.workerPids!) await waitFor(`worker ${pid} gone`, () => !alive(pid));
		// Every line is one JSON event with a level and a message.
		expect(lines.every((l) => typeof l.level === 'string' && typeof l.msg === 'string')).toBe(true);
	});

	it('drains on SIGTERM: the meeting runs on, no new room opens, and the process exits 0 when the meeting ends', async () => {
		const { child, lines, exited } = startProcess({ SFU_ROOMS_EMPTY_ROOM_GRACE_MS: '200' });
		const ready = await waitFor('server-ready log line', () => lines.find((l) => l.event === 'server-ready'));
		const wsUrl = ready.url!.replace('https://', 'wss://');
		const peer = await TestPeer.connect(wsUrl, 'meeting', 'p1');
		await peer.request('join', { displayName: 'P1' });

		child.kill('SIGTERM');
		await waitFor('server-draining log line', () => lines.find((l) => l.event === 'server-draining'));
		const elsewhere = await TestPeer.connect(wsUrl, 'another', 'p2');
		expect((await elsewhere.requestError('getRouterRtpCapabilities', {})).code).toBe(503);
		elsewhere.close();
		// The meeting still works.
		expect(await peer.request('ping', {})).toEqual({ serverTime: expect.any(Number) });
		const late = await TestPeer.connect(wsUrl, 'meeting', 'p3');
		await late.request('join', { displayName: 'P3' });
		await peer.waitForNotification('newPeer', (n) => n.id === 'p3');

		const ended = Date.now();
		peer.close();
		late.close();
		expect(await exited).toBe(0);
		expect(Date.now() - ended).toBeLessThan(5000);
		expect(lines.find((l) => l.event === 'server-drained')?.roomsLeft).toBe(0);
		expect(peer.received('reconnectRequired')).toEqual([]);
		for (const pid of ready.workerPids!) await waitFor(`worker ${pid} gone`, () => !alive(pid));
	});

	it('refuses to start with a bad setting, naming it and where it came from', async () => {
		const { lines, exited } = startProcess({ SFU_HTTP_LISTEN_PORT: 'eighty', SFU_MEDIASOUP_WORKER_LOG_LEVEL: 'chatty' });
		expect(await exited).toBe(1);
		const fatal = lines.find((l) => l.event === 'config-invalid');
		expect(fatal?.level).toBe('fatal');
		expect(fatal?.msg).toContain('"http.listenPort" (from SFU_HTTP_LISTEN_PORT)');
		expect(fatal?.msg).toContain('"mediasoup.workerLogLevel" (from SFU_MEDIASOUP_WORKER_LOG_LEVEL)');
	});
});

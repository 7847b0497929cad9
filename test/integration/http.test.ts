/** HTTP endpoints: health, Prometheus metrics, the rooms API, and the web client's static files. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import type { HealthReport, HttpApi } from '../../server/signalling/protocol.js';
import { chromium, joinRoom, withMid } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';

let server: SfuServer;
const webDistDir = mkdtempSync(join(tmpdir(), 'sfu-web-'));

beforeAll(async () => {
	writeFileSync(join(webDistDir, 'index.html'), '<!doctype html><title>SFU test page</title>');
	server = await startTestServer({ mediasoup: { numWorkers: 2 }, http: { webDistDir } });
});

afterAll(async () => {
	await server.close();
});

/** The value of one Prometheus sample, e.g. metric('sfu_rooms') or metric('sfu_peers', 'kind="webrtc"'). */
function metric(text: string, name: string, labels?: string): number | undefined {
	const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{` : `${name} `) && (!labels || l.includes(labels)));
	return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('HTTP', () => {
	it('reports health with every worker', async () => {
		const { status, json } = await http<HealthReport>(server, 'GET', '/healthz');
		expect(status).toBe(200);
		expect(json).toMatchObject({ status: 'ok', expectedWorkers: 2, rooms: 0, peers: 0 });
		expect(json.workers.map((w) => w.pid).sort()).toEqual(server.pool.workers.map((w) => w.pid).sort());
	});

	it('lists rooms and exports metrics of what is live', async () => {
		const a = await joinRoom(server, 'metrics', 'a');
		const b = await joinRoom(server, 'metrics', 'b');
		await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0) });
		await a.peer.request('produce', { transportId: a.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1) });
		await waitFor('b consumes both', () => server.rooms.get('metrics')!.peers.get('b')!.consumers.size === 2);
		await a.peer.requestError('noSuchMethod', {});

		const rooms = await http<HttpApi['listRooms']['response']>(server, 'GET', '/api/rooms');
		expect(rooms.json.rooms).toEqual([expect.objectContaining({ id: 'metrics', peers: 2, broadcasters: 0, producers: 2, consumers: 2 })]);

		const { status, text, headers } = await http(server, 'GET', '/metrics');
		expect(status).toBe(200);
		expect(headers['content-type']).toContain('text/plain');
		expect(metric(text, 'sfu_workers')).toBe(2);
		expect(metric(text, 'sfu_rooms')).toBe(1);
		expect(metric(text, 'sfu_peers', 'kind="webrtc"')).toBe(2);
		expect(metric(text, 'sfu_producers')).toBe(2);
		expect(metric(text, 'sfu_consumers')).toBe(2);
		for (const worker of server.pool.workers) {
			expect(metric(text, 'sfu_worker_cpu_percent', `pid="${worker.pid}"`)).toBeGreaterThanOrEqual(0);
		}
		expect(metric(text, 'sfu_signalling_requests_total', 'method="join",outcome="ok"')).toBe(2);
		expect(metric(text, 'sfu_signalling_requests_total', 'method="unknown",outcome="405"')).toBe(1);
		expect(metric(text, 'sfu_node_process_resident_memory_bytes')).toBeGreaterThan(0);
		a.peer.close();
		b.peer.close();
	});

	it('serves the web client', async () => {
		const page = await http(server, 'GET', '/');
		expect(page.status).toBe(200);
		expect(page.text).toContain('SFU test page');
		expect(page.headers['cache-control']).toBe('no-cache');
	});
});

/**
 * The HTTP API's credentials and what it lets a caller do with a
 * PlainTransport: bearer keys and service tokens, the admin listing, the
 * address allow-list, one consumer per producer, and what /metrics and
 * /healthz show to anyone.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types as ms } from 'mediasoup';
import type { SfuServer } from '../../server/server.js';
import type { HttpApi } from '../../server/signalling/protocol.js';
import { joinRoom, tokenFor } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';

const SERVICE_KEY = 'service-key-0123456789abcdefghij';
const ADMIN_KEY = 'admin-key-0123456789abcdefghijkl';
const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

let server: SfuServer;
let guarded: SfuServer;

beforeAll(async () => {
	[server, guarded] = await Promise.all([
		startTestServer({ auth: { secret: 'http-auth-test-secret-0123456789abcdef', serviceApiKeys: [SERVICE_KEY], adminApiKeys: [ADMIN_KEY] } }),
		// Media may be sent only to 10.0.0.0/8: loopback sources and targets are refused.
		startTestServer({ auth: { serviceApiKeys: [SERVICE_KEY], plainTransportAllowList: ['10.0.0.0/8'] } }),
	]);
});

afterAll(async () => {
	await Promise.all([server.close(), guarded.close()]);
});

const opus: ms.RtpParameters = {
	codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
	encodings: [{ ssrc: 1111 }],
};

async function ok<K extends keyof HttpApi>(target: SfuServer, method: string, path: string, body: unknown, credential = SERVICE_KEY): Promise<HttpApi[K]['response']> {
	const result = await http<HttpApi[K]['response']>(target, method, path, body, bearer(credential));
	if (result.status !== 200) throw new Error(`${method} ${path}: ${result.status} ${result.text}`);
	return result.json;
}

describe('HTTP API credentials', () => {
	it('refuses every broadcaster route without a valid credential (401), before anything is created', async () => {
		const routes: [string, string][] = [
			['GET', '/api/rooms/creds'],
			['POST', '/api/rooms/creds/broadcasters'],
			['DELETE', '/api/rooms/creds/broadcasters/b'],
			['POST', '/api/rooms/creds/broadcasters/b/transports'],
			['POST', '/api/rooms/creds/broadcasters/b/transports/t/connect'],
			['POST', '/api/rooms/creds/broadcasters/b/transports/t/producers'],
			['POST', '/api/rooms/creds/broadcasters/b/transports/t/consume'],
			['POST', '/api/rooms/creds/broadcasters/b/transports/t/produce/data'],
			['POST', '/api/rooms/creds/broadcasters/b/transports/t/consume/data'],
			['POST', '/api/rooms/creds/broadcasters/b/consumers/c/resume'],
			['POST', '/rooms/creds/broadcasters'],
		];
		const body = { id: 'b', displayName: 'bot' };
		for (const [method, path] of routes) {
			for (const authorization of [null, 'Bearer wrong-key-0123456789abcdefghij', 'Basic dXNlcjpwYXNz', `Bearer ${ADMIN_KEY}`]) {
				const result = await http(server, method, path, method === 'POST' ? body : undefined, { authorization });
				expect(result.status, `${method} ${path} with ${authorization}`).toBe(401);
				expect(result.json.error).toBeTruthy();
			}
		}
		expect(server.rooms.get('creds')).toBeUndefined();
	});

	it('lists rooms only for an admin key', async () => {
		expect((await http(server, 'GET', '/api/rooms', undefined, { authorization: null })).status).toBe(401);
		expect((await http(server, 'GET', '/api/rooms', undefined, bearer(SERVICE_KEY))).status).toBe(401);
		const listed = await http<HttpApi['listRooms']['response']>(server, 'GET', '/api/rooms', undefined, bearer(ADMIN_KEY));
		expect(listed.status).toBe(200);
		expect(Array.isArray(listed.json.rooms)).toBe(true);
	});

	it('lets a service token act as its own broadcaster in its own room, and as nobody else', async () => {
		const token = await tokenFor(server, 'svc', 'recorder', 'service');
		await ok<'createBroadcaster'>(server, 'POST', '/api/rooms/svc/broadcasters', { id: 'recorder', displayName: 'Recorder' }, token);
		const transport = await ok<'createPlainTransport'>(server, 'POST', '/api/rooms/svc/broadcasters/recorder/transports', { comedia: true }, token);
		expect(transport.ip).toBe('127.0.0.1');

		const impersonate = await http(server, 'POST', '/api/rooms/svc/broadcasters', { id: 'someone-else', displayName: 'x' }, bearer(token));
		expect(impersonate.status).toBe(403);
		await ok(server, 'POST', '/api/rooms/svc/broadcasters', { id: 'other', displayName: 'Other' });
		expect((await http(server, 'DELETE', '/api/rooms/svc/broadcasters/other', undefined, bearer(token))).status).toBe(403);
		expect(server.rooms.get('svc')?.peers.has('other')).toBe(true);

		expect((await http(server, 'GET', '/api/rooms/elsewhere', undefined, bearer(token))).status).toBe(401);
		const participant = await tokenFor(server, 'svc', 'recorder', 'participant');
		const wrongRole = await http(server, 'GET', '/api/rooms/svc', undefined, bearer(participant));
		expect(wrongRole.status).toBe(403);
		expect(wrongRole.json.error).toMatch(/service/);
	});
});

describe('PlainTransports', () => {
	it('send media only to allow-listed addresses, never to multicast, broadcast or unspecified ones', async () => {
		await ok(server, 'POST', '/api/rooms/egress/broadcasters', { id: 'out', displayName: 'Out' });
		const transport = await ok<'createPlainTransport'>(server, 'POST', '/api/rooms/egress/broadcasters/out/transports', { comedia: false });
		const connect = (ip: string) => http(server, 'POST', `/api/rooms/egress/broadcasters/out/transports/${transport.id}/connect`, { ip, port: 5004 }, bearer(SERVICE_KEY));
		for (const ip of ['224.0.0.1', '239.255.255.250', '255.255.255.255', '0.0.0.0', '8.8.8.8', '192.168.1.10', 'ff02::1', '::']) {
			const refused = await connect(ip);
			expect(refused.status, ip).toBe(403);
			expect(refused.json.error, ip).toMatch(/AllowList|never sent/);
		}
		expect((await connect('127.0.0.1')).status).toBe(200);
	});

	it('consume each producer once per transport (no amplification)', async () => {
		const room = '/api/rooms/once';
		await ok(server, 'POST', `${room}/broadcasters`, { id: 'in', displayName: 'In' });
		const ingest = await ok<'createPlainTransport'>(server, 'POST', `${room}/broadcasters/in/transports`, { comedia: true });
		const producer = await ok<'createProducer'>(server, 'POST', `${room}/broadcasters/in/transports/${ingest.id}/producers`, { kind: 'audio', rtpParameters: opus });
		await ok(server, 'POST', `${room}/broadcasters`, { id: 'out', displayName: 'Out' });
		const egress = await ok<'createPlainTransport'>(server, 'POST', `${room}/broadcasters/out/transports`, { comedia: false });
		await ok(server, 'POST', `${room}/broadcasters/out/transports/${egress.id}/consume`, { producerId: producer.id });
		for (let attempt = 0; attempt < 5; attempt++) {
			const again = await http(server, 'POST', `${room}/broadcasters/out/transports/${egress.id}/consume`, { producerId: producer.id }, bearer(SERVICE_KEY));
			expect(again.status).toBe(409);
		}
		expect(server.rooms.get('once')?.peers.get('out')?.consumers.size).toBe(1);
	});

	it('close a comedia transport whose first packet comes from an address off the allow-list', async () => {
		await ok(guarded, 'POST', '/api/rooms/comedia/broadcasters', { id: 'in', displayName: 'In' });
		const transport = await ok<'createPlainTransport'>(guarded, 'POST', '/api/rooms/comedia/broadcasters/in/transports', { comedia: true });
		const socket = createSocket('udp4');
		const packet = Buffer.from([0x80, 100, 0, 1, 0, 0, 0, 1, 0, 0, 0x04, 0x57, 1, 2, 3, 4]);
		await new Promise<void>((resolve, reject) => socket.send(packet, transport.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
		await waitFor('the transport closed', () => guarded.rooms.get('comedia')?.peers.get('in')?.transports.size === 0);
		socket.close();
	});
});

describe('public endpoints', () => {
	it('/metrics and /healthz name no room and no peer', async () => {
		const peer = await joinRoom(server, 'confidential-board-meeting', 'ceo-jane', { role: 'participant' });
		for (const path of ['/metrics', '/healthz']) {
			const result = await http(server, 'GET', path, undefined, { authorization: null });
			expect(result.status, path).toBe(200);
			expect(result.text, path).not.toContain('confidential-board-meeting');
			expect(result.text, path).not.toContain('ceo-jane');
		}
		peer.peer.close();
	});
});

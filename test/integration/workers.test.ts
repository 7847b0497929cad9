/**
 * Several workers: a room that outgrows one router spreads to another worker
 * (media crosses with pipeToRouter); a worker killed with SIGKILL is replaced,
 * its peers rebuild their media in the same session while the others' media
 * never stops, and the process stays up; an emptied room
 * leaves nothing behind on any worker.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types as ms } from 'mediasoup';
import type { SfuServer } from '../../server/server.js';
import type { HealthReport, HttpApi } from '../../server/signalling/protocol.js';
import { chromium, joinRoom, withMid, type JoinedPeer } from '../helpers/fixtures.js';
import { http, post as postJson } from '../helpers/http.js';
import { rtpPacket, rtpReceiver } from '../helpers/rtp.js';
import { startTestServer, waitFor } from '../helpers/server.js';

let server: SfuServer;

beforeAll(async () => {
	// Two consumers per router before a room spills to the other worker.
	server = await startTestServer({ mediasoup: { numWorkers: 2, routerConsumerSoftLimit: 2 } });
});

afterAll(async () => {
	await server.close();
});

const post = <K extends keyof HttpApi>(path: string, body: unknown) => postJson<K>(server, path, body);

/** Routers, transports and consumers on every worker, from the workers themselves. */
async function workerContents(): Promise<{ routers: number; transports: number; consumers: number }> {
	let routers = 0;
	let transports = 0;
	let consumers = 0;
	for (const { worker } of server.pool.workers) {
		const dump = await worker.dump();
		routers += dump.routerIds.length;
		for (const routerId of dump.routerIds) {
			const room = server.rooms.rooms().flatMap((r) => r.routers).find((r) => r.router.id === routerId);
			if (!room) continue;
			const routerDump = await room.router.dump();
			transports += routerDump.transportIds.length;
			consumers += Object.keys(routerDump.mapConsumerIdProducerId).length;
		}
	}
	return { routers, transports, consumers };
}

describe('rooms over several workers', () => {
	it('spreads a growing stream over both workers and pipes the media across', async () => {
		const room = '/api/rooms/stream';
		await post<'createBroadcaster'>(`${room}/broadcasters`, { id: 'presenter', displayName: 'Presenter' });
		const ingest = await post<'createPlainTransport'>(`${room}/broadcasters/presenter/transports`, { comedia: true });
		const opus: ms.RtpParameters = { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 4242 }] };
		const { id: producerId } = await post<'createProducer'>(`${room}/broadcasters/presenter/transports/${ingest.id}/producers`, { kind: 'audio', rtpParameters: opus });

		// Viewers join one by one; each consumes the presenter's audio.
		const receivers: Awaited<ReturnType<typeof rtpReceiver>>[] = [];
		for (let i = 0; i < 4; i++) {
			const receiver = await rtpReceiver();
			receivers.push(receiver);
			await post<'createBroadcaster'>(`${room}/broadcasters`, { id: `viewer${i}`, displayName: `Viewer ${i}` });
			const t = await post<'createPlainTransport'>(`${room}/broadcasters/viewer${i}/transports`, { comedia: false, enableSrtp: true });
			await post<'connectPlainTransport'>(`${room}/broadcasters/viewer${i}/transports/${t.id}/connect`, {
				ip: '127.0.0.1',
				port: receiver.port,
				srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') },
			});
			await post<'createConsumer'>(`${room}/broadcasters/viewer${i}/transports/${t.id}/consume`, { producerId });
		}
		const summary = server.rooms.get('stream')!.summary();
		expect(new Set(summary.workerPids).size).toBe(2);

		const sender = createSocket('udp4');
		for (let i = 0; i < 50; i++) {
			sender.send(rtpPacket({ payloadType: 100, sequenceNumber: i, timestamp: i * 960, ssrc: 4242, payload: Buffer.alloc(80, 1) }), ingest.port, ingest.ip);
			await new Promise((resolve) => setTimeout(resolve, 2));
		}
		// Every viewer gets the audio, including those on the other worker (through the pipe).
		await waitFor('every viewer receives all 50 packets', () => receivers.every((r) => [...r.streams.values()].some((s) => s.packets === 50)));
		sender.close();
		for (const receiver of receivers) receiver.close();
		for (const id of ['presenter', 'viewer0', 'viewer1', 'viewer2', 'viewer3']) await http(server, 'DELETE', `${room}/broadcasters/${id}`);
		await waitFor('room closed once empty', () => !server.rooms.get('stream'));
		expect(await workerContents()).toEqual({ routers: 0, transports: 0, consumers: 0 });
	});

	it('leaves no router, transport or consumer behind after all peers of a meeting leave', async () => {
		const peers: JoinedPeer[] = [];
		for (const id of ['a', 'b', 'c']) {
			const joined = await joinRoom(server, 'meeting', id);
			await joined.peer.request('produce', { transportId: joined.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0) });
			await joined.peer.request('produce', { transportId: joined.send.id, kind: 'video', rtpParameters: withMid(chromium.vp8Simulcast, 1) });
			peers.push(joined);
		}
		await waitFor('each peer consumes the other four producers', () => peers.every((p) => p.peer.serverRequestsOf('newConsumer').length === 4));
		expect((await workerContents()).consumers).toBeGreaterThanOrEqual(12);
		for (const joined of peers) joined.peer.close();
		await waitFor('room closed once empty', () => !server.rooms.get('meeting'));
		expect(await workerContents()).toEqual({ routers: 0, transports: 0, consumers: 0 });
	});
});

describe('a worker that stops answering', () => {
	it('gets its requests answered with 503 after requestTimeoutMs, and what it creates late is released', async () => {
		const slow = await startTestServer({ mediasoup: { numWorkers: 1 }, signalling: { requestTimeoutMs: 500 } });
		const worker = slow.pool.workers[0]!;
		try {
			const { peer } = await joinRoom(slow, 'stalled', 'a');
			const serverPeer = slow.rooms.get('stalled')!.peers.get('a')!;
			expect(serverPeer.transports.size).toBe(2);
			process.kill(worker.pid, 'SIGSTOP');
			const error = await peer.requestError('createWebRtcTransport', { producing: true, consuming: false });
			expect(error.code).toBe(503);
			expect(error.message).toContain('signalling.requestTimeoutMs');
			// The peer's next request is not stuck behind the stalled one.
			expect(await peer.request('getRouterRtpCapabilities', {})).toHaveProperty('codecs');
			process.kill(worker.pid, 'SIGCONT');
			await waitFor('the late transport released', async () => {
				const dump = await slow.rooms.get('stalled')!.routers[0]!.router.dump();
				return dump.transportIds.length === 2 && serverPeer.transports.size === 2;
			});
			expect((await peer.request('createWebRtcTransport', { producing: true, consuming: false })).id).toEqual(expect.any(String));
			peer.close();
		} finally {
			try {
				process.kill(worker.pid, 'SIGCONT');
			} catch {
				// already gone
			}
			await slow.close();
		}
	});
});

describe('a worker that dies', () => {
	/** What a client does on `mediaReset`: new transports (on a live worker), and its microphone again. */
	async function rebuild(joined: JoinedPeer): Promise<string> {
		const send = await joined.peer.request('createWebRtcTransport', { producing: true, consuming: false });
		await joined.peer.request('createWebRtcTransport', { producing: false, consuming: true });
		const { id } = await joined.peer.request('produce', { transportId: send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		return id;
	}

	it('is replaced; the sessions on it rebuild their media while the others\' never stops, and nobody leaves', async () => {
		// a, b, c fill the room's first router (2 consumers); d goes to the other worker.
		const [a, b, c] = [await joinRoom(server, 'crash', 'a'), await joinRoom(server, 'crash', 'b'), await joinRoom(server, 'crash', 'c')];
		const mic = await a.peer.request('produce', { transportId: a.send.id, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } });
		const room = server.rooms.get('crash')!;
		await waitFor('b and c consume a', () => room.peers.get('b')!.consumers.size === 1 && room.peers.get('c')!.consumers.size === 1);
		const primaryPid = room.peers.get('a')!.router!.workerPid;
		// Placement sends a spilling peer to the least-loaded worker: a stalled first worker makes that the other one, whatever the idle CPU samples say.
		const primaryIndex = server.pool.workers.find((w) => w.pid === primaryPid)!.index;
		process.kill(primaryPid, 'SIGSTOP');
		let d: JoinedPeer;
		try {
			await waitFor('the first worker reported stalled', () => server.pool.loads()[primaryIndex]!.stalled, { timeoutMs: 5000 });
			d = await joinRoom(server, 'crash', 'd');
		} finally {
			process.kill(primaryPid, 'SIGCONT');
		}
		const otherPid = room.peers.get('d')!.router!.workerPid;
		expect(otherPid).not.toBe(primaryPid);
		await waitFor('d consumes a across workers', () => room.peers.get('d')!.consumers.size === 1);
		const bConsumer = [...room.peers.get('b')!.consumers.values()][0]!;

		// The worker of d dies: d rebuilds; a's media to b and c never stops.
		process.kill(otherPid, 'SIGKILL');
		await d.peer.waitForNotification('mediaReset', (n) => n.reason === 'worker-died');
		await waitFor('d\'s transports gone', () => room.peers.get('d')!.transports.size === 0);
		expect(room.peers.get('d'), 'the session stays').toBeDefined();
		expect(bConsumer.closed).toBe(false);
		for (const peer of [a, b, c]) expect(peer.peer.received('mediaReset')).toEqual([]);
		const dMic = await rebuild(d);
		await waitFor('d is offered a\'s microphone again', () => d.peer.serverRequestsOf('newConsumer').filter((offer) => offer.producerId === mic.id).length === 2);
		await waitFor('a is offered d\'s new microphone', () => a.peer.serverRequestsOf('newConsumer').some((offer) => offer.producerId === dMic));
		expect(bConsumer.closed).toBe(false);

		const health = await waitFor('healthy again with a new worker', async () => {
			const result = await http<HealthReport>(server, 'GET', '/healthz');
			return result.status === 200 && result.json;
		});
		expect(health.workers).toHaveLength(2);
		expect(health.workers.map((w) => w.pid)).not.toContain(otherPid);

		// The room's first router dies: its peers rebuild, the room gets a new first router, d's media stays.
		const dRouterPid = room.peers.get('d')!.router!.workerPid;
		process.kill(primaryPid, 'SIGKILL');
		for (const peer of [a, b, c]) await peer.peer.waitForNotification('mediaReset');
		await waitFor('a new first router', () => room.routers.length >= 1 && room.routers.every((router) => router.workerPid !== primaryPid));
		if (dRouterPid !== primaryPid) expect(d.peer.received('mediaReset')).toHaveLength(1);
		const aMic = await rebuild(a);
		await waitFor('b is offered a\'s new microphone', async () => {
			if (room.peers.get('b')!.transports.size === 0) await rebuild(b);
			return b.peer.serverRequestsOf('newConsumer').some((offer) => offer.producerId === aMic);
		});
		for (const peer of [a, b, c, d]) expect(peer.peer.received('peerClosed'), 'nobody left').toEqual([]);
		expect(server.rooms.get('crash')).toBe(room);
		for (const peer of [a, b, c, d]) peer.peer.close();
		await waitFor('room closed', () => server.rooms.get('crash') === undefined);
	});

	it('reports 503 on /healthz until the worker is replaced, retrying while it cannot be', async () => {
		// A fixed WebRtcServer port that the test can take away from the replacement worker
		// (a listening TCP socket: UDP ports are bound with address reuse and cannot be blocked).
		const probe = createServer();
		await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
		const port = (probe.address() as AddressInfo).port;
		await new Promise((resolve) => probe.close(resolve));
		const single = await startTestServer({ mediasoup: { numWorkers: 1, webRtcServerPort: port } });
		const blocker = createServer();
		let replaceFailures = 0;
		single.pool.on('workerreplacefailed', () => replaceFailures++);
		try {
			const victim = single.pool.workers[0]!;
			const blocked = new Promise<void>((resolve, reject) => {
				// Synchronously on 'workerdied': before the replacement worker process can bind the port.
				single.pool.once('workerdied', () => {
					blocker.once('error', reject);
					blocker.listen(port, '127.0.0.1', () => resolve());
				});
			});
			process.kill(victim.pid, 'SIGKILL');
			await blocked;
			await waitFor('a failed replacement attempt', () => replaceFailures > 0);
			const down = await http<HealthReport>(single, 'GET', '/healthz');
			expect(down.status).toBe(503);
			expect(down.json.status).toBe('degraded');
			expect(down.json.workers).toEqual([expect.objectContaining({ alive: false })]);

			const replaced = new Promise<void>((resolve) => single.pool.once('workerready', () => resolve()));
			blocker.close();
			await replaced;
			expect(replaceFailures).toBeGreaterThan(0);
			const up = await http<HealthReport>(single, 'GET', '/healthz');
			expect(up.status).toBe(200);
			expect(up.json.workers[0]!.pid).not.toBe(victim.pid);
		} finally {
			await single.close();
		}
	});
});

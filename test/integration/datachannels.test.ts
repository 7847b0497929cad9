/**
 * Data channel messages through the SFU over real SCTP: a bot sends on an
 * SCTP PlainTransport (the `sctp` package, as mediasoup's own tests use it),
 * another broadcaster receives, and WebRTC peers of the room are offered the
 * same channel.
 */
import { createSocket, type Socket } from 'node:dgram';
import sctp, { type SctpSocket } from 'sctp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import type { HttpApi } from '../../server/signalling/protocol.js';
import { joinRoom } from '../helpers/fixtures.js';
import { http, post as postJson } from '../helpers/http.js';
import { startTestServer, waitFor } from '../helpers/server.js';

let server: SfuServer;
const sockets: Socket[] = [];
const associations: SctpSocket[] = [];

beforeAll(async () => {
	sctp.defaults({ PMTU: 1200 });
	server = await startTestServer();
});

afterAll(async () => {
	for (const association of associations) association.end();
	for (const socket of sockets) socket.close();
	await server.close();
});

const post = <K extends keyof HttpApi>(path: string, body: unknown) => postJson<K>(server, path, body);

/** A broadcaster with an SCTP PlainTransport, and an SCTP association to it from a local UDP socket. */
async function sctpBroadcaster(id: string): Promise<{ transportId: string; association: SctpSocket }> {
	await post<'createBroadcaster'>('/api/rooms/data/broadcasters', { id, displayName: id });
	const transport = await post<'createPlainTransport'>(`/api/rooms/data/broadcasters/${id}/transports`, { comedia: true, enableSctp: true, numSctpStreams: { OS: 256, MIS: 256 } });
	expect(transport.sctpParameters).toMatchObject({ port: 5000, OS: 256, MIS: 256 });
	const socket = createSocket('udp4');
	sockets.push(socket);
	await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
	await new Promise<void>((resolve) => socket.connect(transport.port, transport.ip, () => resolve()));
	const association = sctp.connect({ localPort: 5000, port: 5000, OS: 256, MIS: 256, udpTransport: socket });
	associations.push(association);
	await new Promise<void>((resolve, reject) => {
		association.on('connect', resolve);
		association.on('error', reject);
	});
	return { transportId: transport.id, association };
}

describe('data channels', () => {
	it('delivers every message, in order, from one peer\'s data producer to another\'s data consumer', async () => {
		const watcher = await joinRoom(server, 'data', 'watcher');
		const bot = await sctpBroadcaster('bot');
		const listener = await sctpBroadcaster('listener');

		const STREAM_ID = 7;
		const { id: dataProducerId } = await post<'createDataProducer'>(`/api/rooms/data/broadcasters/bot/transports/${bot.transportId}/produce/data`, {
			sctpStreamParameters: { streamId: STREAM_ID, ordered: true },
			label: 'chat',
			protocol: 'json',
		});
		// WebRTC peers are offered the bot's channel like any peer's.
		await waitFor('watcher offered the chat channel', () => watcher.peer.serverRequestsOf('newDataConsumer').some((o) => o.dataProducerId === dataProducerId && o.label === 'chat'));

		const consumer = await post<'createDataConsumer'>(`/api/rooms/data/broadcasters/listener/transports/${listener.transportId}/consume/data`, { dataProducerId });
		expect(consumer).toMatchObject({ dataProducerId, label: 'chat', protocol: 'json' });

		const received: string[] = [];
		listener.association.on('stream', (stream, streamId) => {
			if (streamId !== consumer.streamId) return;
			stream.on('data', (data: Buffer) => received.push(data.toString('utf8')));
		});

		const sendStream = bot.association.createStream(STREAM_ID);
		const sent: string[] = [];
		for (let i = 1; i <= 100; i++) {
			const message = JSON.stringify({ text: `message ${i}`, at: i });
			sent.push(message);
			const data: Buffer & { ppid?: number } = Buffer.from(message);
			data.ppid = sctp.PPID.WEBRTC_STRING;
			sendStream.write(data);
		}
		await waitFor('all 100 messages received', () => received.length === 100);
		expect(received).toEqual(sent);

		const room = server.rooms.get('data')!;
		const stats = await room.peers.get('bot')!.dataProducers.get(dataProducerId)!.getStats();
		expect(stats[0]).toMatchObject({ messagesReceived: 100 });
		watcher.peer.close();
	});
});

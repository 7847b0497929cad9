/**
 * A real WebRTC subscriber for the capacity run, bundled into an IIFE and
 * injected into headless Chromium: mediasoup-client + protoo-client, joins a
 * room as the web client does (receive only), accepts every consumer, and
 * reports the browser's own inbound-rtp statistics (packets, loss, jitter) so
 * they can be set beside the PlainTransport subscribers' figures.
 */
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';
import { Peer, WebSocketTransport } from 'protoo-client';
import type { CreateWebRtcTransportResponse, NewConsumerData } from '../../server/signalling/protocol.ts';

export type InboundStats = {
	kind: 'audio' | 'video';
	packetsReceived: number;
	packetsLost: number;
	bytesReceived: number;
	/** Seconds, as RTCInboundRtpStreamStats reports it. */
	jitter: number;
	framesDecoded?: number;
};

type State = { peer?: Peer; transport?: msc.Transport; consumers: msc.Consumer[]; error?: string };
const state: State = { consumers: [] };

async function start(wsUrl: string, roomId: string, peerId: string): Promise<void> {
	const transport = new WebSocketTransport(`${wsUrl}/?roomId=${encodeURIComponent(roomId)}&peerId=${encodeURIComponent(peerId)}`, { retry: { retries: 0 } });
	const peer = new Peer(transport);
	state.peer = peer;
	await new Promise<void>((resolve, reject) => {
		peer.on('open', () => resolve());
		peer.on('failed', () => reject(new Error('protoo connection failed')));
	});
	peer.on('request', (request, accept, reject) => {
		if (request.method !== 'newConsumer') {
			accept({});
			return;
		}
		const data = request.data as NewConsumerData;
		const recv = state.transport;
		if (!recv) {
			reject(503, 'not ready');
			return;
		}
		recv
			.consume({ id: data.id, producerId: data.producerId, kind: data.kind, rtpParameters: data.rtpParameters as msc.RtpParameters })
			.then((consumer) => {
				state.consumers.push(consumer);
				accept({});
			})
			.catch((error: Error) => {
				state.error = String(error);
				reject(500, String(error));
			});
	});
	const routerRtpCapabilities = (await peer.request('getRouterRtpCapabilities', {})) as msc.RtpCapabilities;
	const device = new Device();
	await device.load({ routerRtpCapabilities });
	const info = (await peer.request('createWebRtcTransport', { producing: false, consuming: true })) as CreateWebRtcTransportResponse;
	const recv = device.createRecvTransport({
		id: info.id,
		iceParameters: info.iceParameters,
		iceCandidates: info.iceCandidates as msc.IceCandidate[],
		dtlsParameters: info.dtlsParameters as msc.DtlsParameters,
	});
	recv.on('connect', ({ dtlsParameters }, callback, errback) => {
		peer.request('connectWebRtcTransport', { transportId: recv.id, dtlsParameters }).then(() => callback(), errback);
	});
	state.transport = recv;
	await peer.request('join', { displayName: peerId, device: { flag: 'loadtest', name: 'chromium' }, rtpCapabilities: device.recvRtpCapabilities });
}

async function stats(): Promise<InboundStats[]> {
	const result: InboundStats[] = [];
	for (const consumer of state.consumers) {
		const report = await consumer.getStats();
		report.forEach((entry: Record<string, unknown>) => {
			if (entry.type !== 'inbound-rtp') return;
			result.push({
				kind: consumer.kind,
				packetsReceived: Number(entry.packetsReceived ?? 0),
				packetsLost: Number(entry.packetsLost ?? 0),
				bytesReceived: Number(entry.bytesReceived ?? 0),
				jitter: Number(entry.jitter ?? 0),
				...(entry.framesDecoded !== undefined ? { framesDecoded: Number(entry.framesDecoded) } : {}),
			});
		});
	}
	return result;
}

function close(): void {
	state.peer?.close();
}

function error(): string | undefined {
	return state.error;
}

(globalThis as unknown as { loadtestSubscriber: unknown }).loadtestSubscriber = { start, stats, close, error };

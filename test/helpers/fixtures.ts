/** RTP parameters captured from Chromium (scripts/capture-browser-rtp-parameters.mjs), and clients built from them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { SfuServer } from '../../server/server.js';
import type { CreateWebRtcTransportResponse, JoinResponse, Role } from '../../server/signalling/protocol.js';
import { TestPeer } from './TestPeer.js';

type Captured = {
	capturedWith: string;
	rtpCapabilities: ms.RtpCapabilities;
	opus: ms.RtpParameters;
	vp8Simulcast: ms.RtpParameters;
	h264: ms.RtpParameters;
};

export const chromium: Captured = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'chromium-rtp-parameters.json'), 'utf8'));

/** Browser RTP parameters with the MID a browser would give the n-th producer of its send transport. */
export function withMid(parameters: ms.RtpParameters, mid: number): ms.RtpParameters {
	return { ...structuredClone(parameters), mid: String(mid) };
}

export const sctpCapabilities: ms.SctpCapabilities = { numStreams: { OS: 1024, MIS: 1024 } };

export type JoinedPeer = {
	peer: TestPeer;
	send: CreateWebRtcTransportResponse;
	recv: CreateWebRtcTransportResponse;
	peers: JoinResponse['peers'];
	joined: JoinResponse;
	/** The join token used, when the peer connected with one. */
	token?: string;
};

/** A join token the test server accepts, signed as an application backend would. */
export async function tokenFor(server: SfuServer, roomId: string, identity: string, role: Role, extra: { ttlSeconds?: number; name?: string; permissions?: Partial<Record<import('../../server/signalling/protocol.js').Permission, boolean>> } = {}): Promise<string> {
	const { token } = await server.auth.mint({ room: roomId, identity, role, ttlSeconds: extra.ttlSeconds ?? 600, name: extra.name, permissions: extra.permissions });
	return token;
}

/**
 * Connects and joins as mediasoup-demo's client does: both transports first,
 * then join. With `role` (or `token`) it connects with a join token for
 * `peerId`; without, as open mode's tokenless client. (A guest cannot
 * create transports: connect it with TestPeer.)
 */
export async function joinRoom(server: SfuServer, roomId: string, peerId: string, options: { consume?: boolean; role?: Role; token?: string } = {}): Promise<JoinedPeer> {
	const token = options.token ?? (options.role ? await tokenFor(server, roomId, peerId, options.role) : undefined);
	const peer = await TestPeer.connect(server.wsUrl, roomId, peerId, { token });
	await peer.request('getRouterRtpCapabilities', {});
	const send = await peer.request('createWebRtcTransport', { forceTcp: false, producing: true, consuming: false, sctpCapabilities });
	const recv = await peer.request('createWebRtcTransport', { forceTcp: false, producing: false, consuming: true, sctpCapabilities });
	const joined = await peer.request('join', {
		displayName: `Peer ${peerId}`,
		device: { flag: 'chrome', name: 'Chrome', version: '156' },
		rtpCapabilities: options.consume === false ? undefined : chromium.rtpCapabilities,
		sctpCapabilities,
	});
	return { peer, send, recv, peers: joined.peers, joined, token };
}

/**
 * Placement ballast: protoo peers (no browser, no ICE) that join a room
 * first, each with a receiving transport, so the room's first router
 * carries their consumers of the first page's producers. With
 * `routerConsumerSoftLimit` at or below those consumers, the server puts
 * the next pages on another worker (server/media/placement.ts): the only
 * way, from outside, to have one page's media on a worker of its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import { ProtooClient } from '../signalling/ProtooProbe.js';

export class Ballast {
	private constructor(private readonly peers: ProtooClient[]) {}

	/** `count` peers join `roomId`, one after another, each consuming what the room will offer. */
	static async join(rootDir: string, wsUrl: string, roomId: string, count: number): Promise<Ballast> {
		const { rtpCapabilities } = JSON.parse(readFileSync(join(rootDir, 'test', 'fixtures', 'chromium-rtp-parameters.json'), 'utf8')) as { rtpCapabilities: ms.RtpCapabilities };
		const peers: ProtooClient[] = [];
		try {
			for (let i = 0; i < count; i++) {
				const peer = await ProtooClient.connect(wsUrl, roomId, `ballast-${i}-${Date.now().toString(36)}`);
				peers.push(peer);
				await peer.request('getRouterRtpCapabilities', {});
				await peer.request('createWebRtcTransport', { producing: false, consuming: true });
				await peer.request('join', { displayName: `ballast ${i}`, device: { name: 'loadtest-recovery-ballast' }, rtpCapabilities });
			}
		} catch (error) {
			for (const peer of peers) peer.close();
			throw error;
		}
		return new Ballast(peers);
	}

	/** Consumers the ballast holds once the first page publishes `producers` (audio and video). */
	static consumersFor(count: number, producers: number): number {
		return count * producers;
	}

	close(): void {
		for (const peer of this.peers) peer.close();
	}
}

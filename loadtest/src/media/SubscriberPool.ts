/**
 * Cheap subscribers: each is a broadcaster with one PlainTransport (SRTP, so
 * the server pays its real per-consumer encryption) consuming a set of
 * producers. They share a few UDP sockets; packets are told apart by the
 * server's source port (one per transport) and the consumer's SSRC. Only the
 * clear RTP header is read: counts, loss and jitter need no decryption.
 * Each subscriber sends RTCP receiver reports once a second, as a browser does.
 *
 * Unmeasured subscribers (an option, for loads where reading every packet in
 * Node would cost the shared machine more than the server does) get the same
 * consumers and the server encrypts and sends them the same packets, but
 * their transport points at a loopback port nobody listens on, where the
 * kernel discards them; the measured ones are a sample of the same streams.
 */
import type { Socket } from 'node:dgram';
import { receiverReport, type ReportBlock } from '../rtp/rtcp.js';
import { randomSsrc } from '../rtp/rtp.js';
import { SrtpSession, randomSrtpParameters, tagBytes, type SrtpCryptoSuite } from '../rtp/srtp.js';
import type { HttpApiClient } from '../signalling/HttpApiClient.js';
import type { BroadcasterRole } from '../../../server/signalling/protocol.js';
import { RtpReceiveStats } from '../stats/RtpReceiveStats.js';
import { bindSocket } from './Publisher.js';
import { subscriberRtpCapabilities } from './profile.js';

export type ReceivedStream = {
	subscriberId: string;
	consumerId: string;
	producerId: string;
	kind: 'audio' | 'video';
	ssrc: number;
	stats: RtpReceiveStats;
	firstPacketMs: number | undefined;
	/** Packets that did not pass SRTP authentication (only when verification is on). */
	authFailures: number;
};

type Subscriber = {
	id: string;
	/** False: its packets go to the discard port and are not counted. */
	measured: boolean;
	roomId: string;
	transportId: string;
	socket: Socket;
	remote: { ip: string; port: number };
	outbound: SrtpSession;
	/** The server's keys, to verify a sample of packets (tests). */
	inbound: SrtpSession;
	reportSsrc: number;
	streams: ReceivedStream[];
	createdMs: number;
};

export type SubscriberPoolOptions = {
	api: HttpApiClient;
	/** UDP sockets shared by all subscribers (default 8). */
	sockets?: number;
	bindAddress?: string;
	cryptoSuite?: SrtpCryptoSuite;
	/** Decrypt and authenticate every n-th packet (0 = never): proves the SRTP is real, costs CPU. */
	verifyEvery?: number;
	receiverReportIntervalMs?: number;
	/**
	 * The role of the broadcasters it creates: `service` (default; a meeting's
	 * PlainTransport subscriber, announced to the room) or `viewer` (a stream's
	 * audience member: counted, never announced).
	 */
	role?: BroadcasterRole;
};

/** Unique per (server transport port, consumer SSRC); fits in a double exactly. */
function streamKey(port: number, ssrc: number): number {
	return port * 0x100000000 + ssrc;
}

export class SubscriberPool {
	readonly subscribers: Subscriber[] = [];
	/** Consumers of unmeasured subscribers. */
	unmeasuredStreams = 0;
	/** Packets on our sockets that matched no consumer (before it was registered, or stray). */
	unknownPackets = 0;
	rtcpPackets = 0;
	private readonly streamsByKey = new Map<number, ReceivedStream>();
	private readonly sockets: Socket[] = [];
	private readonly api: HttpApiClient;
	private readonly role: BroadcasterRole | undefined;
	private readonly suite: SrtpCryptoSuite;
	private readonly tagLength: number;
	private readonly verifyEvery: number;
	private readonly subscribersByRemotePort = new Map<number, Subscriber>();
	private reportTimer: NodeJS.Timeout | undefined;
	private packetCounter = 0;
	private closed = false;

	private constructor(options: SubscriberPoolOptions, sockets: Socket[], private readonly discardPort: number) {
		this.api = options.api;
		this.suite = options.cryptoSuite ?? 'AES_CM_128_HMAC_SHA1_80';
		this.tagLength = tagBytes(this.suite);
		this.verifyEvery = options.verifyEvery ?? 0;
		this.role = options.role;
		this.sockets = sockets;
		for (const socket of sockets) socket.on('message', (message, remote) => this.onPacket(message, remote.port));
		const interval = options.receiverReportIntervalMs ?? 1000;
		if (interval > 0) this.reportTimer = setInterval(() => this.sendReceiverReports(), interval);
	}

	static async create(options: SubscriberPoolOptions): Promise<SubscriberPool> {
		const count = options.sockets ?? 8;
		const sockets: Socket[] = [];
		for (let index = 0; index < count; index++) {
			const socket = await bindSocket(options.bindAddress ?? '127.0.0.1');
			// Loopback bursts (a key frame to hundreds of consumers) overflow the default 208 KiB buffer.
			try {
				socket.setRecvBufferSize(4 * 1024 * 1024);
			} catch {
				// Capped by net.core.rmem_max; the per-socket drop counters will show it.
			}
			sockets.push(socket);
		}
		// A port that was free a moment ago and that nobody binds again: unmeasured subscribers' media ends there.
		const probe = await bindSocket(options.bindAddress ?? '127.0.0.1');
		const discardPort = probe.address().port;
		probe.close();
		return new SubscriberPool(options, sockets, discardPort);
	}

	/** Local ports of our sockets (to attribute kernel drops to the generator). */
	get localPorts(): number[] {
		return this.sockets.map((socket) => socket.address().port);
	}

	get streams(): ReceivedStream[] {
		return [...this.streamsByKey.values()];
	}

	/**
	 * Joins `roomId` as broadcaster `id` and consumes `producerIds` over one SRTP
	 * PlainTransport. With `existingBroadcaster`, the broadcaster was created
	 * (with rtpCapabilities) by its publisher: a meeting participant.
	 */
	async add(roomId: string, id: string, producerIds: string[], options: { existingBroadcaster?: boolean; measured?: boolean } = {}): Promise<void> {
		if (this.closed) throw new Error('subscriber pool is closed');
		const measured = options.measured ?? true;
		const socket = this.sockets[this.subscribers.length % this.sockets.length]!;
		if (!options.existingBroadcaster) {
			await this.api.createBroadcaster(roomId, { id, displayName: id, device: { name: 'loadtest-subscriber' }, rtpCapabilities: subscriberRtpCapabilities(), ...(this.role ? { role: this.role } : {}) });
		}
		const transport = await this.api.createPlainTransport(roomId, id, { comedia: false, rtcpMux: true, enableSrtp: true, srtpCryptoSuite: this.suite });
		if (!transport.srtpParameters) throw new Error(`transport of subscriber ${id} was created with enableSrtp but returned no srtpParameters`);
		const ours = randomSrtpParameters(this.suite);
		const local = socket.address();
		await this.api.connectPlainTransport(roomId, id, transport.id, { ip: local.address, port: measured ? local.port : this.discardPort, srtpParameters: ours });
		const subscriber: Subscriber = {
			id,
			measured,
			roomId,
			transportId: transport.id,
			socket,
			remote: { ip: transport.ip, port: transport.port },
			outbound: new SrtpSession(ours),
			inbound: new SrtpSession(transport.srtpParameters),
			reportSsrc: randomSsrc(),
			streams: [],
			createdMs: performance.now(),
		};
		this.subscribers.push(subscriber);
		this.subscribersByRemotePort.set(transport.port, subscriber);
		for (const producerId of producerIds) await this.consume(subscriber, producerId);
	}

	/** Adds a consumer of `producerId` to an existing subscriber (a new participant in a meeting). */
	async consumeMore(id: string, producerId: string): Promise<void> {
		const subscriber = this.subscribers.find((candidate) => candidate.id === id);
		if (!subscriber) throw new Error(`no subscriber ${id}`);
		await this.consume(subscriber, producerId);
	}

	private async consume(subscriber: Subscriber, producerId: string): Promise<void> {
		const consumer = await this.api.createConsumer(subscriber.roomId, subscriber.id, subscriber.transportId, producerId);
		const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
		const clockRate = consumer.rtpParameters.codecs[0]?.clockRate;
		if (ssrc === undefined || clockRate === undefined) throw new Error(`consumer ${consumer.id} has no SSRC or codec in its rtpParameters`);
		if (!subscriber.measured) {
			this.unmeasuredStreams++;
			return;
		}
		const stream: ReceivedStream = {
			subscriberId: subscriber.id,
			consumerId: consumer.id,
			producerId,
			kind: consumer.kind,
			ssrc,
			stats: new RtpReceiveStats(clockRate),
			firstPacketMs: undefined,
			authFailures: 0,
		};
		const key = streamKey(subscriber.remote.port, ssrc);
		if (this.streamsByKey.has(key)) throw new Error(`two consumers with SSRC ${ssrc} on transport port ${subscriber.remote.port}`);
		subscriber.streams.push(stream);
		this.streamsByKey.set(key, stream);
	}

	private onPacket(message: Buffer, remotePort: number): void {
		if (message.length < 12) return;
		const packetType = message[1]!;
		// RTCP (SR from the server's consumers) shares the port under rtcp-mux.
		if (packetType >= 192 && packetType <= 223) {
			this.rtcpPackets++;
			return;
		}
		const stream = this.streamsByKey.get(streamKey(remotePort, message.readUInt32BE(8)));
		if (!stream) {
			this.unknownPackets++;
			return;
		}
		const now = performance.now();
		if (stream.firstPacketMs === undefined) stream.firstPacketMs = now;
		stream.stats.onPacket(message.readUInt16BE(2), message.readUInt32BE(4), now, message.length - this.tagLength);
		if (this.verifyEvery > 0 && ++this.packetCounter % this.verifyEvery === 0) this.verify(message, remotePort, stream);
	}

	private verify(message: Buffer, remotePort: number, stream: ReceivedStream): void {
		const subscriber = this.subscribersByRemotePort.get(remotePort);
		try {
			subscriber?.inbound.unprotectRtp(message);
		} catch {
			stream.authFailures++;
		}
	}

	/** Decrypts one received packet of a stream (tests use it to look at the payload). */
	decrypt(message: Buffer, remotePort: number): Buffer {
		const subscriber = this.subscribersByRemotePort.get(remotePort);
		if (!subscriber) throw new Error(`no subscriber behind server port ${remotePort}`);
		return subscriber.inbound.unprotectRtp(message);
	}

	/** Calls `listener` with every raw packet (tests only: it costs a closure call per packet). */
	tap(listener: (message: Buffer, remotePort: number) => void): () => void {
		const handler = (message: Buffer, remote: { port: number }) => listener(message, remote.port);
		for (const socket of this.sockets) socket.on('message', handler);
		return () => {
			for (const socket of this.sockets) socket.off('message', handler);
		};
	}

	private sendReceiverReports(): void {
		for (const subscriber of this.subscribers) {
			if (!subscriber.measured) continue;
			const blocks: ReportBlock[] = subscriber.streams
				.filter((stream) => stream.stats.packets > 0)
				.slice(0, 31)
				.map((stream) => {
					const counters = stream.stats.counters();
					return {
						ssrc: stream.ssrc,
						fractionLost: stream.stats.intervalLoss().fractionLost,
						cumulativeLost: counters.lost,
						extendedHighestSeq: stream.stats.extendedHighestSeq,
						jitter: stream.stats.jitter,
						lastSr: 0,
						delaySinceLastSr: 0,
					};
				});
			if (blocks.length === 0) continue;
			const packet = subscriber.outbound.protectRtcp(receiverReport(subscriber.reportSsrc, blocks));
			subscriber.socket.send(packet, subscriber.remote.port, subscriber.remote.ip);
		}
	}

	/** Deletes the subscribers' broadcasters (in parallel, `concurrency` at a time) and closes the sockets. */
	async close(options: { deleteBroadcasters?: boolean; concurrency?: number } = {}): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		if (this.reportTimer) clearInterval(this.reportTimer);
		if (options.deleteBroadcasters !== false) {
			const queue = [...this.subscribers];
			const workers = Array.from({ length: options.concurrency ?? 8 }, async () => {
				for (let next = queue.shift(); next; next = queue.shift()) {
					await this.api.deleteBroadcaster(next.roomId, next.id).catch(() => undefined);
				}
			});
			await Promise.all(workers);
		}
		for (const socket of this.sockets) socket.close();
	}
}

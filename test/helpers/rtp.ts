/** Minimal RTP for tests: build packets, and read what a subscriber socket receives. */
import { createSocket, type Socket } from 'node:dgram';

export function rtpPacket({ payloadType, sequenceNumber, timestamp, ssrc, marker = false, payload, audioLevel }: {
	payloadType: number;
	sequenceNumber: number;
	timestamp: number;
	ssrc: number;
	marker?: boolean;
	payload: Buffer;
	/** ssrc-audio-level (RFC 6464) in -dBov, sent as one-byte header extension id 1, voice activity set. */
	audioLevel?: number;
}): Buffer {
	const header = Buffer.alloc(12);
	header[0] = audioLevel === undefined ? 0x80 : 0x90;
	header[1] = (marker ? 0x80 : 0) | payloadType;
	header.writeUInt16BE(sequenceNumber & 0xffff, 2);
	header.writeUInt32BE(timestamp >>> 0, 4);
	header.writeUInt32BE(ssrc >>> 0, 8);
	if (audioLevel === undefined) return Buffer.concat([header, payload]);
	// 0xBEDE profile, one 32-bit word: id 1, length 1 (L=0), V=1 | level, then padding.
	const extension = Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, 0x80 | (audioLevel & 0x7f), 0x00, 0x00]);
	return Buffer.concat([header, extension, payload]);
}

/**
 * A VP8 payload as Chrome sends it: descriptor with picture ID, TL0PICIDX and
 * temporal layer 0 (mediasoup's VP8 forwarding relies on them), then a key
 * frame header (640×360) or a delta frame.
 */
export function vp8Payload(pictureId: number, keyFrame: boolean, size = 900): Buffer {
	const payload = Buffer.alloc(size, 0x55);
	payload[0] = 0x90; // X, S
	payload[1] = 0xe0; // I, L, T
	payload.writeUInt16BE(0x8000 | (pictureId & 0x7fff), 2);
	payload[4] = pictureId & 0xff; // TL0PICIDX
	payload[5] = 0x20; // TID 0, Y
	payload[6] = keyFrame ? 0x10 : 0x11;
	if (keyFrame) {
		payload.set([0x9d, 0x01, 0x2a], 9);
		payload.writeUInt16LE(640, 12);
		payload.writeUInt16LE(360, 14);
	}
	return payload;
}

export type ReceivedStream = { packets: number; bytes: number; sizes: Set<number> };

/** A UDP socket on loopback that counts RTP packets per SSRC (headers stay readable under SRTP). */
export async function rtpReceiver(): Promise<{ socket: Socket; port: number; streams: Map<number, ReceivedStream>; close(): void }> {
	const socket = createSocket('udp4');
	const streams = new Map<number, ReceivedStream>();
	socket.on('message', (message) => {
		if (message.length < 12 || (message[0]! & 0xc0) !== 0x80) return;
		const packetType = message[1]!;
		if (packetType >= 200 && packetType <= 206) return; // RTCP
		const ssrc = message.readUInt32BE(8);
		const stream = streams.get(ssrc) ?? { packets: 0, bytes: 0, sizes: new Set<number>() };
		stream.packets++;
		stream.bytes += message.length;
		stream.sizes.add(message.length);
		streams.set(ssrc, stream);
	});
	await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
	return { socket, port: socket.address().port, streams, close: () => socket.close() };
}

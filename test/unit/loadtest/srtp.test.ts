import { describe, expect, it } from 'vitest';
import { SrtpError, SrtpSession, deriveSessionKey, randomSrtpParameters, srtpKeystream } from '../../../loadtest/src/rtp/srtp.js';
import { readRtpHeader, writeRtpHeader } from '../../../loadtest/src/rtp/rtp.js';
import { senderReport } from '../../../loadtest/src/rtp/rtcp.js';

const hex = (value: string) => Buffer.from(value.replace(/\s+/g, ''), 'hex');

function rtp(seq: number, payload: Buffer, ssrc = 0x11223344): Buffer {
	const packet = Buffer.alloc(12 + payload.length);
	writeRtpHeader(packet, { payloadType: 96, marker: false, sequenceNumber: seq, timestamp: 1000 + seq, ssrc });
	payload.copy(packet, 12);
	return packet;
}

describe('SRTP key derivation and keystream (RFC 3711 Appendix B)', () => {
	it('derives the session keys of B.3', () => {
		const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
		const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');
		expect(deriveSessionKey(masterKey, masterSalt, 0x00, 16).toString('hex')).toBe('c61e7a93744f39ee10734afe3ff7a087');
		expect(deriveSessionKey(masterKey, masterSalt, 0x02, 14).toString('hex')).toBe('30cbbc08863d8c85d49db34a9ae1');
		expect(deriveSessionKey(masterKey, masterSalt, 0x01, 20).toString('hex')).toBe('cebe321f6ff7716b6fd4ab49af256a156d38baa4');
	});

	it('produces the AES-CM keystream of B.2', () => {
		const keystream = srtpKeystream(hex('2B7E151628AED2A6ABF7158809CF4F3C'), hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0, 48);
		expect(keystream.toString('hex')).toBe(
			'e03ead0935c95e80e166b16dd92b4eb4' + 'd23513162b02d0f72a43a2fe4a5f97ab' + '41e95b3bb0a2e8dd477901e4fca894c0',
		);
	});
});

describe('SrtpSession', () => {
	it('round-trips RTP: header in clear, payload encrypted, 10-byte tag', () => {
		const parameters = randomSrtpParameters();
		const sender = new SrtpSession(parameters);
		const receiver = new SrtpSession(parameters);
		const payload = Buffer.from('a VP8 frame, more or less');
		const packet = rtp(7, payload);
		const protectedPacket = sender.protectRtp(packet);
		expect(protectedPacket.length).toBe(packet.length + 10);
		expect(protectedPacket.subarray(0, 12).equals(packet.subarray(0, 12))).toBe(true);
		expect(protectedPacket.subarray(12, 12 + payload.length).equals(payload)).toBe(false);
		expect(readRtpHeader(protectedPacket, 10)?.payloadLength).toBe(payload.length);
		expect(receiver.unprotectRtp(protectedPacket).equals(packet)).toBe(true);
	});

	it('rejects a tampered packet and a packet under another key', () => {
		const parameters = randomSrtpParameters();
		const protectedPacket = new SrtpSession(parameters).protectRtp(rtp(1, Buffer.from('hello')));
		const tampered = Buffer.from(protectedPacket);
		tampered[14] = tampered[14]! ^ 0x01;
		expect(() => new SrtpSession(parameters).unprotectRtp(tampered)).toThrow(SrtpError);
		expect(() => new SrtpSession(randomSrtpParameters()).unprotectRtp(protectedPacket)).toThrow(SrtpError);
	});

	it('keeps sender and receiver rollover counters in step across a sequence-number wrap', () => {
		const parameters = randomSrtpParameters();
		const sender = new SrtpSession(parameters);
		const receiver = new SrtpSession(parameters);
		for (let i = 0; i < 40; i++) {
			const seq = (65_520 + i) & 0xffff;
			const packet = rtp(seq, Buffer.from([i, i, i, i]), 0xfedcba98);
			expect(receiver.unprotectRtp(sender.protectRtp(packet)).equals(packet)).toBe(true);
		}
	});

	it('round-trips SRTCP with the E flag and index', () => {
		const parameters = randomSrtpParameters();
		const sender = new SrtpSession(parameters);
		const receiver = new SrtpSession(parameters);
		for (let i = 0; i < 3; i++) {
			const report = senderReport({ ssrc: 42, unixMs: 1_700_000_000_000 + i, rtpTimestamp: i * 3000, packetCount: i, octetCount: i * 100 });
			const protectedReport = sender.protectRtcp(report);
			expect(protectedReport.length).toBe(report.length + 4 + 10);
			expect(protectedReport.readUInt32BE(report.length)).toBe((0x80000000 | i) >>> 0);
			expect(receiver.unprotectRtcp(protectedReport).equals(report)).toBe(true);
		}
	});

	it('refuses crypto suites it does not implement', () => {
		expect(() => new SrtpSession({ cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: randomSrtpParameters().keyBase64 })).toThrow(/not implemented/);
	});
});

import { describe, expect, it } from 'vitest';
import { isRtp, readRtpHeader, writeRtpHeader } from '../../../loadtest/src/rtp/rtp.js';
import { fullIntraRequest, keyFrameRequests, pictureLossIndication, receiverReport, rtcpPacketTypes, senderReport, ntpTimestamp } from '../../../loadtest/src/rtp/rtcp.js';

describe('RTP header', () => {
	it('writes and reads back every field', () => {
		const packet = Buffer.alloc(20);
		writeRtpHeader(packet, { payloadType: 101, marker: true, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
		expect(packet[0]).toBe(0x80);
		expect(readRtpHeader(packet)).toEqual({
			payloadType: 101,
			marker: true,
			sequenceNumber: 65535,
			timestamp: 0xfffffff0,
			ssrc: 0xdeadbeef,
			payloadOffset: 12,
			payloadLength: 8,
		});
	});

	it('skips CSRCs and a header extension, and drops padding', () => {
		// V=2, P=1, X=1, CC=1; one CSRC; one-byte extension header with 1 word; 3 payload bytes + 2 padding.
		const packet = Buffer.from([0xb1, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 9, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, 0xaa, 0xbb, 0xcc, 0x00, 0x02]);
		const header = readRtpHeader(packet);
		expect(header?.payloadOffset).toBe(24);
		expect(header?.payloadLength).toBe(3);
	});

	it('tells RTP from RTCP under rtcp-mux', () => {
		const rtp = Buffer.alloc(12);
		writeRtpHeader(rtp, { payloadType: 100, marker: false, sequenceNumber: 1, timestamp: 1, ssrc: 1 });
		expect(isRtp(rtp)).toBe(true);
		expect(isRtp(senderReport({ ssrc: 1, unixMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }))).toBe(false);
		expect(readRtpHeader(pictureLossIndication(1, 2))).toBeUndefined();
		expect(readRtpHeader(Buffer.from([0x80, 96, 0]))).toBeUndefined();
	});
});

describe('RTCP', () => {
	it('writes a sender report with NTP time', () => {
		const unixMs = Date.UTC(2026, 0, 1, 0, 0, 0, 500);
		const report = senderReport({ ssrc: 7, unixMs, rtpTimestamp: 90_000, packetCount: 10, octetCount: 12_000 });
		expect(report.length).toBe(28);
		expect(report[1]).toBe(200);
		expect(report.readUInt16BE(2)).toBe(6);
		expect(report.readUInt32BE(8)).toBe(Math.floor(unixMs / 1000) + 2_208_988_800);
		expect(report.readUInt32BE(12)).toBe(0x80000000);
		expect(report.readUInt32BE(16)).toBe(90_000);
		expect(ntpTimestamp(0).seconds).toBe(2_208_988_800);
	});

	it('writes receiver report blocks with fraction lost and cumulative loss', () => {
		const report = receiverReport(9, [
			{ ssrc: 1, fractionLost: 0.25, cumulativeLost: 3, extendedHighestSeq: 70_000, jitter: 12.4, lastSr: 0, delaySinceLastSr: 0 },
			{ ssrc: 2, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 5, jitter: 0, lastSr: 0, delaySinceLastSr: 0 },
		]);
		expect(report.length).toBe(8 + 48);
		expect(report[0]! & 0x1f).toBe(2);
		expect(report.readUInt16BE(2)).toBe(report.length / 4 - 1);
		expect(report[12]).toBe(64);
		expect(report.readUInt32BE(12) & 0xffffff).toBe(3);
		expect(report.readUInt32BE(16)).toBe(70_000);
		expect(report.readUInt32BE(20)).toBe(12);
		expect(() => receiverReport(1, Array.from({ length: 32 }, () => ({ ssrc: 1, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 })))).toThrow(RangeError);
	});

	it('finds PLI and FIR targets in a compound packet', () => {
		const compound = Buffer.concat([
			receiverReport(1, []),
			pictureLossIndication(1, 0xaaaa),
			fullIntraRequest(1, 0xbbbb, 3),
		]);
		expect(rtcpPacketTypes(compound).map((p) => p.type)).toEqual([201, 206, 206]);
		expect(keyFrameRequests(compound)).toEqual([0xaaaa, 0xbbbb]);
		expect(keyFrameRequests(compound.subarray(0, compound.length - 4))).toEqual([0xaaaa]);
	});
});

/**
 * The WHIP/WHEP SDP functions on offers Chromium 156 made (an
 * RTCPeerConnection with sendonly audio + video, with and without three
 * simulcast RIDs, and a recvonly player), checked into test/fixtures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { buildAnswer, capabilitiesOf, fragmentCredentials, parseOffer, producerCandidates, rejected, SdpError } from '../../../server/http/whip/sdp.js';
import { offeredPayloadType } from '../../../server/http/whip/WhepRouters.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', name), 'utf8');

describe('WHIP/WHEP SDP', () => {
	it('reads ICE, DTLS and the sections of an offer', () => {
		const offer = parseOffer(fixture('chromium-whip-offer.sdp'));
		expect(offer.iceUfrag).toMatch(/^\S{4,}$/);
		expect(offer.dtls.role).toBe('client');
		expect(offer.dtls.fingerprints[0]!.algorithm).toBe('sha-256');
		expect(offer.sections.map((s) => [s.mid, s.kind, s.direction])).toEqual([['0', 'audio', 'sendonly'], ['1', 'video', 'sendonly']]);
	});

	it('turns a sendonly section into producer RTP parameters, codec by codec, with RTX and SSRCs', () => {
		const [audio, video] = parseOffer(fixture('chromium-whip-offer.sdp')).sections;
		const opus = producerCandidates(audio!)[0]!;
		expect(opus.codecs).toEqual([expect.objectContaining({ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 })]);
		expect(opus.encodings?.[0]?.ssrc).toBeGreaterThan(0);
		expect(opus.headerExtensions?.some((e) => e.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level')).toBe(true);
		const candidates = producerCandidates(video!);
		const vp8 = candidates[0]!;
		expect(vp8.codecs.map((c) => c.mimeType)).toEqual(['video/VP8', 'video/rtx']);
		expect(vp8.codecs[1]!.parameters).toEqual({ apt: vp8.codecs[0]!.payloadType });
		expect(vp8.encodings?.[0]).toMatchObject({ ssrc: expect.any(Number), rtx: { ssrc: expect.any(Number) } });
		expect(candidates.map((c) => c.codecs[0]!.mimeType)).toContain('video/H264');
		expect(candidates.map((c) => c.codecs[0]!.mimeType)).not.toContain('video/rtx');
	});

	it('reads simulcast RIDs in the order of the simulcast line', () => {
		const [, video] = parseOffer(fixture('chromium-whip-simulcast-offer.sdp')).sections;
		expect(producerCandidates(video!)[0]!.encodings).toEqual([{ rid: 'l' }, { rid: 'm' }, { rid: 'h' }]);
	});

	it('turns a recvonly section into capabilities with the offer\'s numbers', () => {
		const [audio, video] = parseOffer(fixture('chromium-whep-offer.sdp')).sections;
		expect(audio!.direction).toBe('recvonly');
		const caps = capabilitiesOf(video!);
		const vp8 = caps.codecs!.find((c) => c.mimeType === 'video/VP8')!;
		expect(vp8.preferredPayloadType).toBe(96);
		expect(offeredPayloadType(video!, { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 })).toBe(96);
		expect(offeredPayloadType(audio!, { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 })).toBe(111);
		const h264 = offeredPayloadType(video!, { mimeType: 'video/H264', payloadType: 103, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } });
		expect(caps.codecs!.find((c) => c.preferredPayloadType === h264)?.parameters).toMatchObject({ 'packetization-mode': 1, 'profile-level-id': '42e01f' });
	});

	// sdp-transform reads numeric mids back as numbers.
	it('writes an ICE-lite answer that bundles what it takes and rejects the rest', () => {
		const offer = parseOffer(fixture('chromium-whip-simulcast-offer.sdp'));
		const video = producerCandidates(offer.sections[1]!)[0]!;
		const text = buildAnswer(
			{
				iceParameters: { usernameFragment: 'ufrag1234', password: 'password1234567890abcdef', iceLite: true },
				iceCandidates: [
					{ foundation: 'udp', priority: 1076558079, ip: '192.0.2.10', protocol: 'udp', port: 44444, type: 'host', tcpType: undefined },
					{ foundation: 'tcp', priority: 1076276479, ip: '192.0.2.10', protocol: 'tcp', port: 44444, type: 'host', tcpType: 'passive' },
				],
				dtlsParameters: { role: 'server', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] },
				dtlsRole: 'server',
			},
			[rejected(offer.sections[0]!), { mid: '1', kind: 'video', direction: 'recvonly', rtpParameters: video, simulcastRids: ['l', 'm', 'h'] }],
		);
		const answer = sdpTransform.parse(text);
		expect(answer.icelite).toBe('ice-lite');
		expect(answer.groups?.map((g) => [g.type, String(g.mids)])).toEqual([['BUNDLE', '1']]);
		expect(answer.media[0]).toMatchObject({ port: 0, mid: 0, direction: 'inactive' });
		const section = answer.media[1]!;
		expect(section).toMatchObject({ mid: 1, direction: 'recvonly', setup: 'passive', iceUfrag: 'ufrag1234' });
		expect(section.rtp.map((r) => r.payload)).toEqual(video.codecs.map((c) => c.payloadType));
		expect(section.candidates).toHaveLength(2);
		expect(section.candidates![1]).toMatchObject({ transport: 'tcp', tcptype: 'passive', port: 44444 });
		expect(section.simulcast).toMatchObject({ dir1: 'recv', list1: 'l;m;h' });
		expect(text).toContain('a=fingerprint:sha-256 AA:BB');
	});

	it('refuses what is not an offer it can use', () => {
		expect(() => parseOffer('hello')).toThrow(SdpError);
		expect(() => parseOffer('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n')).toThrow(/no media sections/);
		const noIce = fixture('chromium-whip-offer.sdp').replace(/^a=ice-(ufrag|pwd):.*\r?\n/gm, '');
		expect(() => parseOffer(noIce)).toThrow(/ICE credentials/);
		expect(() => parseOffer(`v=0\r\n${'a=x\r\n'.repeat(20_000)}`)).toThrow(/larger than/);
	});

	it('reads ICE credentials from a trickle-ice-sdpfrag', () => {
		expect(fragmentCredentials('a=ice-ufrag:abcd\r\na=ice-pwd:efghijklmnopqrstuvwxyz\r\n')).toEqual({ ufrag: 'abcd', pwd: 'efghijklmnopqrstuvwxyz' });
		expect(fragmentCredentials('a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n')).toBeUndefined();
	});
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConnectionUrl } from '../../../server/signalling/SignallingServer.js';
import { appDataSchema, describeIssues, httpSchemas, requestSchemas, rtpParametersSchema } from '../../../server/signalling/schemas.js';

const schemas = requestSchemas({ maxDisplayNameLength: 20 });
const captured = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'chromium-rtp-parameters.json'), 'utf8'));

describe('request schemas', () => {
	it('accept what Chromium and mediasoup-demo clients send, keeping fields mediasoup knows', () => {
		const parsed = rtpParametersSchema.parse(captured.vp8Simulcast);
		expect(parsed.encodings).toHaveLength(3);
		expect(parsed.encodings?.[0]).toMatchObject({ rid: 'r0', scalabilityMode: 'L1T3', active: true });
		expect(schemas.join.safeParse({ displayName: 'Ann', device: { flag: 'chrome', name: 'Chrome', version: '156' }, rtpCapabilities: captured.rtpCapabilities, sctpCapabilities: { numStreams: { OS: 1024, MIS: 1024 } } }).success).toBe(true);
		expect(schemas.createWebRtcTransport.parse({ forceTcp: false, producing: true, consuming: false, sctpCapabilities: { numStreams: { OS: 1024, MIS: 1024 } } })).toMatchObject({ producing: true });
		expect(schemas.getRouterRtpCapabilities.safeParse({}).success).toBe(true);
		expect(schemas.getRouterRtpCapabilities.safeParse(undefined).success).toBe(true);
	});

	it('drop unknown top-level fields of our own requests', () => {
		expect(schemas.pauseProducer.parse({ producerId: 'p', extra: true })).toEqual({ producerId: 'p' });
	});

	it('reject bad values with the field path', () => {
		const result = schemas.setConsumerPreferredLayers.safeParse({ consumerId: 'c', spatialLayer: -1 });
		expect(result.success).toBe(false);
		expect(describeIssues(result.error!)).toMatch(/^spatialLayer: /);
		const name = schemas.join.safeParse({ displayName: 'x'.repeat(21) });
		expect(describeIssues(name.error!)).toContain('displayName: displayName must be at most 20 characters');
		const payloadType = rtpParametersSchema.safeParse({ codecs: [{ mimeType: 'audio/opus', payloadType: 200, clockRate: 48000 }] });
		expect(describeIssues(payloadType.error!)).toMatch(/^codecs\.0\.payloadType/);
		expect(rtpParametersSchema.safeParse({ codecs: [{ mimeType: 'opus', payloadType: 100, clockRate: 48000 }] }).success).toBe(false);
	});

	it('bound appData relayed to other peers', () => {
		expect(appDataSchema.safeParse({ source: 'webcam' }).success).toBe(true);
		expect(appDataSchema.safeParse({ blob: 'x'.repeat(5000) }).success).toBe(false);
		expect(appDataSchema.safeParse(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))).success).toBe(false);
	});

	it('validate HTTP bodies of the broadcaster API', () => {
		const http = httpSchemas({ maxDisplayNameLength: 20 });
		expect(http.createBroadcaster.safeParse({ id: 'bot-1', displayName: 'Bot' }).success).toBe(true);
		expect(http.createBroadcaster.safeParse({ id: '../etc', displayName: 'Bot' }).success).toBe(false);
		expect(http.connectPlainTransport.safeParse({ ip: '10.0.0.1', port: 5004 }).success).toBe(true);
		expect(http.connectPlainTransport.safeParse({ ip: 'example.org', port: 5004 }).success).toBe(false);
		expect(http.createPlainTransport.safeParse({ enableSrtp: true, srtpCryptoSuite: 'ROT13' }).success).toBe(false);
	});
});

describe('WebSocket URL check', () => {
	it('accepts valid ids and explains invalid ones', () => {
		expect(checkConnectionUrl('/?roomId=team-standup&peerId=a1b2')).toEqual({ ok: true, roomId: 'team-standup', peerId: 'a1b2', token: undefined });
		expect(checkConnectionUrl('/?roomId=team-standup&token=abc.def.ghi')).toEqual({ ok: true, roomId: 'team-standup', peerId: undefined, token: 'abc.def.ghi' });
		expect(checkConnectionUrl('/?roomId=x')).toEqual({ ok: false, status: 400, reason: 'missing token (or, on a server in open mode, peerId) in the URL query' });
		expect(checkConnectionUrl('/?peerId=x')).toEqual({ ok: false, status: 400, reason: 'missing roomId in the URL query' });
		expect(checkConnectionUrl('/?roomId=a%2Fb&peerId=p')).toMatchObject({ ok: false, status: 400 });
		expect(checkConnectionUrl(undefined)).toMatchObject({ ok: false });
	});
});

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config.js';
import { iceServersFor, turnCredentials } from '../../../server/media/turn.js';

describe('TURN credentials', () => {
	it('follow the TURN REST scheme (coturn use-auth-secret): expiry:peerId and HMAC-SHA1 of it', () => {
		const now = Date.UTC(2026, 10, 21, 12, 0, 0);
		const { username, credential } = turnCredentials('s3cret', 'peer-1', 3600, now);
		expect(username).toBe(`${now / 1000 + 3600}:peer-1`);
		expect(credential).toBe(createHmac('sha1', 's3cret').update(username).digest('base64'));
	});

	it('are offered only when TURN is configured, and need a secret', () => {
		const none = loadConfig({ env: {}, file: null });
		expect(iceServersFor(none.turn, 'p')).toBeUndefined();
		const config = loadConfig({ env: { SFU_TURN_URLS: 'turn:turn.example.org:3478?transport=udp, turns:turn.example.org:443?transport=tcp', SFU_TURN_SECRET: 'x' }, file: null });
		expect(iceServersFor(config.turn, 'p')).toEqual([{ urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443?transport=tcp'], username: expect.stringMatching(/^\d+:p$/), credential: expect.any(String) }]);
		expect(() => loadConfig({ env: { SFU_TURN_URLS: 'turn:turn.example.org' }, file: null })).toThrow(/"turn.secret"/);
		expect(() => loadConfig({ env: { SFU_TURN_URLS: 'http://turn.example.org', SFU_TURN_SECRET: 'x' }, file: null })).toThrow(/"turn.urls.0"/);
	});
});

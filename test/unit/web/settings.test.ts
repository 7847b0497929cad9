import { describe, expect, it } from 'vitest';
import {
	defaultPreferences,
	ID_PATTERN,
	inviteLink,
	joinedPageQuery,
	loadPreferences,
	MAX_DISPLAY_NAME_LENGTH,
	parseDeepLink,
	randomId,
	randomRoomId,
	savePreferences,
	signallingUrl,
	withResumeToken,
	type KeyValueStore,
} from '../../../web/src/lib/settings.js';

function memoryStore(initial: Record<string, string> = {}): KeyValueStore & { data: Map<string, string> } {
	const data = new Map(Object.entries(initial));
	return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

describe('parseDeepLink', () => {
	it('reads the invitation and test parameters', () => {
		expect(parseDeepLink('?roomId=team-42&displayName=Ada%20L&autojoin=1&codec=H264&mic=0&camera=off&forceTcp=1')).toEqual({
			roomId: 'team-42',
			displayName: 'Ada L',
			autojoin: true,
			videoCodec: 'h264',
			micOn: false,
			cameraOn: false,
			serverUrl: undefined,
			forceTcp: true,
			token: undefined,
			role: undefined,
		});
	});

	it('reads an invitation token and the viewer role', () => {
		const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_';
		expect(parseDeepLink(`?token=${token}&role=Viewer`)).toMatchObject({ token, role: 'viewer' });
		// Only viewer can be asked for; anything else is a participant (the server decides the rest).
		expect(parseDeepLink(`?token=${token}&role=host`).role).toBeUndefined();
		expect(parseDeepLink('?token=not-a-jwt').token).toBeUndefined();
		expect(parseDeepLink(`?token=a.${'b'.repeat(9000)}.c`).token).toBeUndefined();
	});

	it('leaves out what is absent or invalid', () => {
		const link = parseDeepLink('?roomId=bad/room&displayName=%20%20&codec=av1&autojoin=maybe&server=http://x');
		expect(link).toEqual({
			roomId: undefined,
			displayName: undefined,
			autojoin: false,
			videoCodec: undefined,
			micOn: undefined,
			cameraOn: undefined,
			serverUrl: undefined,
			forceTcp: false,
			token: undefined,
			role: undefined,
		});
		expect(parseDeepLink('').autojoin).toBe(false);
	});

	it('caps the display name and accepts a signalling server for development', () => {
		const link = parseDeepLink(`?displayName=${'x'.repeat(300)}&server=wss://127.0.0.1:4443`);
		expect(link.displayName).toHaveLength(MAX_DISPLAY_NAME_LENGTH);
		expect(link.serverUrl).toBe('wss://127.0.0.1:4443');
	});
});

describe('links', () => {
	it('invite link keeps the page and replaces the query', () => {
		expect(inviteLink('https://meet.example.org/app/?roomId=old&displayName=Me&autojoin=1#x', 'abc-defg-hij')).toBe(
			'https://meet.example.org/app/?roomId=abc-defg-hij',
		);
	});

	it('signalling URL: same origin, wss for https and ws for http, or the given server; the token says who', () => {
		expect(signallingUrl('https://localhost:4443/?roomId=r', 'r1', 'h.p.s')).toBe('wss://localhost:4443/?roomId=r1&token=h.p.s');
		expect(signallingUrl('http://127.0.0.1:5173/', 'r1', 'h.p.s')).toBe('ws://127.0.0.1:5173/?roomId=r1&token=h.p.s');
		expect(signallingUrl('http://127.0.0.1:5173/', 'r1', 'h.p.s', 'wss://10.0.0.2:4443')).toBe('wss://10.0.0.2:4443/?roomId=r1&token=h.p.s');
	});

	it('a connection that resumes a session carries its resume token besides the identity', () => {
		const url = signallingUrl('https://localhost:4443/', 'r1', 'h.p.s');
		expect(withResumeToken(url, 'abc_-9')).toBe('wss://localhost:4443/?roomId=r1&token=h.p.s&resume=abc_-9');
		// Once more with another token: replaced, not added.
		expect(withResumeToken(withResumeToken(url, 'one'), 'two')).toBe('wss://localhost:4443/?roomId=r1&token=h.p.s&resume=two');
	});

	it('after joining, the address keeps the room and the invitation (a reload joins the same way), nothing else', () => {
		expect(joinedPageQuery('r1', {})).toBe('?roomId=r1');
		expect(joinedPageQuery('r1', { token: 'h.p.s', role: 'viewer' })).toBe('?roomId=r1&token=h.p.s&role=viewer');
	});
});

describe('ids', () => {
	it('random ids and room names match the server’s id rule', () => {
		for (let i = 0; i < 50; i++) {
			expect(randomId(12)).toMatch(ID_PATTERN);
			expect(randomRoomId()).toMatch(/^[a-z2-9]{3}-[a-z2-9]{4}-[a-z2-9]{3}$/u);
		}
	});

	it('are drawn from the given source of randomness', () => {
		expect(randomId(4, () => 0)).toBe('aaaa');
		expect(randomId(3, () => 0.999999)).toBe('999');
	});

	it('ID_PATTERN is the server’s rule: 1–64 of A–Z a–z 0–9 _ . ~ -', () => {
		expect(ID_PATTERN.test('A-z_0.9~')).toBe(true);
		expect(ID_PATTERN.test('x'.repeat(64))).toBe(true);
		for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'é']) expect(ID_PATTERN.test(bad)).toBe(false);
	});
});

describe('preferences', () => {
	it('round-trips through the store', () => {
		const store = memoryStore();
		const preferences = { ...defaultPreferences, displayName: 'Ada', roomId: 'r-1', micOn: false, videoCodec: 'h264' as const };
		savePreferences(store, preferences);
		expect(loadPreferences(store)).toEqual(preferences);
	});

	it('falls back to defaults for missing, corrupt or wrongly typed values', () => {
		expect(loadPreferences(undefined)).toEqual(defaultPreferences);
		expect(loadPreferences(memoryStore({ 'sfu.preferences.v1': '{not json' }))).toEqual(defaultPreferences);
		const odd = memoryStore({ 'sfu.preferences.v1': JSON.stringify({ displayName: 7, micOn: 'yes', videoCodec: 'av1', roomId: 'no/slash', cameraOn: false }) });
		expect(loadPreferences(odd)).toEqual({ ...defaultPreferences, cameraOn: false });
	});

	it('survives a store that throws (private mode, quota)', () => {
		const broken: KeyValueStore = {
			getItem: () => null,
			setItem: () => {
				throw new Error('QuotaExceededError');
			},
		};
		expect(() => savePreferences(broken, defaultPreferences)).not.toThrow();
	});
});

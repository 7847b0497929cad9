import { describe, expect, it } from 'vitest';
import { isSessionEnd, joinError, resumeError, mediaAccessError, screenShareError, userError, type UserErrorKind } from '../../../web/src/lib/errors.js';

const domError = (name: string, message = '') => Object.assign(new Error(message), { name });

describe('mediaAccessError', () => {
	it.each([
		['NotAllowedError', 'permission-denied'],
		['SecurityError', 'permission-denied'],
		['NotFoundError', 'no-devices'],
		['OverconstrainedError', 'no-devices'],
		['NotReadableError', 'device-busy'],
		['TypeError', 'insecure-context'],
		['WeirdError', 'unexpected'],
	] as [string, UserErrorKind][])('%s → %s', (name, kind) => {
		const error = mediaAccessError(domError(name, 'detail text'));
		expect(error.kind).toBe(kind);
		expect(error.title.length).toBeGreaterThan(0);
		expect(error.advice.length).toBeGreaterThan(0);
		expect(error.detail).toBe('detail text');
	});

	it('copes with thrown non-errors', () => {
		expect(mediaAccessError('boom')).toMatchObject({ kind: 'unexpected', detail: 'boom' });
		expect(mediaAccessError(null).kind).toBe('unexpected');
	});
});

describe('screenShareError', () => {
	it('a cancelled picker is not an error', () => {
		expect(screenShareError(domError('NotAllowedError', 'Permission denied by user'))).toBeNull();
		expect(screenShareError(domError('AbortError'))).toBeNull();
	});
	it('anything else is shown', () => {
		expect(screenShareError(domError('NotAllowedError', 'Permission denied by system'))?.kind).toBe('screen-share-failed');
		expect(screenShareError(domError('NotSupportedError'))?.kind).toBe('screen-share-failed');
	});
});

describe('joinError', () => {
	it('room full (429) and refusals (400, 403) are final', () => {
		expect(joinError(Object.assign(new Error('room is full'), { code: 429 }))).toMatchObject({ retriable: false, error: { kind: 'room-full' } });
		expect(joinError(Object.assign(new Error('bad'), { code: 400 }))).toMatchObject({ retriable: false, error: { kind: 'join-rejected' } });
		expect(joinError(Object.assign(new Error('no'), { code: 403 })).retriable).toBe(false);
	});
	it('a refused token (401: expired, forged, for another room) is final and says the invitation is not valid', () => {
		expect(joinError(Object.assign(new Error('token expired'), { code: 401 }))).toMatchObject({
			retriable: false,
			error: { kind: 'invitation-invalid', detail: 'token expired' },
		});
	});
	it('an unsupported browser is final', () => {
		expect(joinError(domError('UnsupportedError', 'device not supported'))).toMatchObject({ retriable: false, error: { kind: 'unsupported-browser' } });
	});
	it('timeouts and server errors are worth retrying', () => {
		expect(joinError(new Error('request timeout')).retriable).toBe(true);
		expect(joinError(Object.assign(new Error('internal'), { code: 500 })).retriable).toBe(true);
	});
});

describe('userError', () => {
	it('every kind has a title and advice', () => {
		const kinds: UserErrorKind[] = [
			'permission-denied', 'no-devices', 'device-busy', 'insecure-context', 'unsupported-browser', 'room-full',
			'server-unreachable', 'join-rejected', 'media-failed', 'session-replaced', 'screen-share-failed', 'chat-failed', 'unexpected',
			'invitation-required', 'invitation-invalid', 'removed', 'denied', 'meeting-ended', 'lobby-timeout', 'moderation-failed',
			'unmute-refused',
		];
		for (const kind of kinds) {
			const error = userError(kind);
			expect(error.title, kind).not.toBe('');
			expect(error.advice, kind).not.toBe('');
		}
	});
});

describe('isSessionEnd', () => {
	it('the ends a host decides are the session’s outcome; failures are not', () => {
		expect(['removed', 'denied', 'meeting-ended', 'lobby-timeout'].every((kind) => isSessionEnd(kind as UserErrorKind))).toBe(true);
		expect(isSessionEnd('session-replaced')).toBe(false);
		expect(isSessionEnd('room-full')).toBe(false);
		expect(isSessionEnd(undefined)).toBe(false);
		expect(userError('removed').title).toBe('You were removed by the host');
		expect(userError('denied').title).toBe('The host did not let you in');
		expect(userError('meeting-ended').title).toBe('The meeting has ended');
	});
});

describe('resumeError', () => {
	it('a refused unmute (403: a host muted us) says so; other failures are media failures', () => {
		const refused = Object.assign(new Error('resumeProducer: needs the "publishAudio" permission'), { code: 403 });
		expect(resumeError('mic', refused)).toMatchObject({ kind: 'unmute-refused', detail: refused.message });
		expect(resumeError('webcam', refused).kind).toBe('media-failed');
		expect(resumeError('mic', Object.assign(new Error('gone'), { code: 404 })).kind).toBe('media-failed');
	});
});

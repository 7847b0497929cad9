/**
 * Errors a user can act on: every failure that reaches the page becomes one
 * of these, with a title and what to do. Pure.
 */

export type UserErrorKind =
	| 'permission-denied'
	| 'no-devices'
	| 'device-busy'
	| 'insecure-context'
	| 'unsupported-browser'
	| 'room-full'
	| 'server-unreachable'
	| 'join-rejected'
	| 'media-failed'
	| 'session-replaced'
	| 'invitation-required'
	| 'invitation-invalid'
	| 'removed'
	| 'denied'
	| 'meeting-ended'
	| 'lobby-timeout'
	| 'moderation-failed'
	| 'unmute-refused'
	| 'screen-share-failed'
	| 'chat-failed'
	| 'unexpected';

export type UserError = {
	kind: UserErrorKind;
	title: string;
	/** What the user can do about it. */
	advice: string;
	/** The underlying message, for the curious and for bug reports. */
	detail?: string | undefined;
};

const texts: Record<UserErrorKind, { title: string; advice: string }> = {
	'permission-denied': {
		title: 'Camera or microphone access was blocked',
		advice: 'Allow access in your browser’s address bar (the camera icon), then try again. You can also join with camera and microphone off.',
	},
	'no-devices': {
		title: 'No camera or microphone found',
		advice: 'Connect a device and try again, or join with camera and microphone off.',
	},
	'device-busy': {
		title: 'The camera or microphone is in use',
		advice: 'Close other applications or tabs that use it, or choose another device.',
	},
	'insecure-context': {
		title: 'This page is not served securely',
		advice: 'Open it over https:// (or on localhost); browsers only allow camera and microphone on secure pages.',
	},
	'unsupported-browser': {
		title: 'This browser cannot join the meeting',
		advice: 'Use a recent Chrome, Edge, Firefox or Safari.',
	},
	'room-full': {
		title: 'The room is full',
		advice: 'Try again later, or ask the host for another room.',
	},
	'server-unreachable': {
		title: 'Cannot reach the meeting server',
		advice: 'Check your network connection and try again. If it persists, the server may be down.',
	},
	'join-rejected': {
		title: 'The server refused to let you join',
		advice: 'Check the room name and your display name, then try again.',
	},
	'media-failed': {
		title: 'The media connection failed',
		advice: 'A firewall may be blocking audio and video. Try another network, or ask the administrator about TURN.',
	},
	'session-replaced': {
		title: 'You joined this meeting somewhere else',
		advice: 'This tab left because the same session was opened in another tab or window. Join again here to move back.',
	},
	'invitation-required': {
		title: 'This server needs an invitation link with a token',
		advice: 'Open the invitation link the meeting’s organiser sent you (it contains ?token=…); this page cannot let you in by itself.',
	},
	'invitation-invalid': {
		title: 'Your invitation is not valid',
		advice: 'It may have expired or be meant for another room. Ask the organiser for a new invitation link.',
	},
	removed: {
		title: 'You were removed by the host',
		advice: 'You cannot rejoin this meeting with the same invitation.',
	},
	denied: {
		title: 'The host did not let you in',
		advice: 'Ask the organiser if you think this is a mistake.',
	},
	'meeting-ended': {
		title: 'The meeting has ended',
		advice: 'The host ended the meeting for everyone.',
	},
	'lobby-timeout': {
		title: 'Nobody let you in',
		advice: 'You waited in the lobby for a long time. Join again when the host is there.',
	},
	'moderation-failed': {
		title: 'The host action did not work',
		advice: 'The participant may have left already, or your role no longer allows it.',
	},
	'unmute-refused': {
		title: 'You cannot unmute now',
		advice: 'The host muted you. You can unmute once the host allows it.',
	},
	'screen-share-failed': {
		title: 'Screen sharing did not start',
		advice: 'Choose a screen, window or tab to share and allow it; some browsers do not support sharing at all.',
	},
	'chat-failed': {
		title: 'The chat message was not sent',
		advice: 'Wait until the connection is back, then send it again.',
	},
	unexpected: {
		title: 'Something went wrong',
		advice: 'Reload the page. If it happens again, report the detail below.',
	},
};

export function userError(kind: UserErrorKind, detail?: string): UserError {
	return { kind, ...texts[kind], detail };
}

/** Ends of a session decided by a host (or the lobby's wait): shown as the page's outcome, never retried. */
export const sessionEndKinds = ['removed', 'denied', 'meeting-ended', 'lobby-timeout'] as const satisfies readonly UserErrorKind[];
export type SessionEndKind = (typeof sessionEndKinds)[number];

export function isSessionEnd(kind: UserErrorKind | undefined): kind is SessionEndKind {
	return (sessionEndKinds as readonly (UserErrorKind | undefined)[]).includes(kind);
}

/** What we know of a thrown value: DOMException name, protoo error code, message. */
export type ErrorLike = { name?: string; message?: string; code?: unknown };

function describe(error: unknown): ErrorLike {
	if (typeof error === 'object' && error !== null) {
		const { name, message, code } = error as Record<string, unknown>;
		return {
			name: typeof name === 'string' ? name : undefined,
			message: typeof message === 'string' ? message : undefined,
			code,
		};
	}
	return { message: String(error) };
}

/** getUserMedia / enumerateDevices failures. */
export function mediaAccessError(error: unknown): UserError {
	const { name, message } = describe(error);
	switch (name) {
		case 'NotAllowedError':
		case 'PermissionDeniedError':
		case 'SecurityError':
			return userError('permission-denied', message);
		case 'NotFoundError':
		case 'DevicesNotFoundError':
		case 'OverconstrainedError':
			return userError('no-devices', message);
		case 'NotReadableError':
		case 'TrackStartError':
		case 'AbortError':
			return userError('device-busy', message);
		case 'TypeError':
			// Chromium throws this when mediaDevices is missing on an insecure page.
			return userError('insecure-context', message);
		default:
			return userError('unexpected', message ?? name);
	}
}

/** getDisplayMedia failures; a user cancelling the picker is not an error (null). */
export function screenShareError(error: unknown): UserError | null {
	const { name, message } = describe(error);
	if (name === 'NotAllowedError' && /permission denied by user|cancel/iu.test(message ?? '')) return null;
	if (name === 'AbortError') return null;
	return userError('screen-share-failed', message ?? name);
}

/** protoo error codes that mean "room full" (see ErrorCode in the protocol). */
const LIMIT_REACHED = 429;
const BAD_REQUEST = 400;
const UNAUTHORIZED = 401;
const FORBIDDEN = 403;

/** A rejected `join` (or a request before it): is it worth retrying? */
export function joinError(error: unknown): { error: UserError; retriable: boolean } {
	const { code, message, name } = describe(error);
	if (name === 'UnsupportedError') return { error: userError('unsupported-browser', message), retriable: false };
	if (code === LIMIT_REACHED) return { error: userError('room-full', message), retriable: false };
	// The join token is missing, expired, forged or for another room: another try brings the same answer.
	if (code === UNAUTHORIZED) return { error: userError('invitation-invalid', message), retriable: false };
	if (code === BAD_REQUEST || code === FORBIDDEN) return { error: userError('join-rejected', message), retriable: false };
	return { error: userError('unexpected', message), retriable: true };
}

/** A resume (unmute, camera on) the server refused: 403 while a host keeps the microphone muted. */
export function resumeError(source: string, error: unknown): UserError {
	const { code, message } = describe(error);
	if (code === FORBIDDEN && source === 'mic') return userError('unmute-refused', message);
	return userError('media-failed', message);
}

/**
 * What the page is asked to do (deep link) and what it remembers
 * (preferences in localStorage). Pure apart from the Storage it is given.
 */

/** Same rule as the server's ID_PATTERN_SOURCE (protocol.ts), which is checked at WebSocket upgrade. */
export const ID_PATTERN = /^[A-Za-z0-9_.~-]{1,64}$/u;

export type VideoCodecChoice = 'vp8' | 'h264';

export type DeepLink = {
	roomId?: string | undefined;
	displayName?: string | undefined;
	autojoin: boolean;
	/** undefined: use the remembered preference. */
	videoCodec?: VideoCodecChoice | undefined;
	micOn?: boolean | undefined;
	cameraOn?: boolean | undefined;
	/** Signalling server to use instead of the page's own origin (development with the Vite dev server). */
	serverUrl?: string | undefined;
	/** Media over TCP only, for networks that block UDP. */
	forceTcp: boolean;
	/** A join token from the application's backend (an invitation link); without one, open mode's /api/token is asked. */
	token?: string | undefined;
	/** Asked of open mode's /api/token: join as a viewer (receive only). */
	role?: 'viewer' | undefined;
};

function flag(value: string | null): boolean | undefined {
	if (value === null) return undefined;
	if (['1', 'true', 'yes', 'on', ''].includes(value.toLowerCase())) return true;
	if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
	return undefined;
}

/** Longer than any token the server accepts (it refuses tokens over 8 KiB). */
const MAX_TOKEN_LENGTH = 8192;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/u;

/** `?roomId=<id>&displayName=<name>&autojoin=1[&token=<JWT>][&role=viewer][&codec=h264][&mic=0][&camera=0][&forceTcp=1]` */
export function parseDeepLink(search: string): DeepLink {
	const params = new URLSearchParams(search);
	const roomId = params.get('roomId') ?? params.get('room') ?? undefined;
	const displayName = params.get('displayName')?.trim() || undefined;
	const codec = params.get('codec')?.toLowerCase();
	const server = params.get('server') ?? undefined;
	const token = params.get('token')?.trim();
	return {
		roomId: roomId !== undefined && ID_PATTERN.test(roomId) ? roomId : undefined,
		displayName: displayName?.slice(0, MAX_DISPLAY_NAME_LENGTH),
		autojoin: flag(params.get('autojoin')) ?? false,
		videoCodec: codec === 'h264' || codec === 'vp8' ? codec : undefined,
		micOn: flag(params.get('mic')),
		cameraOn: flag(params.get('camera') ?? params.get('cam')),
		serverUrl: server !== undefined && /^wss?:\/\//u.test(server) ? server : undefined,
		forceTcp: flag(params.get('forceTcp')) ?? false,
		token: token && token.length <= MAX_TOKEN_LENGTH && TOKEN_PATTERN.test(token) ? token : undefined,
		role: params.get('role')?.toLowerCase() === 'viewer' ? 'viewer' : undefined,
	};
}

export const MAX_DISPLAY_NAME_LENGTH = 100;

/** The link to send to someone so that they land in the same room. */
export function inviteLink(pageUrl: string, roomId: string): string {
	const url = new URL(pageUrl);
	url.search = new URLSearchParams({ roomId }).toString();
	url.hash = '';
	return url.toString();
}

/** The signalling URL for a page served by the server itself (same origin): the token says who we are. */
export function signallingUrl(pageUrl: string, roomId: string, token: string, serverUrl?: string): string {
	const page = new URL(pageUrl);
	const base = serverUrl ? new URL(serverUrl) : new URL(`${page.protocol === 'http:' ? 'ws:' : 'wss:'}//${page.host}/`);
	base.search = new URLSearchParams({ roomId, token }).toString();
	return base.toString();
}

/** The URL of a connection that takes a held session over: the same identity, plus the session's resume token. */
export function withResumeToken(url: string, resumeToken: string): string {
	const next = new URL(url);
	next.searchParams.set('resume', resumeToken);
	return next.toString();
}

/** The page's address as it should stay in the bar after joining: the room, and what the invitation carried. */
export function joinedPageQuery(roomId: string, link: Pick<DeepLink, 'token' | 'role'>): string {
	const params = new URLSearchParams({ roomId });
	if (link.token) params.set('token', link.token);
	if (link.role) params.set('role', link.role);
	return `?${params}`;
}

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** A random id made of unambiguous characters; `random` yields numbers in [0, 1). */
export function randomId(length: number, random: () => number = Math.random): string {
	let id = '';
	for (let i = 0; i < length; i++) id += ALPHABET[Math.floor(random() * ALPHABET.length)] ?? 'a';
	return id;
}

/** A room name that is easy to read out: "abc-defg-hij". */
export function randomRoomId(random: () => number = Math.random): string {
	return [randomId(3, random), randomId(4, random), randomId(3, random)].join('-');
}

export type Preferences = {
	displayName: string;
	roomId: string;
	cameraDeviceId: string;
	microphoneDeviceId: string;
	micOn: boolean;
	cameraOn: boolean;
	videoCodec: VideoCodecChoice;
};

export const defaultPreferences: Preferences = {
	displayName: '',
	roomId: '',
	cameraDeviceId: '',
	microphoneDeviceId: '',
	micOn: true,
	cameraOn: true,
	videoCodec: 'vp8',
};

/** The part of localStorage used here, so tests can pass a Map-backed one. */
export type KeyValueStore = {
	getItem(key: string): string | null;
	setItem(key: string, value: string): void;
};

const STORAGE_KEY = 'sfu.preferences.v1';

export function loadPreferences(store: KeyValueStore | undefined): Preferences {
	let saved: unknown;
	try {
		saved = JSON.parse(store?.getItem(STORAGE_KEY) ?? 'null');
	} catch {
		saved = null;
	}
	const result: Preferences = { ...defaultPreferences };
	if (typeof saved !== 'object' || saved === null) return result;
	const record = saved as Record<string, unknown>;
	for (const key of ['displayName', 'roomId', 'cameraDeviceId', 'microphoneDeviceId'] as const) {
		const value = record[key];
		if (typeof value === 'string') result[key] = value;
	}
	for (const key of ['micOn', 'cameraOn'] as const) {
		const value = record[key];
		if (typeof value === 'boolean') result[key] = value;
	}
	if (record.videoCodec === 'vp8' || record.videoCodec === 'h264') result.videoCodec = record.videoCodec;
	if (!ID_PATTERN.test(result.roomId)) result.roomId = '';
	result.displayName = result.displayName.slice(0, MAX_DISPLAY_NAME_LENGTH);
	return result;
}

export function savePreferences(store: KeyValueStore | undefined, preferences: Preferences): void {
	try {
		store?.setItem(STORAGE_KEY, JSON.stringify(preferences));
	} catch {
		// Storage full or disabled (private mode): preferences are a convenience only.
	}
}

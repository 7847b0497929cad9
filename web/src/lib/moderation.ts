/**
 * What a host does to others: one request per action, typed by the
 * protocol, and the lobby as hosts see it. The requests go through
 * RoomClient's signalling (`RoomClient.moderate`); the server checks the
 * `moderate` permission and answers 403 without it.
 */
import type { AssignableRole, LobbyEntry, ModeratedSource, PeerId, RaisedHand, RequestData, RequestMethod, ResponseData } from '../../../server/signalling/protocol.js';

export const moderationMethods = [
	'mutePeer',
	'allowUnmute',
	'stopPeerMedia',
	'removePeer',
	'lockRoom',
	'admitPeer',
	'denyPeer',
	'setPeerRole',
	'endMeeting',
	'getLobby',
	'getAudience',
] as const satisfies readonly RequestMethod[];

export type ModerationMethod = (typeof moderationMethods)[number];

/** Sends one moderation request (RoomClient.moderate). */
export type ModerationChannel = <M extends ModerationMethod>(method: M, data: RequestData<M>) => Promise<ResponseData<M>>;

/** Roles a host can give, in the order a menu shows them. */
export const assignableRoles: readonly AssignableRole[] = ['host', 'presenter', 'participant', 'viewer'];

export function isAssignableRole(value: string): value is AssignableRole {
	return (assignableRoles as readonly string[]).includes(value);
}

export type HostActions = ReturnType<typeof hostActions>;

export function hostActions(send: ModerationChannel) {
	return {
		mute: (peerId: PeerId) => send('mutePeer', { peerId }),
		allowUnmute: (peerId: PeerId) => send('allowUnmute', { peerId }),
		stopMedia: (peerId: PeerId, source: ModeratedSource) => send('stopPeerMedia', { peerId, source }),
		remove: (peerId: PeerId) => send('removePeer', { peerId }),
		setRole: (peerId: PeerId, role: AssignableRole) => send('setPeerRole', { peerId, role }),
		admit: (peerId: PeerId, role?: AssignableRole) => send('admitPeer', role ? { peerId, role } : { peerId }),
		deny: (peerId: PeerId) => send('denyPeer', { peerId }),
		lock: (locked: boolean) => send('lockRoom', { locked }),
		endMeeting: () => send('endMeeting', {}),
		lobby: () => send('getLobby', {}),
		audience: () => send('getAudience', {}),
		/** Brings someone of the audience on stage: a presenter may publish, and everyone sees it. */
		inviteToStage: (peerId: PeerId) => send('setPeerRole', { peerId, role: 'presenter' }),
		/** Back to the audience: its producers close, and the others stop seeing it. */
		moveToAudience: (peerId: PeerId) => send('setPeerRole', { peerId, role: 'viewer' }),
	};
}

/** Longest waiting first, as a host should let them in. */
export function lobbyOrder(waiting: readonly LobbyEntry[]): LobbyEntry[] {
	return [...waiting].sort((a, b) => a.waitingSince - b.waitingSince || a.id.localeCompare(b.id));
}

/** Longest raised first, as a host should bring them on stage. */
export function handsOrder(raised: readonly RaisedHand[]): RaisedHand[] {
	return [...raised].sort((a, b) => a.since - b.since || a.peerId.localeCompare(b.peerId));
}

/** "waiting 2 min" for a lobby entry. */
export function waitedFor(waitingSince: number, now: number): string {
	const seconds = Math.max(0, Math.round((now - waitingSince) / 1000));
	if (seconds < 60) return 'just now';
	const minutes = Math.round(seconds / 60);
	return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * This peer's own access: its role and permissions as the server last said
 * them, whether the room is locked, and whether a host muted it. Pure:
 * RoomClient feeds in what the server notifies and carries out what comes
 * back (unpublish a source the server stopped, pause a muted microphone).
 */
import type { JoinResponse, ModeratedSource, NotificationsFromServer, Permission, Role } from '../../../server/signalling/protocol.js';
import type { MediaSource } from './sources.js';

export type AccessState = {
	role: Role;
	permissions: readonly Permission[];
	locked: boolean;
	/** A host muted us: the microphone stays paused, and cannot be unmuted, until `publishAudio` comes back. */
	mutedByHost: boolean;
	/** Said by the server (join, admission). Before, the role is the token's and the permissions a guess for the page. */
	confirmed: boolean;
};

/** What a source needs, as the server's roles table checks it at `produce`. */
export const sourcePermission: Readonly<Record<MediaSource, Permission>> = {
	mic: 'publishAudio',
	webcam: 'publishVideo',
	screen: 'publishScreen',
	'screen-audio': 'publishScreen',
};

const publishing: readonly Permission[] = ['publishAudio', 'publishVideo', 'publishScreen'];

/**
 * Until the join is answered, the page shows controls by the token's role:
 * a viewer (or a guest) gets no device buttons, nobody gets moderation.
 */
export function provisionalAccess(role: Role): AccessState {
	const receivesOnly = role === 'viewer' || role === 'guest';
	const permissions: Permission[] = receivesOnly ? [] : [...publishing];
	return { role, permissions, locked: false, mutedByHost: false, confirmed: false };
}

export function accessFromJoin(response: JoinResponse): AccessState {
	// A new session starts unmuted: the server's mute belonged to the session it replaced.
	return { role: response.role, permissions: [...response.permissions], locked: response.locked, mutedByHost: false, confirmed: true };
}

export function can(access: AccessState, permission: Permission): boolean {
	return access.permissions.includes(permission);
}

export function mayPublish(access: AccessState, source: MediaSource): boolean {
	return can(access, sourcePermission[source]);
}

/**
 * On the stage: may send a camera, a microphone or a screen (a host's mute
 * leaves the microphone, paused). Otherwise in the audience: the page is a
 * player and asks for no device.
 */
export function onStage(access: AccessState): boolean {
	return publishing.some((permission) => can(access, permission)) || access.mutedByHost;
}

/**
 * Brought on stage from the audience (a host's `setPeerRole`): the devices to
 * open and publish now, camera and microphone as the new role allows. Empty
 * for any other change, and before the server confirmed our access (a join
 * publishes what the user chose on the join screen).
 */
export function stageEntrance(before: AccessState, after: AccessState): MediaSource[] {
	if (!before.confirmed || !after.confirmed || onStage(before) || !onStage(after)) return [];
	return (['webcam', 'mic'] as const).filter((source) => mayPublish(after, source));
}

/** Whether a published source stays: allowed, or the microphone a host muted (paused on the server, not closed). */
export function keepsPublishing(access: AccessState, source: MediaSource): boolean {
	return mayPublish(access, source) || (source === 'mic' && access.mutedByHost);
}

/** The state after a change, and what to do with what we publish. */
export type AccessChange = {
	state: AccessState;
	/** Unpublish locally: the server closed these producers (or would refuse them). */
	withdraw: MediaSource[];
	/** Pause locally without telling the server: it paused them itself. */
	pause: MediaSource[];
};

/**
 * `permissionsChanged`. A new role closed, on the server, the producers it
 * does not allow. The same role without `publishAudio` is a host's mute: the
 * microphone's producer stays, paused, until the host allows unmuting.
 */
export function permissionsChanged(
	state: AccessState,
	{ role, permissions }: Pick<NotificationsFromServer['permissionsChanged'], 'role' | 'permissions'>,
	published: readonly MediaSource[],
): AccessChange {
	const roleChanged = role !== state.role;
	const hasAudio = permissions.includes('publishAudio');
	const mutedNow = !roleChanged && can(state, 'publishAudio') && !hasAudio;
	const mutedByHost = hasAudio || roleChanged ? false : state.mutedByHost || mutedNow;
	const next: AccessState = { ...state, role, permissions: [...permissions], mutedByHost, confirmed: true };
	const withdraw = published.filter((source) => !keepsPublishing(next, source));
	const pause: MediaSource[] = mutedByHost && !state.mutedByHost && published.includes('mic') ? ['mic'] : [];
	return { state: next, withdraw, pause };
}

/** The sources of the page that a moderated source names. */
export function moderatedSources(source: ModeratedSource): MediaSource[] {
	switch (source) {
		case 'mic':
			return ['mic'];
		case 'webcam':
			return ['webcam'];
		case 'screen':
			return ['screen', 'screen-audio'];
	}
}

/** `moderated`: a host acted on our media. */
export function moderated(state: AccessState, event: NotificationsFromServer['moderated'], published: readonly MediaSource[]): AccessChange {
	switch (event.action) {
		case 'muted':
			return { state: { ...state, mutedByHost: true }, withdraw: [], pause: !state.mutedByHost && published.includes('mic') ? ['mic'] : [] };
		case 'unmute-allowed':
			// permissionsChanged gave publishAudio back just before; this only confirms it.
			return { state: { ...state, mutedByHost: !can(state, 'publishAudio') && state.mutedByHost }, withdraw: [], pause: [] };
		case 'media-stopped':
			return { state, withdraw: moderatedSources(event.source).filter((source) => published.includes(source)), pause: [] };
	}
}

const sourceNames: Record<ModeratedSource, string> = { mic: 'microphone', webcam: 'camera', screen: 'screen share' };

/** One line for the page about a host's action on us. */
export function moderationNotice(event: NotificationsFromServer['moderated']): string {
	switch (event.action) {
		case 'muted':
			return 'The host muted your microphone. You can unmute when the host allows it.';
		case 'unmute-allowed':
			return 'The host allows you to unmute again.';
		case 'media-stopped':
			return `The host stopped your ${sourceNames[event.source]}.`;
	}
}

const roleLabels: Record<Role, string> = {
	host: 'Host',
	presenter: 'Presenter',
	participant: 'Participant',
	viewer: 'Viewer',
	guest: 'Guest',
	service: 'Service',
};

export function roleLabel(role: Role): string {
	return roleLabels[role];
}

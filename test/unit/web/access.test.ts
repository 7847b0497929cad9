import { describe, expect, it } from 'vitest';
import { allRoles, assignableRoles as serverAssignableRoles, rolePermissions } from '../../../server/auth/roles.js';
import type { NotificationsFromServer, Permission } from '../../../server/signalling/protocol.js';
import {
	accessFromJoin,
	keepsPublishing,
	moderated,
	moderationNotice,
	onStage,
	permissionsChanged,
	provisionalAccess,
	roleLabel,
	sourcePermission,
	stageEntrance,
	type AccessState,
} from '../../../web/src/lib/access.js';
import { assignableRoles, handsOrder, hostActions, isAssignableRole, lobbyOrder, waitedFor } from '../../../web/src/lib/moderation.js';
import type { ModerationChannel } from '../../../web/src/lib/moderation.js';
import type { RequestData, RequestMethod } from '../../../server/signalling/protocol.js';
import { mediaSources } from '../../../web/src/lib/sources.js';

const participant: Permission[] = [...rolePermissions.participant];
const joinedAs = (role: 'participant' | 'host' | 'viewer'): AccessState =>
	accessFromJoin({ peers: [], role, permissions: [...rolePermissions[role]], locked: false, lobby: false, audience: 0 });
const moderatedEvent = (action: NotificationsFromServer['moderated']['action'], source: NotificationsFromServer['moderated']['source'] = 'mic') => ({
	action,
	source,
	producerIds: [],
	by: 'host',
});

describe('own access', () => {
	it('the page’s guess before the join never shows more than the server’s roles table allows', () => {
		for (const role of allRoles) {
			const guess = provisionalAccess(role);
			expect(guess.confirmed).toBe(false);
			for (const permission of guess.permissions) expect(rolePermissions[role], `${role}: ${permission}`).toContain(permission);
			expect(guess.permissions).not.toContain('moderate');
		}
		expect(provisionalAccess('viewer').permissions).toEqual([]);
	});

	it('each source needs the permission the server checks at produce', () => {
		expect(mediaSources.map((source) => sourcePermission[source])).toEqual(['publishAudio', 'publishVideo', 'publishScreen', 'publishScreen']);
	});

	it('a host’s mute (same role, publishAudio withdrawn) keeps the microphone, paused, and marks it muted by the host', () => {
		const change = permissionsChanged(joinedAs('participant'), { role: 'participant', permissions: participant.filter((p) => p !== 'publishAudio') }, ['mic', 'webcam']);
		expect(change.state.mutedByHost).toBe(true);
		expect(change.withdraw).toEqual([]);
		expect(change.pause).toEqual(['mic']);
		expect(keepsPublishing(change.state, 'mic')).toBe(true);
		// The `moderated` that follows changes nothing more.
		const confirmed = moderated(change.state, moderatedEvent('muted'), ['mic', 'webcam']);
		expect(confirmed).toEqual({ state: change.state, withdraw: [], pause: [] });
	});

	it('allowUnmute gives publishAudio back: no longer muted by the host (the peer unmutes itself)', () => {
		const muted = permissionsChanged(joinedAs('participant'), { role: 'participant', permissions: participant.filter((p) => p !== 'publishAudio') }, ['mic']).state;
		const allowed = permissionsChanged(muted, { role: 'participant', permissions: participant }, ['mic']);
		expect(allowed).toEqual({ state: { ...muted, permissions: participant, mutedByHost: false }, withdraw: [], pause: [] });
		expect(moderated(allowed.state, moderatedEvent('unmute-allowed'), ['mic']).state.mutedByHost).toBe(false);
	});

	it('a `muted` that arrives first still pauses the microphone', () => {
		const change = moderated(joinedAs('participant'), moderatedEvent('muted'), ['mic']);
		expect(change.state.mutedByHost).toBe(true);
		expect(change.pause).toEqual(['mic']);
	});

	it('a new role withdraws what it may not publish (the server closed those producers), and ends a mute', () => {
		const muted = moderated(joinedAs('participant'), moderatedEvent('muted'), ['mic']).state;
		const viewer = permissionsChanged(muted, { role: 'viewer', permissions: [...rolePermissions.viewer] }, ['mic', 'webcam', 'screen', 'screen-audio']);
		expect(viewer.state).toMatchObject({ role: 'viewer', mutedByHost: false });
		expect(viewer.withdraw).toEqual(['mic', 'webcam', 'screen', 'screen-audio']);
		expect(viewer.pause).toEqual([]);
		const host = permissionsChanged(joinedAs('participant'), { role: 'host', permissions: [...rolePermissions.host] }, ['mic', 'webcam']);
		expect(host.withdraw).toEqual([]);
		expect(host.state.permissions).toContain('moderate');
	});

	it('media stopped by a host withdraws that source only (a screen share with its audio)', () => {
		const published = ['mic', 'webcam', 'screen', 'screen-audio'] as const;
		expect(moderated(joinedAs('participant'), moderatedEvent('media-stopped', 'webcam'), published).withdraw).toEqual(['webcam']);
		expect(moderated(joinedAs('participant'), moderatedEvent('media-stopped', 'screen'), published).withdraw).toEqual(['screen', 'screen-audio']);
		expect(moderated(joinedAs('participant'), moderatedEvent('media-stopped', 'screen'), ['mic']).withdraw).toEqual([]);
	});

	it('a rejoin starts from the server’s answer, not muted', () => {
		expect(accessFromJoin({ peers: [], role: 'guest', permissions: [], locked: true, lobby: true, audience: 0 })).toEqual({
			role: 'guest',
			permissions: [],
			locked: true,
			mutedByHost: false,
			confirmed: true,
		});
	});

	it('says what the host did in words', () => {
		expect(moderationNotice(moderatedEvent('muted'))).toContain('muted your microphone');
		expect(moderationNotice(moderatedEvent('media-stopped', 'webcam'))).toBe('The host stopped your camera.');
		expect(allRoles.map(roleLabel)).toEqual(['Host', 'Presenter', 'Participant', 'Viewer', 'Guest', 'Service']);
	});
});

describe('host actions', () => {
	it('offers the roles the server lets a host give', () => {
		expect([...assignableRoles].sort()).toEqual([...serverAssignableRoles].sort());
		expect(isAssignableRole('viewer')).toBe(true);
		expect(isAssignableRole('guest')).toBe(false);
		expect(isAssignableRole('service')).toBe(false);
	});

	it('lists the lobby longest-waiting first', () => {
		const entries = [
			{ id: 'b', displayName: 'B', waitingSince: 2000 },
			{ id: 'a', displayName: 'A', waitingSince: 1000 },
			{ id: 'c', displayName: 'C', waitingSince: 1000 },
		];
		expect(lobbyOrder(entries).map((e) => e.id)).toEqual(['a', 'c', 'b']);
		expect(entries.map((e) => e.id)).toEqual(['b', 'a', 'c']);
	});

	it('says how long someone has waited', () => {
		expect(waitedFor(0, 30_000)).toBe('just now');
		expect(waitedFor(0, 5 * 60_000)).toBe('5 min');
		expect(waitedFor(0, 95 * 60_000)).toBe('1 h 35 min');
		expect(waitedFor(10_000, 0)).toBe('just now');
	});
});

describe('stage and audience', () => {
	const asRole = (role: (typeof allRoles)[number]): AccessState =>
		accessFromJoin({ peers: [], role, permissions: [...rolePermissions[role]], locked: false, lobby: false, audience: 0 });

	it('the page is a player exactly for the roles the server counts in the audience (those that may not publish)', () => {
		const mayPublish = (role: (typeof allRoles)[number]) => rolePermissions[role].some((p) => ['publishAudio', 'publishVideo', 'publishScreen', 'publishData'].includes(p));
		for (const role of allRoles) expect(onStage(asRole(role)), role).toBe(mayPublish(role));
		expect(onStage(provisionalAccess('viewer'))).toBe(false);
	});

	it('a participant muted by the host (no publishAudio) stays on stage', () => {
		const { state } = permissionsChanged(asRole('participant'), { role: 'participant', permissions: participant.filter((p) => p !== 'publishAudio') }, ['mic', 'webcam']);
		expect(state.mutedByHost).toBe(true);
		expect(onStage(state)).toBe(true);
	});

	it('brought on stage from the audience: camera and microphone are opened and published; no other change opens a device', () => {
		const viewer = asRole('viewer');
		const promoted = permissionsChanged(viewer, { role: 'presenter', permissions: [...rolePermissions.presenter] }, []).state;
		expect(stageEntrance(viewer, promoted)).toEqual(['webcam', 'mic']);
		// Back to the audience: what was published is withdrawn, nothing opened.
		const demoted = permissionsChanged(promoted, { role: 'viewer', permissions: [...rolePermissions.viewer] }, ['webcam', 'mic']);
		expect(demoted.withdraw).toEqual(['webcam', 'mic']);
		expect(stageEntrance(promoted, demoted.state)).toEqual([]);
		expect(stageEntrance(asRole('participant'), asRole('host'))).toEqual([]);
		// The join itself (from the token's guess to the server's answer) publishes what the join screen chose, not this.
		expect(stageEntrance(provisionalAccess('viewer'), asRole('presenter'))).toEqual([]);
		// A grant of video only opens the camera only.
		const videoOnly = permissionsChanged(viewer, { role: 'presenter', permissions: ['publishVideo', 'subscribe'] }, []).state;
		expect(stageEntrance(viewer, videoOnly)).toEqual(['webcam']);
	});

	it('a host brings someone on stage as a presenter, and back to the audience as a viewer; browsing asks getAudience', async () => {
		const sent: { method: RequestMethod; data: unknown }[] = [];
		const channel = (async (method: RequestMethod, data: RequestData<RequestMethod>) => {
			sent.push({ method, data });
			return {};
		}) as ModerationChannel;
		const actions = hostActions(channel);
		await actions.inviteToStage('vic');
		await actions.moveToAudience('vic');
		await actions.audience();
		expect(sent).toEqual([
			{ method: 'setPeerRole', data: { peerId: 'vic', role: 'presenter' } },
			{ method: 'setPeerRole', data: { peerId: 'vic', role: 'viewer' } },
			{ method: 'getAudience', data: {} },
		]);
	});

	it('lists raised hands longest-raised first', () => {
		const raised = [
			{ peerId: 'b', displayName: 'B', since: 2000 },
			{ peerId: 'a', displayName: 'A', since: 1000 },
		];
		expect(handsOrder(raised).map((h) => h.peerId)).toEqual(['a', 'b']);
		expect(raised.map((h) => h.peerId)).toEqual(['b', 'a']);
	});
});

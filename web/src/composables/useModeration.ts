/**
 * The host's side of moderation: who waits in the lobby, and the actions on
 * others. A failed action is shown as an error on the page; the peers list
 * and our own access update from the server's notifications (useRoom).
 */
import { computed, ref, watch } from 'vue';
import type { AssignableRole, LobbyEntry, ModeratedSource, PeerId, ResponseData } from '../../../server/signalling/protocol';
import { userError } from '../lib/errors.js';
import { handsOrder, hostActions, lobbyOrder } from '../lib/moderation.js';
import type { HostActions } from '../lib/moderation.js';
import type { RoomClient } from '../lib/RoomClient.js';
import type { Room } from './useRoom.js';

export function useModeration(room: Room) {
	const waiting = ref<LobbyEntry[]>([]);
	/** Actions waiting for the server's answer, by a key such as `mute:<peerId>`, so buttons do not fire twice. */
	const pending = ref<Set<string>>(new Set());
	/** Raised hands, longest raised first (for hosts, presenters and participants). */
	const hands = computed(() => handsOrder(room.hands.value));
	/** The audience one by one, as a host last asked for it (`getAudience`); undefined until asked. */
	const audience = ref<ResponseData<'getAudience'>>();

	watch(
		room.client,
		(client: RoomClient | undefined) => {
			waiting.value = [];
			client?.on('lobbyChanged', (entries) => {
				waiting.value = lobbyOrder(entries);
			});
		},
		{ immediate: true },
	);
	// Out of the room, the list is stale; after a rejoin the server sends it again.
	watch(room.session, (session) => {
		if (session.phase !== 'joined') {
			waiting.value = [];
			audience.value = undefined;
		}
	});

	/** Whether a host's page shows the audience now: then it follows the count. */
	let followingAudience = false;

	/** Who is in the audience now (hosts only: the server answers 403 otherwise). */
	async function loadAudience(): Promise<boolean> {
		const asked = room.audience.value;
		const done = await act('audience', async (a) => {
			audience.value = await a.audience();
		});
		// The count moved on while we asked (the server tells it at most 4 times a second): ask once more.
		if (done && followingAudience && room.audience.value !== asked) return loadAudience();
		return done;
	}

	/** The participants panel of a host is open: list the audience, and keep the list current. */
	function followAudience(on: boolean): void {
		followingAudience = on;
		if (on) void loadAudience();
		else audience.value = undefined;
	}
	// A raised hand changes the list's order and marks, not the count.
	watch([room.audience, room.hands], () => {
		if (followingAudience && !pending.value.has('audience')) void loadAudience();
	});

	/** On stage or back: the browsed list is stale after it, so it is asked again if it is shown. */
	async function changeStage(peerId: PeerId, toStage: boolean): Promise<boolean> {
		const done = await act(`stage:${peerId}`, (a) => (toStage ? a.inviteToStage(peerId) : a.moveToAudience(peerId)));
		if (done && audience.value) await loadAudience();
		return done;
	}

	/** Runs one action against the current client; false (and an error on the page) when it failed. */
	async function act<R>(key: string, action: (actions: HostActions) => Promise<R>): Promise<boolean> {
		const client = room.client.value;
		if (!client || pending.value.has(key)) return false;
		pending.value = new Set(pending.value).add(key);
		try {
			await action(hostActions((method, data) => client.moderate(method, data)));
			return true;
		} catch (error) {
			room.showError(userError('moderation-failed', error instanceof Error ? error.message : String(error)));
			return false;
		} finally {
			const next = new Set(pending.value);
			next.delete(key);
			pending.value = next;
		}
	}

	return {
		waiting,
		pending,
		hands,
		audience,
		loadAudience,
		inviteToStage: (peerId: PeerId) => changeStage(peerId, true),
		moveToAudience: (peerId: PeerId) => changeStage(peerId, false),
		followAudience,
		mute: (peerId: PeerId) => act(`mute:${peerId}`, (a) => a.mute(peerId)),
		allowUnmute: (peerId: PeerId) => act(`allow-unmute:${peerId}`, (a) => a.allowUnmute(peerId)),
		stopMedia: (peerId: PeerId, source: ModeratedSource) => act(`stop-${source}:${peerId}`, (a) => a.stopMedia(peerId, source)),
		remove: (peerId: PeerId) => act(`remove:${peerId}`, (a) => a.remove(peerId)),
		setRole: (peerId: PeerId, role: AssignableRole) => act(`role:${peerId}`, (a) => a.setRole(peerId, role)),
		admit: (peerId: PeerId) => act(`admit:${peerId}`, (a) => a.admit(peerId)),
		deny: (peerId: PeerId) => act(`deny:${peerId}`, (a) => a.deny(peerId)),
		lock: (locked: boolean) => act('lock', (a) => a.lock(locked)),
		endMeeting: () => act('end', (a) => a.endMeeting()),
	};
}

export type Moderation = ReturnType<typeof useModeration>;

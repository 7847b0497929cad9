/**
 * The host's side of moderation: who waits in the lobby, and the actions on
 * others. A failed action is shown as an error on the page; the peers list
 * and our own access update from the server's notifications (useRoom).
 */
import { ref, watch } from 'vue';
import type { AssignableRole, LobbyEntry, ModeratedSource, PeerId } from '../../../server/signalling/protocol';
import { userError } from '../lib/errors.js';
import { hostActions, lobbyOrder } from '../lib/moderation.js';
import type { HostActions } from '../lib/moderation.js';
import type { RoomClient } from '../lib/RoomClient.js';
import type { Room } from './useRoom.js';

export function useModeration(room: Room) {
	const waiting = ref<LobbyEntry[]>([]);
	/** Actions waiting for the server's answer, by a key such as `mute:<peerId>`, so buttons do not fire twice. */
	const pending = ref<Set<string>>(new Set());

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
		if (session.phase !== 'joined') waiting.value = [];
	});

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

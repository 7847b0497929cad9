/** Room chat over the data channel: messages in order of arrival, and sending. */
import { ref, watch } from 'vue';
import type { ChatMessage, RoomClient } from '../lib/RoomClient.js';
import { userError } from '../lib/errors.js';
import type { Room } from './useRoom.js';

const MAX_MESSAGES = 500;

export function useChat(room: Room) {
	const messages = ref<ChatMessage[]>([]);
	const ready = ref(false);
	const unread = ref(0);
	const open = ref(false);

	function add(message: ChatMessage): void {
		messages.value = [...messages.value, message].slice(-MAX_MESSAGES);
		if (!open.value && !message.own) unread.value++;
	}

	watch(
		room.client,
		(client: RoomClient | undefined) => {
			messages.value = [];
			ready.value = false;
			unread.value = 0;
			if (!client) return;
			client.on('chatReady', (value) => {
				ready.value = value;
			});
			client.on('chatMessage', add);
		},
		{ immediate: true },
	);

	watch(open, (value) => {
		if (value) unread.value = 0;
	});

	async function send(text: string): Promise<boolean> {
		const client = room.client.value;
		if (!client || text.trim() === '') return false;
		try {
			add(await client.sendChat(text));
			return true;
		} catch (error) {
			room.showError(userError('chat-failed', error instanceof Error ? error.message : String(error)));
			return false;
		}
	}

	return { messages, ready, unread, open, send };
}

export type Chat = ReturnType<typeof useChat>;

/** The chat's wire format over its data channel (label `chat`), pure. */

export const CHAT_LABEL = 'chat';
export const MAX_CHAT_LENGTH = 2000;

export type ChatWire = { text: string; sentAt: number; displayName: string };

/** A message as sent: trimmed and bounded. */
export function chatWire(text: string, displayName: string, sentAt: number): ChatWire {
	return { text: text.trim().slice(0, MAX_CHAT_LENGTH), sentAt, displayName };
}

/** A received message, or undefined when it is not one (wrong shape, empty, oversized). */
export function parseChat(raw: unknown): ChatWire | undefined {
	if (typeof raw !== 'string' || raw.length > MAX_CHAT_LENGTH * 4) return undefined;
	try {
		const value = JSON.parse(raw) as Partial<ChatWire>;
		if (typeof value.text !== 'string' || value.text.trim() === '') return undefined;
		return {
			text: value.text.slice(0, MAX_CHAT_LENGTH),
			sentAt: typeof value.sentAt === 'number' ? value.sentAt : Date.now(),
			displayName: typeof value.displayName === 'string' ? value.displayName.slice(0, 100) : '',
		};
	} catch {
		return undefined;
	}
}

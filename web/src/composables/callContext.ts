/** What the meeting's components share, provided once by App.vue. */
import { inject, provide } from 'vue';
import type { InjectionKey } from 'vue';
import type { Chat } from './useChat.js';
import type { LayerAdaptation } from './useLayerAdaptation.js';
import type { Media } from './useMedia.js';
import type { Moderation } from './useModeration.js';
import type { Room } from './useRoom.js';

export type CallContext = { room: Room; media: Media; layers: LayerAdaptation; chat: Chat; moderation: Moderation };

const key: InjectionKey<CallContext> = Symbol('call');

export function provideCall(context: CallContext): void {
	provide(key, context);
}

export function useCall(): CallContext {
	const context = inject(key);
	if (!context) throw new Error('useCall() outside of the meeting (App.vue provides it)');
	return context;
}

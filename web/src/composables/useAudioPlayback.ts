/**
 * Remote audio through <audio> elements. Browsers refuse to start sound
 * without a user gesture (a deep link that joins by itself); then the page
 * shows one "enable sound" button that starts them all.
 */
import { ref } from 'vue';

const elements = new Set<HTMLAudioElement>();
const blocked = ref(false);

function tryPlay(element: HTMLAudioElement): void {
	element.play().then(
		() => undefined,
		(error: unknown) => {
			if ((error as { name?: string }).name === 'NotAllowedError') blocked.value = true;
		},
	);
}

export function useAudioPlayback() {
	function attach(element: HTMLAudioElement, track: MediaStreamTrack): void {
		elements.add(element);
		const current = element.srcObject instanceof MediaStream ? element.srcObject.getAudioTracks()[0] : undefined;
		if (current !== track) element.srcObject = new MediaStream([track]);
		tryPlay(element);
	}

	function detach(element: HTMLAudioElement): void {
		elements.delete(element);
		element.srcObject = null;
	}

	/** From a click: allowed to start sound now. */
	function unlock(): void {
		blocked.value = false;
		for (const element of elements) tryPlay(element);
	}

	return { blocked, attach, detach, unlock };
}

/**
 * Watches a video element: its rendered size in device pixels, whether it
 * can be seen (in the viewport, page visible), and its first decoded frame.
 */
import { onBeforeUnmount, ref, watch } from 'vue';
import type { Ref } from 'vue';
import type { TileGeometry } from './useLayerAdaptation.js';

export function useTileObserver(
	element: Ref<HTMLVideoElement | undefined>,
	onChange: (geometry: TileGeometry) => void,
	onFirstFrame: () => void,
) {
	const size = { width: 0, height: 0 };
	let intersecting = false;
	const framesShown = ref(false);
	let frameCallback: number | undefined;

	function emit(): void {
		const scale = window.devicePixelRatio || 1;
		onChange({
			width: Math.round(size.width * scale),
			height: Math.round(size.height * scale),
			visible: intersecting && document.visibilityState === 'visible',
		});
	}

	const resizeObserver = new ResizeObserver((entries) => {
		for (const entry of entries) {
			size.width = entry.contentRect.width;
			size.height = entry.contentRect.height;
		}
		emit();
	});
	const intersectionObserver = new IntersectionObserver((entries) => {
		for (const entry of entries) intersecting = entry.isIntersecting;
		emit();
	});
	const onVisibility = () => emit();

	function watchFrames(video: HTMLVideoElement): void {
		// The first frame that reaches the compositor: "the picture is there".
		frameCallback = video.requestVideoFrameCallback(() => {
			frameCallback = undefined;
			framesShown.value = true;
			onFirstFrame();
		});
	}

	watch(
		element,
		(video, previous) => {
			if (previous) {
				resizeObserver.unobserve(previous);
				intersectionObserver.unobserve(previous);
				if (frameCallback !== undefined) previous.cancelVideoFrameCallback(frameCallback);
			}
			framesShown.value = false;
			if (!video) return;
			resizeObserver.observe(video);
			intersectionObserver.observe(video);
			watchFrames(video);
		},
		{ immediate: true, flush: 'post' },
	);
	document.addEventListener('visibilitychange', onVisibility);

	onBeforeUnmount(() => {
		resizeObserver.disconnect();
		intersectionObserver.disconnect();
		document.removeEventListener('visibilitychange', onVisibility);
	});

	return { framesShown };
}

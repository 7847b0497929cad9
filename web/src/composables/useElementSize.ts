/** The content size of an element (CSS pixels), kept up to date. */
import { onBeforeUnmount, ref, watch } from 'vue';
import type { Ref } from 'vue';

export function useElementSize(element: Ref<HTMLElement | undefined>) {
	const width = ref(0);
	const height = ref(0);
	const observer = new ResizeObserver((entries) => {
		for (const entry of entries) {
			width.value = entry.contentRect.width;
			height.value = entry.contentRect.height;
		}
	});
	watch(
		element,
		(current, previous) => {
			if (previous) observer.unobserve(previous);
			if (current) observer.observe(current);
		},
		{ immediate: true, flush: 'post' },
	);
	onBeforeUnmount(() => observer.disconnect());
	return { width, height };
}

/** What a page publishes, by `appData.source` of its producers (consumers carry it too). */
export type MediaSource = 'mic' | 'webcam' | 'screen' | 'screen-audio';

export const mediaSources: readonly MediaSource[] = ['mic', 'webcam', 'screen', 'screen-audio'];

export function isMediaSource(value: unknown): value is MediaSource {
	return typeof value === 'string' && (mediaSources as readonly string[]).includes(value);
}

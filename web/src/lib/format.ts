/** Formatting for display: bitrates, times, sizes, scores. Pure. */

export function formatBitrate(bitsPerSecond: number | undefined): string {
	if (bitsPerSecond === undefined || !Number.isFinite(bitsPerSecond) || bitsPerSecond < 0) return '–';
	if (bitsPerSecond < 1000) return `${Math.round(bitsPerSecond)} bit/s`;
	if (bitsPerSecond < 1_000_000) return `${Math.round(bitsPerSecond / 1000)} kbit/s`;
	return `${(bitsPerSecond / 1_000_000).toFixed(bitsPerSecond < 10_000_000 ? 2 : 1)} Mbit/s`;
}

/** Chat time stamps: 24-hour HH:MM in the viewer's time zone. */
export function formatClockTime(epochMs: number, timeZone?: string): string {
	return new Intl.DateTimeFormat('en-GB', {
		hour: '2-digit',
		minute: '2-digit',
		hour12: false,
		...(timeZone ? { timeZone } : {}),
	}).format(new Date(epochMs));
}

/** Durations as "850 ms", "1.3 s", "2 min 5 s". */
export function formatDuration(ms: number | undefined): string {
	if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	const minutes = Math.floor(ms / 60_000);
	const seconds = Math.round((ms % 60_000) / 1000);
	return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

export function formatResolution(width: number | undefined, height: number | undefined): string {
	if (!width || !height) return '–';
	return `${width}×${height}`;
}

/** A fraction (0..1) as a percentage with one decimal. */
export function formatPercent(fraction: number | undefined): string {
	if (fraction === undefined || !Number.isFinite(fraction)) return '–';
	return `${(Math.min(Math.max(fraction, 0), 1) * 100).toFixed(1)} %`;
}

/** Round-trip time given in seconds (as WebRTC stats give it). */
export function formatRtt(seconds: number | undefined): string {
	if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
	return `${Math.round(seconds * 1000)} ms`;
}

export function formatLayers(spatial: number | null | undefined, temporal: number | null | undefined): string {
	if (spatial === undefined) return '–';
	if (spatial === null) return 'none';
	return temporal === null || temporal === undefined ? `S${spatial}` : `S${spatial} T${temporal}`;
}

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

/** mediasoup scores are 0 (worst) to 10 (best). */
export function qualityFromScore(score: number | undefined): Quality {
	if (score === undefined || !Number.isFinite(score)) return 'unknown';
	if (score >= 8) return 'good';
	if (score >= 5) return 'fair';
	return 'poor';
}

/** The worst of several qualities; 'unknown' only when all are unknown. */
export function worstQuality(qualities: Iterable<Quality>): Quality {
	const rank: Record<Quality, number> = { poor: 0, fair: 1, good: 2, unknown: 3 };
	let worst: Quality = 'unknown';
	for (const quality of qualities) if (rank[quality] < rank[worst]) worst = quality;
	return worst;
}

/** Initials for a tile without video: "Ada Lovelace" → "AL". */
export function initials(displayName: string): string {
	const words = displayName.trim().split(/\s+/u).filter(Boolean);
	if (words.length === 0) return '?';
	const letters = words.length === 1 ? [...(words[0] ?? '')].slice(0, 2) : [[...(words[0] ?? '')][0], [...(words.at(-1) ?? '')][0]];
	return letters.join('').toUpperCase();
}

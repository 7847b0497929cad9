/**
 * Reading a tile's frame times around a worker's death (pure): the longest
 * stall, and when decoding was back after it.
 */

/** A pause between two frames longer than this is a stall (frames come every 33–67 ms: 30 fps, or 15 with a temporal layer less). */
export const STALL_MS = 250;
/** Decoding is back at the third frame after a stall (as the e2e tests' "frames advancing"). */
export const FRAMES_TO_RECOVER = 3;

export type ViewReading = {
	/** The longest time without a frame from `from` (the kill) to the last frame, in ms. */
	longestGapMs: number;
	/** Whether the video stopped at all (a gap over STALL_MS). */
	stopped: boolean;
	/** Kill → the FRAMES_TO_RECOVER-th frame after the longest gap (0 when it never stopped); undefined while not back. */
	backAfterMs: number | undefined;
	/** Frames since the longest gap ended. */
	framesSince: number;
};

/** Reads the frames (ascending wall-clock ms) of one view around `from` (the kill), as seen at `now`. */
export function readView(frames: readonly number[], from: number, now: number): ViewReading {
	// The gap across the kill starts at the last frame before it.
	const before = frames.filter((at) => at <= from).at(-1) ?? from;
	const times = [before, ...frames.filter((at) => at > from)];
	// The time until now counts as a gap too: a video that stopped and has not come back.
	let longest = now - (times.at(-1) as number);
	let endIndex = times.length;
	for (let i = 1; i < times.length; i++) {
		const gap = (times[i] as number) - (times[i - 1] as number);
		if (gap > longest) {
			longest = gap;
			endIndex = i;
		}
	}
	if (longest <= STALL_MS) return { longestGapMs: longest, stopped: false, backAfterMs: 0, framesSince: times.length - 1 };
	const back = times[endIndex + FRAMES_TO_RECOVER - 1];
	return { longestGapMs: longest, stopped: true, backAfterMs: back === undefined ? undefined : Math.max(0, back - from), framesSince: times.length - endIndex };
}

/** Steady: back, with frames still coming (at least `minFrames` since the stall, the last within STALL_MS of now). */
export function isSteady(frames: readonly number[], reading: ViewReading, now: number, minFrames = 15): boolean {
	const last = frames.at(-1);
	return reading.backAfterMs !== undefined && reading.framesSince >= minFrames && last !== undefined && now - last <= STALL_MS;
}

/**
 * The longest time from `from` to `to` during which a tile's received packet
 * count did not grow (samples every ~200 ms; a new track's count restarts
 * from 0, which counts as growth once it rises again).
 */
export function longestPacketGap(samples: readonly [number, number][], from: number, to: number): number {
	let longest = 0;
	let lastGrowth = from;
	let lastCount: number | undefined;
	for (const [at, count] of samples) {
		if (at < from) {
			lastCount = count;
			continue;
		}
		if (at > to) break;
		if (lastCount === undefined || count !== lastCount) {
			if (lastCount !== undefined) longest = Math.max(longest, at - lastGrowth);
			lastGrowth = at;
		}
		lastCount = count;
	}
	return Math.max(longest, Math.min(to, samples.at(-1)?.[0] ?? to) - lastGrowth);
}

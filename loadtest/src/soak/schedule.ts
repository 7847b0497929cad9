/**
 * The soak run's churn, decided before it starts: a seeded list of timed
 * events (a peer leaves and another joins, a peer drops and resumes, a peer
 * drops for good, a worker is killed), so a run can be repeated event for
 * event. Which peer an event concerns is chosen at run time from `pick`,
 * among the peers of the room that are free then.
 */
import { seededRandom } from '../media/random.js';

export type ChurnKind = 'leave-join' | 'drop-resume' | 'drop-abandon' | 'worker-kill';

export type ChurnEvent = {
	/** Since the start of the churn. */
	atMs: number;
	kind: ChurnKind;
	/** Room index (peer events). */
	room: number;
	/** In [0, 1): which of the room's free peers, at run time. */
	pick: number;
	/** drop-resume: how long the peer stays away (always inside the grace window). */
	awayMs?: number;
	/** worker-kill: the worker slot. */
	worker?: number;
};

export type ScheduleOptions = {
	seed: number;
	durationMs: number;
	rooms: number;
	workers: number;
	/** Mean time between two peer events (over all rooms). */
	churnEveryMs: number;
	/** Time between worker kills (± 20%); 0: none. */
	killEveryMs: number;
	/** The server's rooms.resumeGraceMs. */
	graceMs: number;
	/** Relative weights of the peer events. */
	weights?: { leaveJoin: number; dropResume: number; dropAbandon: number };
	/** No event starts this close to the end, so each one finishes inside the run (default: grace + 15 s). */
	quietTailMs?: number;
};

export const DEFAULT_WEIGHTS = { leaveJoin: 4, dropResume: 4, dropAbandon: 1 } as const;

/** Away times of a drop that resumes: between 1 s and half the grace window. */
export function awayRange(graceMs: number): { min: number; max: number } {
	const max = Math.max(1000, Math.floor(graceMs / 2));
	return { min: Math.min(1000, max), max };
}

export function churnSchedule(options: ScheduleOptions): ChurnEvent[] {
	const random = seededRandom(options.seed);
	const weights = options.weights ?? DEFAULT_WEIGHTS;
	const quietTailMs = options.quietTailMs ?? options.graceMs + 15_000;
	const lastStart = options.durationMs - quietTailMs;
	const events: ChurnEvent[] = [];
	if (lastStart <= 0 || options.rooms < 1) return events;

	// Peer events: intervals uniform in [0.5, 1.5] × the mean, so they neither bunch up nor tick like a clock.
	const total = weights.leaveJoin + weights.dropResume + weights.dropAbandon;
	const away = awayRange(options.graceMs);
	const maxEvents = Math.ceil(lastStart / (options.churnEveryMs * 0.5)) + 1;
	let at = options.churnEveryMs * (0.5 + random());
	for (let count = 0; count < maxEvents && at < lastStart; count++) {
		const room = Math.floor(random() * options.rooms);
		const pick = random();
		const roll = random() * total;
		const kind: ChurnKind = roll < weights.leaveJoin ? 'leave-join' : roll < weights.leaveJoin + weights.dropResume ? 'drop-resume' : 'drop-abandon';
		const event: ChurnEvent = { atMs: Math.round(at), kind, room, pick };
		const awayRoll = random();
		if (kind === 'drop-resume') event.awayMs = Math.round(away.min + awayRoll * (away.max - away.min));
		events.push(event);
		at += options.churnEveryMs * (0.5 + random());
	}

	// Worker kills: every killEveryMs ± 20%; a run shorter than that still gets one, at 40% of its length.
	if (options.killEveryMs > 0 && options.workers > 0) {
		const first = Math.min(options.killEveryMs, options.durationMs * 0.4);
		const maxKills = Math.ceil(lastStart / options.killEveryMs) + 1;
		let killAt = first * (0.9 + 0.2 * random());
		for (let count = 0; count < maxKills && killAt < lastStart; count++) {
			events.push({ atMs: Math.round(killAt), kind: 'worker-kill', room: 0, pick: random(), worker: Math.floor(random() * options.workers) });
			killAt += options.killEveryMs * (0.8 + 0.4 * random());
		}
	}
	return events.sort((a, b) => a.atMs - b.atMs);
}

/** "30m", "90s", "1h", "1500ms", or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): number {
	const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
	if (!match) throw new Error(`not a duration: "${text}" (e.g. 30m, 90s, 1h)`);
	const value = Number(match[1]);
	const unit = match[2] ?? 's';
	const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
	return Math.round(value * factor);
}

/** The recovery benchmark's figures: one line per run, percentiles over the runs (pure). */
import { summarize, type Percentiles } from '../stats/percentiles.js';
import type { RunResult } from './RecoveryRun.js';

/** A run that starts on a machine this busy (%, all cores) measures a lack of CPU as much as the recovery. */
export const SATURATED_PERCENT = 95;

export type RecoverySummary = {
	runs: number;
	failedRuns: number;
	/** Runs whose machine was at least SATURATED_PERCENT busy before the kill. */
	saturatedRuns: number;
	mediaResetMs: Percentiles;
	killedPageBackMs: Percentiles;
	survivorsSeeKilledPageMs: Percentiles;
	survivorsLongestGapMs: Percentiles;
	survivorsLongestPacketGapMs: Percentiles;
	baselineBusyPercent: Percentiles;
	machineBusyPercent: Percentiles;
	/** Views between the survivors that stalled (over STALL_MS): should be 0. */
	survivorViewsStopped: number;
	peerClosedSeen: number;
};

const percent = (value: number | null) => (value === null ? '–' : `${Math.round(value)}%`);
const ms = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `${Math.round(value)} ms`);

export function describeRun(result: RunResult): string {
	if (result.views.length === 0) return `run ${result.run}: failed (${result.error ?? 'unknown'})`;
	const view = (viewer: string | undefined, tile: string | undefined) => result.views.find((v) => v.viewer === viewer && v.tile === tile);
	const [s1, s2] = result.survivors;
	const k = result.killedPage;
	return [
		`run ${result.run}: killed worker ${result.killedWorker.index} (pid ${result.killedWorker.pid}) of ${k} (camera ${result.cameraSize});`,
		`${k}: mediaReset ${ms(result.mediaResetAfterMs)}, decodes ${s1} and ${s2} again ${ms(result.killedPageBackAfterMs)} (on the ${result.killedPageLandedOn} worker);`,
		`${s1}/${s2} decode ${k} again ${ms(view(s1, k)?.backAfterMs)}/${ms(view(s2, k)?.backAfterMs)};`,
		`${s1}↔${s2} longest gap ${ms(view(s1, s2)?.longestGapMs)}/${ms(view(s2, s1)?.longestGapMs)} (packets ${ms(view(s1, s2)?.longestPacketGapMs)}/${ms(view(s2, s1)?.longestPacketGapMs)});`,
		`machine busy ${percent(result.baselineBusyPercent)} before, ${percent(result.machineBusyPercent)} after the kill`,
		result.error ? `(${result.error})` : '',
	]
		.filter(Boolean)
		.join(' ');
}

export function summarizeRuns(runs: readonly RunResult[]): RecoverySummary {
	const ok = runs.filter((r) => r.views.length > 0);
	const values = (pick: (r: RunResult) => (number | null)[]) => ok.flatMap(pick).filter((v): v is number => v !== null);
	const betweenSurvivors = (r: RunResult) => r.views.filter((v) => v.viewer !== r.killedPage && v.tile !== r.killedPage);
	const survivorViews = ok.flatMap(betweenSurvivors);
	return {
		runs: runs.length,
		failedRuns: runs.filter((r) => r.error !== undefined).length,
		saturatedRuns: ok.filter((r) => (r.baselineBusyPercent ?? 0) >= SATURATED_PERCENT).length,
		mediaResetMs: summarize(values((r) => [r.mediaResetAfterMs])),
		killedPageBackMs: summarize(values((r) => [r.killedPageBackAfterMs])),
		survivorsSeeKilledPageMs: summarize(values((r) => r.views.filter((v) => v.tile === r.killedPage).map((v) => v.backAfterMs))),
		survivorsLongestGapMs: summarize(survivorViews.map((v) => v.longestGapMs)),
		survivorsLongestPacketGapMs: summarize(survivorViews.map((v) => v.longestPacketGapMs)),
		baselineBusyPercent: summarize(values((r) => [r.baselineBusyPercent])),
		machineBusyPercent: summarize(values((r) => [r.machineBusyPercent])),
		survivorViewsStopped: survivorViews.filter((v) => v.stopped).length,
		peerClosedSeen: ok.reduce((sum, r) => sum + r.peerClosedSeen, 0),
	};
}

/**
 * The hostile corpus: every case of every category, as data. Generated from
 * the settings of the server under attack (its secret signs what a backend
 * would; its limits size the floods), with run-time ids filled in late.
 */
import { escalationCases } from './cases/escalation.js';
import { floodCases } from './cases/floods.js';
import { httpCredentialCases, plainTransportCases } from './cases/http.js';
import { idGuessingCases } from './cases/ids.js';
import { oversizeCases, unknownNameCases, wrongTypeCases } from './cases/inputs.js';
import { badConnectionCases, forgedTokenCases } from './cases/tokens.js';
import type { CorpusSettings } from './settings.js';
import type { Category, HostileCase } from './types.js';

export function buildCorpus(settings: CorpusSettings): HostileCase[] {
	return [
		...forgedTokenCases(settings),
		...badConnectionCases(settings),
		...escalationCases(settings),
		...wrongTypeCases(),
		...oversizeCases(settings),
		...unknownNameCases(settings),
		...idGuessingCases(settings),
		...httpCredentialCases(settings),
		...plainTransportCases(settings),
		...floodCases(settings),
	];
}

export function countByCategory(cases: readonly HostileCase[]): Map<Category, number> {
	const counts = new Map<Category, number>();
	for (const hostileCase of cases) counts.set(hostileCase.category, (counts.get(hostileCase.category) ?? 0) + 1);
	return counts;
}

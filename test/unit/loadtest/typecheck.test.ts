/**
 * The load-test code that vitest does not import still has to compile: the
 * k6 scenarios (against @types/k6 and the protocol types), the Chromium
 * subscriber page (DOM), and the capacity CLI. Without this the k6 scripts
 * would rot silently where k6 is not installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function typecheck(project: string): { status: number | null; output: string } {
	const result = spawnSync(process.execPath, [tsc, '-p', project, '--noEmit'], { cwd: root, encoding: 'utf8' });
	return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('load-test sources type-check', () => {
	for (const project of ['loadtest/k6/tsconfig.json', 'loadtest/browser/tsconfig.json', 'loadtest/tsconfig.json']) {
		it(project, () => {
			const { status, output } = typecheck(project);
			expect(output).toBe('');
			expect(status).toBe(0);
		});
	}

	it('every k6 scenario is in the k6 project and exports options, a default function and handleSummary', () => {
		const scenarios = readdirSync(join(root, 'loadtest', 'k6')).filter((file) => file.endsWith('.ts'));
		expect(scenarios.sort()).toEqual(['big-room.ts', 'join-churn.ts', 'many-rooms.ts', 'stream-audience.ts']);
		for (const file of scenarios) {
			const source = readFileSync(join(root, 'loadtest', 'k6', file), 'utf8');
			expect(source, file).toMatch(/export const options: Options/);
			expect(source, file).toMatch(/export default async function/);
			expect(source, file).toMatch(/export function handleSummary/);
		}
	});
});

/**
 * The web client compiles under its strict tsconfig. Vite's build only
 * strips types, so without this a type error in web/ would pass `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('web client types', () => {
	it('vue-tsc finds no errors in web/ (strict, protocol types included)', { timeout: 180_000 }, () => {
		const result = spawnSync(process.execPath, [join(projectDir, 'node_modules', 'vue-tsc', 'bin', 'vue-tsc.js'), '-p', 'web/tsconfig.json', '--noEmit'], {
			cwd: projectDir,
			encoding: 'utf8',
		});
		expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
		expect(result.status).toBe(0);
	});
});

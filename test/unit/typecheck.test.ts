/** Strict TypeScript is part of the suite: server, tests and load-test code must compile without errors. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { projectRoot } from '../../server/config.js';

it('compiles server, tests and load tests with tsc --strict', () => {
	const root = projectRoot();
	const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit'], { encoding: 'utf8' });
	expect(result.stdout + result.stderr).toBe('');
	expect(result.status).toBe(0);
}, 120_000);

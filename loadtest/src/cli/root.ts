/** The project root: the nearest directory above a module that holds package.json and server/. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(moduleUrl: string): string {
	let dir = dirname(fileURLToPath(moduleUrl));
	for (let depth = 0; depth < 12; depth++) {
		if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'server'))) return dir;
		const parent = dirname(dir);
		if (parent === dir) break;
		dir = parent;
	}
	throw new Error(`cannot find the project root above ${fileURLToPath(moduleUrl)}`);
}

/**
 * Every unexpected error of a soak run, counted by kind: where it happened
 * and its message with the ids taken out (so a thousand "transport <id> not
 * found" are one kind), with the first few messages kept as they were.
 */

export type ErrorKind = { count: number; examples: string[]; firstAtMs: number; lastAtMs: number };

const EXAMPLES = 3;
/** Kinds kept at most; past that, new kinds are counted under one overflow kind. */
const MAX_KINDS = 200;

/** The message with ids, tokens, addresses and long numbers replaced by placeholders. */
export function normalizeMessage(message: string): string {
	return message
		.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
		.replace(/\b(p|pub|sub|peer)-[A-Za-z0-9_-]+/g, '$1-<id>')
		.replace(/[A-Za-z0-9_-]{24,}/g, '<token>')
		.replace(/\b\d{1,3}(\.\d{1,3}){3}:\d+\b/g, '<address>')
		.replace(/\b\d{4,}\b/g, '<n>')
		.slice(0, 300);
}

export function errorMessage(error: unknown): string {
	if (error instanceof Error) return error.message;
	return typeof error === 'string' ? error : JSON.stringify(error);
}

export class ErrorTally {
	private readonly kinds = new Map<string, ErrorKind>();
	private totalCount = 0;

	constructor(private readonly now: () => number = () => performance.now()) {}

	/** `where`: what the client was doing (e.g. "join", "resume", "ping"). */
	record(where: string, error: unknown): void {
		const message = errorMessage(error);
		let key = `${where}: ${normalizeMessage(message)}`;
		if (!this.kinds.has(key) && this.kinds.size >= MAX_KINDS) key = 'other kinds (too many to list)';
		const at = this.now();
		let kind = this.kinds.get(key);
		if (!kind) {
			kind = { count: 0, examples: [], firstAtMs: at, lastAtMs: at };
			this.kinds.set(key, kind);
		}
		kind.count++;
		kind.lastAtMs = at;
		if (kind.examples.length < EXAMPLES) kind.examples.push(message.slice(0, 500));
		this.totalCount++;
	}

	get total(): number {
		return this.totalCount;
	}

	/** Kinds, most frequent first. */
	byKind(): Record<string, ErrorKind> {
		return Object.fromEntries([...this.kinds.entries()].sort((a, b) => b[1].count - a[1].count));
	}
}

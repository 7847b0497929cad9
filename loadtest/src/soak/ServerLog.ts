/**
 * What the server process printed during the soak (pino JSON lines, level
 * warn and up as ServerProcess starts it): warnings counted by message (a
 * killed worker is expected to produce some), errors and anything that is not
 * a log line (a crash's stack trace) recorded as errors of the run. Read by
 * polling ServerProcess's output tail, so a burst of more than its 4000
 * characters between two polls is partly missed (`maybeMissed` says so).
 */
import type { ServerProcess } from '../capacity/ServerProcess.js';
import type { ErrorTally } from './ErrorTally.js';

const TAIL_CHARS = 4000;
/** The pool logs every worker death at level error; the run kills workers on purpose. */
const EXPECTED_ERRORS = [/^mediasoup worker died; replacing it$/];
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export type ServerLogSummary = {
	warnings: Record<string, number>;
	errors: Record<string, number>;
	/** Of the errors: what a worker killed by the run is expected to log (not counted as the run's errors). */
	expectedErrors: Record<string, number>;
	unparsed: number;
	/** Polls that found the tail full of new lines: some lines may have been missed. */
	maybeMissed: number;
};

export class ServerLog {
	private readonly seen = new Set<string>();
	private readonly seenOrder: string[] = [];
	private readonly summary: ServerLogSummary = { warnings: {}, errors: {}, expectedErrors: {}, unparsed: 0, maybeMissed: 0 };
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly server: ServerProcess,
		private readonly errors: ErrorTally,
	) {}

	start(pollMs = 250): void {
		this.timer ??= setInterval(() => this.poll(), pollMs);
	}

	stop(): ServerLogSummary {
		clearInterval(this.timer);
		this.timer = undefined;
		this.poll();
		return this.summary;
	}

	private poll(): void {
		const tail = this.server.outputTail;
		const lines = tail.split('\n');
		// A full tail starts mid-line.
		if (tail.length >= TAIL_CHARS) lines.shift();
		let fresh = 0;
		for (const line of lines) {
			if (line.trim() === '' || this.seen.has(line)) continue;
			this.remember(line);
			fresh++;
			this.count(line);
		}
		if (tail.length >= TAIL_CHARS && fresh === lines.filter((line) => line.trim() !== '').length && fresh > 0) this.summary.maybeMissed++;
	}

	private count(line: string): void {
		let entry: { level?: number | string; msg?: string; err?: { message?: string } };
		try {
			entry = JSON.parse(line) as typeof entry;
		} catch {
			this.summary.unparsed++;
			this.errors.record('server output (not a log line)', line.slice(0, 300));
			return;
		}
		// The server's pino writes the level as its label.
		const level = typeof entry.level === 'string' ? (LEVELS[entry.level] ?? 0) : (entry.level ?? 0);
		const message = entry.msg ?? '(no msg)';
		if (level >= 50) {
			this.summary.errors[message] = (this.summary.errors[message] ?? 0) + 1;
			if (EXPECTED_ERRORS.some((pattern) => pattern.test(message))) {
				this.summary.expectedErrors[message] = (this.summary.expectedErrors[message] ?? 0) + 1;
				return;
			}
			this.errors.record('server log error', `${message}${entry.err?.message ? `: ${entry.err.message}` : ''}`);
		} else if (level >= 40) {
			this.summary.warnings[message] = (this.summary.warnings[message] ?? 0) + 1;
		}
	}

	private remember(line: string): void {
		this.seen.add(line);
		this.seenOrder.push(line);
		if (this.seenOrder.length > 1000) this.seen.delete(this.seenOrder.shift()!);
	}
}

/**
 * The corpus paces itself below the server's per-connection and per-address
 * rates (a client-side token bucket, more conservative than the server's),
 * so the answer to a case is the case's, not a 429 for the case before it.
 * Floods are the cases that go over on purpose.
 */
export class Pace {
	#tokens: number;
	#updatedAt = Date.now();

	constructor(readonly rate: number, readonly burst: number) {
		this.#tokens = burst;
	}

	/** Waits (bounded: at most 1/rate seconds per call) until a token is free, and takes it. */
	async take(): Promise<void> {
		for (let attempt = 0; attempt < 100; attempt++) {
			const now = Date.now();
			this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.rate);
			this.#updatedAt = now;
			if (this.#tokens >= 1) {
				this.#tokens -= 1;
				return;
			}
			await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - this.#tokens) / this.rate) * 1000)));
		}
		throw new Error('pacing did not free a token in 100 waits');
	}
}

/** Below the server's `rate`/`burst` by a margin: 80% of the rate, 75% of the burst. */
export function paceUnder(rate: number, burst: number): Pace {
	return new Pace(rate * 0.8, Math.max(1, Math.floor(burst * 0.75)));
}

/** Drives publishers: one timer for all of them, ticking every few milliseconds. */
import type { Publisher } from './Publisher.js';

export class MediaClock {
	private readonly publishers = new Set<Publisher>();
	private timer: NodeJS.Timeout | undefined;
	/** Ticks that came more than 20 ms late (the generator's event loop was busy). */
	lateTicks = 0;
	ticks = 0;
	private lastTickMs = 0;

	constructor(private readonly intervalMs = 5) {}

	add(publisher: Publisher): void {
		this.publishers.add(publisher);
		this.timer ??= setInterval(() => this.tick(), this.intervalMs);
	}

	delete(publisher: Publisher): void {
		this.publishers.delete(publisher);
	}

	private tick(): void {
		const now = Date.now();
		if (this.lastTickMs !== 0 && now - this.lastTickMs > this.intervalMs + 20) this.lateTicks++;
		this.lastTickMs = now;
		this.ticks++;
		for (const publisher of this.publishers) publisher.tick(now);
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = undefined;
		this.publishers.clear();
	}
}

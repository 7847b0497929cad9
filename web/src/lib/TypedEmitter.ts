/** A minimal event emitter whose event names and arguments are checked by the compiler. */
export class TypedEmitter<Events extends { [name: string]: unknown[] }> {
	readonly #listeners = new Map<keyof Events, Set<(...args: never[]) => void>>();

	on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
		let set = this.#listeners.get(event);
		if (!set) {
			set = new Set();
			this.#listeners.set(event, set);
		}
		const stored = listener as unknown as (...args: never[]) => void;
		set.add(stored);
		return () => set.delete(stored);
	}

	protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
		for (const listener of [...(this.#listeners.get(event) ?? [])]) {
			try {
				(listener as unknown as (...args: Events[E]) => void)(...args);
			} catch (error) {
				// A failing listener must not stop the others, nor the client's own work.
				console.error(`listener of "${String(event)}" failed`, error);
			}
		}
	}

	removeAllListeners(): void {
		this.#listeners.clear();
	}
}

/** Command-line option values of the load-test CLIs. */

/** A numeric option at least `min`, or an error naming it. */
export function positive(name: string, text: string, min = 1): number {
	const value = Number(text);
	if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}, not ${text}`);
	return value;
}

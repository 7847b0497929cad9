/** Scenario parameters from environment variables (`k6 run -e NAME=value` or the environment), with safe defaults. */

export function envString(name: string, fallback: string): string {
	const value = __ENV[name];
	return value === undefined || value === '' ? fallback : value;
}

export function envNumber(name: string, fallback: number, limits: { min?: number; max?: number } = {}): number {
	const raw = __ENV[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
	if (limits.min !== undefined && value < limits.min) throw new Error(`${name} must be ≥ ${limits.min}, got ${value}`);
	if (limits.max !== undefined && value > limits.max) throw new Error(`${name} must be ≤ ${limits.max}, got ${value}`);
	return value;
}

export function envBoolean(name: string, fallback: boolean): boolean {
	const raw = __ENV[name];
	if (raw === undefined || raw === '') return fallback;
	if (/^(1|true|yes)$/i.test(raw)) return true;
	if (/^(0|false|no)$/i.test(raw)) return false;
	throw new Error(`${name} must be true or false, got "${raw}"`);
}

/** wss:// URL of the server: SFU_URL, else wss://127.0.0.1:4443 (the default listen port). */
export function serverUrl(): string {
	return envString('SFU_URL', 'wss://127.0.0.1:4443').replace(/\/+$/, '');
}

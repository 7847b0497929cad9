/**
 * handleSummary for every scenario: a short human summary on stdout (k6's
 * own text summary lives in a remote jslib, unreachable offline) and the full
 * summary as JSON beside it.
 */

type MetricValues = Record<string, number>;
type SummaryMetric = {
	type: 'counter' | 'gauge' | 'rate' | 'trend';
	contains?: 'time' | 'data' | 'default';
	values: MetricValues;
	thresholds?: Record<string, { ok: boolean }>;
};
export type SummaryData = {
	metrics: Record<string, SummaryMetric>;
	state?: { testRunDurationMs?: number };
};

function formatValue(metric: SummaryMetric, key: string, value: number): string {
	if (metric.type === 'rate' && key === 'rate') return `${(value * 100).toFixed(2)}%`;
	if (metric.contains === 'time') return value >= 1000 ? `${(value / 1000).toFixed(2)}s` : `${value.toFixed(1)}ms`;
	return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function describe(name: string, metric: SummaryMetric): string {
	const keys = metric.type === 'trend' ? ['med', 'p(95)', 'p(99)', 'max', 'count'] : metric.type === 'rate' ? ['rate', 'passes', 'fails'] : Object.keys(metric.values);
	const label: Record<string, string> = { med: 'p50', passes: 'true', fails: 'false' };
	const raw = new Set(['count', 'passes', 'fails']);
	const parts = keys
		.filter((key) => metric.values[key] !== undefined)
		.map((key) => `${label[key] ?? key}=${raw.has(key) ? metric.values[key] : formatValue(metric, key, metric.values[key]!)}`);
	const thresholds = Object.entries(metric.thresholds ?? {}).map(([expression, result]) => `${result.ok ? '✓' : '✗'} ${expression}`);
	return `  ${name.padEnd(58)} ${parts.join(' ')}${thresholds.length ? `   [${thresholds.join(', ')}]` : ''}`;
}

/** Metrics shown first; the rest (k6's built-ins) follow only when they carry thresholds or are about WebSockets. */
const OUR_PREFIXES = ['join_', 'protoo_', 'newpeer_', 'checks', 'ws_'];

export function textSummary(scenario: string, data: SummaryData): string {
	const names = Object.keys(data.metrics).sort();
	const shown = names.filter((name) => OUR_PREFIXES.some((prefix) => name.startsWith(prefix)) || data.metrics[name]!.thresholds);
	const failed = names.flatMap((name) => Object.entries(data.metrics[name]!.thresholds ?? {}).filter(([, r]) => !r.ok).map(([expr]) => `${name} ${expr}`));
	const duration = data.state?.testRunDurationMs ? ` in ${(data.state.testRunDurationMs / 1000).toFixed(1)} s` : '';
	return [
		`\n${scenario}${duration}: ${failed.length === 0 ? 'all thresholds passed' : `THRESHOLDS FAILED: ${failed.join('; ')}`}`,
		...shown.map((name) => describe(name, data.metrics[name]!)),
		'',
	].join('\n');
}

/**
 * Returns handleSummary's output: text on stdout, and JSON in $SUMMARY_DIR
 * (default loadtest/results/k6) with the scenario's parameters and the server
 * URL beside k6's own summary, so a result says what load produced it.
 */
export function summaryOutputs(scenario: string, data: SummaryData, parameters: Record<string, string | number | boolean>): Record<string, string> {
	const dir = __ENV.SUMMARY_DIR ?? 'loadtest/results/k6';
	const stamp = new Date().toISOString().replace(/[:.]/g, '-');
	const result = { scenario, date: new Date().toISOString(), server: __ENV.SFU_URL ?? 'wss://127.0.0.1:4443', parameters, ...data };
	return {
		stdout: `${textSummary(scenario, data)}  parameters: ${JSON.stringify(parameters)}\n`,
		[`${dir}/${scenario}-${stamp}.json`]: JSON.stringify(result, null, 2),
	};
}

/** Options shared by every scenario: TLS on loopback, percentiles, and thresholds that fail the run. */

export const summaryTrendStats = ['med', 'p(95)', 'p(99)', 'max', 'count'];

/** Per-method round-trip sub-metrics (a threshold makes k6 report each one) plus the error budget. */
export function requestThresholds(methods: string[], p95Ms: number): Record<string, string[]> {
	const thresholds: Record<string, string[]> = {
		protoo_request_errors: ['rate<0.01'],
		protoo_request_rtt: [`p(95)<${p95Ms}`],
	};
	for (const method of methods) thresholds[`protoo_request_rtt{method:${method}}`] = [`p(95)<${p95Ms}`];
	return thresholds;
}

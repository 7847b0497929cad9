/**
 * Scenario 1, join churn: peers arrive at a fixed rate (independent of how
 * fast the server answers), join one of ROOMS rooms, create their transports,
 * optionally produce mic + simulcast webcam, stay HOLD_S seconds and leave.
 *
 *   k6 run -e SFU_URL=wss://127.0.0.1:4443 -e RATE=5 -e DURATION=60s loadtest/k6/join-churn.ts
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { joinRoom, sleep } from './lib/session.ts';
import { envBoolean, envNumber, envString, serverUrl } from './lib/env.ts';
import { requestThresholds, summaryTrendStats } from './lib/options.ts';
import { summaryOutputs, type SummaryData } from './lib/summary.ts';

const RATE = envNumber('RATE', 4, { min: 0.1, max: 1000 });
const DURATION = envString('DURATION', '60s');
const HOLD_S = envNumber('HOLD_S', 5, { min: 0, max: 600 });
const ROOMS = envNumber('ROOMS', 5, { min: 1, max: 10_000 });
const PRODUCE = envBoolean('PRODUCE', true);
const MAX_VUS = envNumber('MAX_VUS', Math.ceil(RATE * (HOLD_S + 10)) + 10, { min: 1, max: 10_000 });

export const options: Options = {
	insecureSkipTLSVerify: true,
	scenarios: {
		join_churn: {
			executor: 'constant-arrival-rate',
			rate: Math.round(RATE * 10),
			timeUnit: '10s',
			duration: DURATION,
			preAllocatedVUs: Math.min(MAX_VUS, Math.ceil(RATE * (HOLD_S + 2)) + 5),
			maxVUs: MAX_VUS,
			gracefulStop: `${HOLD_S + 15}s`,
		},
	},
	summaryTrendStats,
	thresholds: {
		...requestThresholds(['getRouterRtpCapabilities', 'createWebRtcTransport', 'join', ...(PRODUCE ? ['produce'] : [])], 1000),
		join_ready_time: ['p(95)<2000'],
		join_failures: ['count<1'],
		dropped_iterations: ['count<1'],
	},
};

/** A run id keeps rooms and peer ids of one run apart from earlier runs' (init code runs per VU, so setup() picks it). */
export function setup(): { run: string } {
	return { run: Date.now().toString(36) };
}

export default async function (data: { run: string }): Promise<void> {
	const iteration = exec.scenario.iterationInTest;
	const roomId = `churn-${data.run}-${iteration % ROOMS}`;
	const peerId = `k6-churn-${data.run}-${iteration}`;
	const session = await joinRoom({ baseUrl: serverUrl(), roomId, peerId, displayName: peerId, produce: PRODUCE, tags: { scenario_name: 'join_churn' } });
	await sleep(HOLD_S * 1000);
	session.peer.close();
}

export function handleSummary(data: SummaryData): Record<string, string> {
	return summaryOutputs('join-churn', data, { RATE, DURATION, HOLD_S, ROOMS, PRODUCE, MAX_VUS });
}

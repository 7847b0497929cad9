/**
 * Scenario 2, many rooms held: ROOMS rooms × PEERS peers join (staggered over
 * RAMP_S), each holds its connection HOLD_S seconds and asks for transport
 * (and producer) stats every STATS_INTERVAL_S, as a client's stats panel does.
 *
 *   k6 run -e SFU_URL=wss://127.0.0.1:4443 -e ROOMS=10 -e PEERS=5 -e HOLD_S=60 loadtest/k6/many-rooms.ts
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { envBoolean, envNumber, serverUrl } from './lib/env.ts';
import { requestThresholds, summaryTrendStats } from './lib/options.ts';
import { joinRoom, sleep } from './lib/session.ts';
import { summaryOutputs, type SummaryData } from './lib/summary.ts';

const ROOMS = envNumber('ROOMS', 10, { min: 1, max: 1000 });
const PEERS = envNumber('PEERS', 4, { min: 1, max: 200 });
const HOLD_S = envNumber('HOLD_S', 30, { min: 1, max: 3600 });
const RAMP_S = envNumber('RAMP_S', 10, { min: 0, max: 600 });
const STATS_INTERVAL_S = envNumber('STATS_INTERVAL_S', 5, { min: 0.5, max: 600 });
const PRODUCE = envBoolean('PRODUCE', true);
const VUS = ROOMS * PEERS;

export const options: Options = {
	insecureSkipTLSVerify: true,
	scenarios: {
		many_rooms: {
			executor: 'per-vu-iterations',
			vus: VUS,
			iterations: 1,
			maxDuration: `${RAMP_S + HOLD_S + 30}s`,
		},
	},
	summaryTrendStats,
	thresholds: {
		...requestThresholds(['join', 'getTransportStats', ...(PRODUCE ? ['getProducerStats'] : [])], 1000),
		join_ready_time: ['p(95)<3000'],
		join_failures: ['count<1'],
	},
};

/** A run id keeps rooms and peer ids of one run apart from earlier runs' (init code runs per VU, so setup() picks it). */
export function setup(): { run: string } {
	return { run: Date.now().toString(36) };
}

export default async function (data: { run: string }): Promise<void> {
	const index = exec.vu.idInTest - 1;
	const roomId = `hold-${data.run}-${index % ROOMS}`;
	const peerId = `k6-hold-${data.run}-${index}`;
	// Spread the joins over the ramp so rooms fill evenly.
	await sleep((RAMP_S * 1000 * index) / VUS);
	const tags = { scenario_name: 'many_rooms' };
	const session = await joinRoom({ baseUrl: serverUrl(), roomId, peerId, displayName: peerId, produce: PRODUCE, tags });
	const until = Date.now() + HOLD_S * 1000;
	const rounds = Math.floor((HOLD_S * 1000) / (STATS_INTERVAL_S * 1000));
	for (let round = 0; round < rounds && Date.now() < until && !session.peer.closed; round++) {
		await sleep(STATS_INTERVAL_S * 1000);
		await session.peer.request('getTransportStats', { transportId: session.sendTransportId });
		await session.peer.request('getTransportStats', { transportId: session.recvTransportId });
		for (const producerId of session.producerIds) await session.peer.request('getProducerStats', { producerId });
	}
	if (until > Date.now() && !session.peer.closed) await sleep(until - Date.now());
	session.peer.close();
}

export function handleSummary(data: SummaryData): Record<string, string> {
	return summaryOutputs('many-rooms', data, { ROOMS, PEERS, HOLD_S, RAMP_S, STATS_INTERVAL_S, PRODUCE });
}

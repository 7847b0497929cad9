/**
 * Scenario 3, one big room: TARGET peers join one room, one every
 * JOIN_INTERVAL_MS, and stay until the last has joined plus HOLD_S. Every
 * join fans out a `newPeer` notification to everyone already there, so the
 * cost of a join grows with the room. Measured, by room size (bucket of
 * BUCKET peers): join latency, and the time from a join request to each
 * existing peer's `newPeer` (the joiner's send time travels in its
 * displayName; k6 VUs share this machine's clock).
 *
 *   k6 run -e SFU_URL=wss://127.0.0.1:4443 -e TARGET=100 loadtest/k6/big-room.ts
 */
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { envBoolean, envNumber, envString, serverUrl } from './lib/env.ts';
import { requestThresholds, summaryTrendStats } from './lib/options.ts';
import { joinRoom, sleep } from './lib/session.ts';
import { summaryOutputs, type SummaryData } from './lib/summary.ts';

const TARGET = envNumber('TARGET', 100, { min: 2, max: 1000 });
const JOIN_INTERVAL_MS = envNumber('JOIN_INTERVAL_MS', 200, { min: 0, max: 60_000 });
const HOLD_S = envNumber('HOLD_S', 10, { min: 0, max: 600 });
const BUCKET = envNumber('BUCKET', 25, { min: 1, max: 1000 });
const PRODUCE = envBoolean('PRODUCE', false);
/** Empty: setup() picks one fresh room for the run (init code runs once per VU, so it cannot). */
const ROOM = envString('ROOM', '');

const newPeerDelivery = new Trend('newpeer_delivery_time', true);
const pad = (n: number) => String(n).padStart(String(TARGET).length, '0');
/** Zero-padded ("000-049"), so the summary lists them in order. */
const buckets = Array.from({ length: Math.ceil(TARGET / BUCKET) }, (_, i) => `${pad(i * BUCKET)}-${pad(Math.min((i + 1) * BUCKET, TARGET) - 1)}`);

function bucketOf(roomSize: number): string {
	return buckets[Math.min(Math.floor(roomSize / BUCKET), buckets.length - 1)]!;
}

const rampMs = TARGET * JOIN_INTERVAL_MS;

export const options: Options = {
	insecureSkipTLSVerify: true,
	scenarios: {
		big_room: {
			executor: 'per-vu-iterations',
			vus: TARGET,
			iterations: 1,
			maxDuration: `${Math.ceil(rampMs / 1000) + HOLD_S + 60}s`,
		},
	},
	summaryTrendStats,
	thresholds: {
		...requestThresholds(['join'], 2000),
		join_ready_time: ['p(95)<3000'],
		join_failures: ['count<1'],
		newpeer_delivery_time: ['p(95)<2000'],
		// One sub-metric per room-size bucket, so the summary shows how cost grows with the room.
		...Object.fromEntries(buckets.flatMap((bucket) => [
			[`join_ready_time{room_size:${bucket}}`, ['p(95)<3000']],
			[`newpeer_delivery_time{room_size:${bucket}}`, ['p(95)<2000']],
		])),
	},
};

export function setup(): { roomId: string } {
	return { roomId: ROOM || `big-${Date.now().toString(36)}` };
}

export default async function (data: { roomId: string }): Promise<void> {
	const index = exec.vu.idInTest - 1;
	await sleep(index * JOIN_INTERVAL_MS);
	const peerId = `k6-big-${index}`;
	const tags = { scenario_name: 'big_room', room_size: bucketOf(index) };
	const sentAt = Date.now();
	const session = await joinRoom({ baseUrl: serverUrl(), roomId: data.roomId, peerId, displayName: `${peerId}@${sentAt}`, produce: PRODUCE, tags });
	session.peer.onNotification((method, data) => {
		if (method !== 'newPeer') return;
		const info = data as { displayName: string };
		const at = Number(info.displayName.split('@')[1]);
		const joinerIndex = Number(info.displayName.split('@')[0]?.replace('k6-big-', ''));
		if (Number.isFinite(at) && Number.isFinite(joinerIndex)) newPeerDelivery.add(Date.now() - at, { scenario_name: 'big_room', room_size: bucketOf(joinerIndex) });
	});
	// Stay until everyone has joined, then HOLD_S more.
	const leaveAt = exec.scenario.startTime + rampMs + HOLD_S * 1000;
	while (Date.now() < leaveAt && !session.peer.closed) await sleep(Math.min(1000, Math.max(10, leaveAt - Date.now())));
	session.peer.close();
}

export function handleSummary(data: SummaryData): Record<string, string> {
	return summaryOutputs('big-room', data, { TARGET, JOIN_INTERVAL_MS, HOLD_S, BUCKET, PRODUCE });
}

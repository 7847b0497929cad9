/**
 * Streaming audience: viewers arrive at a constant rate, each with a viewer
 * token from `POST /api/token` (open-mode server), join one room over protoo
 * as audience (subscribe only), stay HOLD_S seconds and leave. Measures the
 * token request, WebSocket open and join response times, and counts the
 * `audienceChanged` notifications (viewers are counted, never announced).
 * Signalling only: media for a measured audience is `npm run loadtest:stream`.
 *
 *   k6 run -e SFU_URL=wss://127.0.0.1:4443 -e VIEWERS=1000 -e RATE=50 loadtest/k6/stream-audience.ts
 */
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import type { HttpApi } from '../../server/signalling/protocol.ts';
import { envNumber, envString, serverUrl } from './lib/env.ts';
import { requestThresholds, summaryTrendStats } from './lib/options.ts';
import { metrics, ProtooPeer } from './lib/protoo.ts';
import { sleep } from './lib/session.ts';
import { summaryOutputs, type SummaryData } from './lib/summary.ts';

const VIEWERS = envNumber('VIEWERS', 1000, { min: 1, max: 100_000 });
const RATE = envNumber('RATE', 50, { min: 0.1, max: 1000 });
const HOLD_S = envNumber('HOLD_S', 30, { min: 0, max: 3600 });
const ROOM = envString('ROOM', 'stream-audience');
const DURATION_S = Math.ceil(VIEWERS / RATE);
const MAX_VUS = envNumber('MAX_VUS', Math.ceil(RATE * (HOLD_S + 10)) + 10, { min: 1, max: 100_000 });

const tokenTime = new Trend('viewer_token_time', true);
const audienceNotifications = new Counter('viewer_audience_notifications');
const unexpectedNewPeer = new Counter('viewer_new_peer_notifications');

export const options: Options = {
	insecureSkipTLSVerify: true,
	scenarios: {
		stream_audience: {
			executor: 'constant-arrival-rate',
			rate: Math.round(RATE * 10),
			timeUnit: '10s',
			duration: `${DURATION_S}s`,
			preAllocatedVUs: Math.min(MAX_VUS, Math.ceil(RATE * (HOLD_S + 2)) + 5),
			maxVUs: MAX_VUS,
			gracefulStop: `${HOLD_S + 15}s`,
		},
	},
	summaryTrendStats,
	thresholds: {
		...requestThresholds(['join'], 1000),
		join_joined_time: ['p(95)<1000'],
		join_failures: ['count<1'],
		dropped_iterations: ['count<1'],
	},
};

/** https:// base of the HTTP API, from the wss:// signalling URL. */
function httpBase(): string {
	return serverUrl().replace(/^ws/, 'http');
}

export function setup(): { run: string } {
	return { run: Date.now().toString(36) };
}

export default async function (data: { run: string }): Promise<void> {
	const roomId = `${ROOM}-${data.run}`;
	const displayName = `k6-viewer-${exec.scenario.iterationInTest}`;
	const body: HttpApi['openModeToken']['body'] = { roomId, role: 'viewer', displayName };
	const tokenResponse = http.post(`${httpBase()}/api/token`, JSON.stringify(body), { headers: { 'content-type': 'application/json' }, tags: { name: 'POST /api/token' } });
	tokenTime.add(tokenResponse.timings.duration);
	if (tokenResponse.status !== 200) {
		metrics.joinFailures.add(1, { reason: `token-http-${tokenResponse.status}` });
		return;
	}
	const token = tokenResponse.json() as HttpApi['openModeToken']['response'];
	const peer = new ProtooPeer({ baseUrl: serverUrl(), roomId, peerId: token.identity, token: token.token, tags: { scenario_name: 'stream_audience' } });
	peer.onNotification((method) => {
		if (method === 'audienceChanged') audienceNotifications.add(1);
		else if (method === 'newPeer') unexpectedNewPeer.add(1);
	});
	try {
		await peer.open();
		const joined = await peer.request('join', { displayName, device: { name: 'k6-viewer' } });
		metrics.joinedTime.add(Date.now() - peer.connectStartedAt, { scenario_name: 'stream_audience' });
		if (joined.role !== 'viewer') metrics.joinFailures.add(1, { reason: `role-${joined.role}` });
		await sleep(HOLD_S * 1000);
	} catch (error) {
		metrics.joinFailures.add(1, { reason: error instanceof Error ? error.name : 'error' });
	} finally {
		peer.close();
	}
}

export function handleSummary(summary: SummaryData): Record<string, string> {
	return summaryOutputs('stream-audience', summary, { VIEWERS, RATE, HOLD_S, ROOM, MAX_VUS });
}

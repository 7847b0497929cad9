/**
 * Floods: more than the limits allow, as fast as the test can send it. Each
 * is one case whose answer is the limit's 429 (the runner checks that every
 * message of the flood was answered, and counts how many got through).
 */
import type { CorpusSettings } from '../settings.js';
import type { HostileCase } from '../types.js';

export function floodCases({ limits }: CorpusSettings): HostileCase[] {
	const flood = (description: string, flood: Extract<HostileCase['send'], { via: 'flood' }>['flood'], reason: string): HostileCase => ({
		category: 'floods',
		description,
		send: { via: 'flood', flood },
		expect: { code: 429, reason },
	});
	const overBurst = limits.requestBurst * 2;
	return [
		flood(`${overBurst} getRouterRtpCapabilities at once`, { kind: 'requests', count: overBurst, method: 'getRouterRtpCapabilities', data: {} }, 'too many requests'),
		flood(`${overBurst} joins at once`, { kind: 'requests', count: overBurst, method: 'join', data: { displayName: 'Flood' } }, 'too many requests'),
		flood(`${overBurst} getLobby (forbidden) at once`, { kind: 'requests', count: overBurst, method: 'getLobby', data: {} }, 'too many requests'),
		flood(`${overBurst} getTransportStats (a worker round trip each) at once`, { kind: 'requests', count: overBurst, method: 'getTransportStats', ownTransport: true }, 'too many requests'),
		flood(`${limits.maxTransportsPerPeer * 3} createWebRtcTransport one after another`, { kind: 'requests', count: limits.maxTransportsPerPeer * 3, method: 'createWebRtcTransport', data: { producing: false, consuming: true }, sequential: true }, 'rooms.maxTransportsPerPeer'),
		flood(`${overBurst} notifications, then a request`, { kind: 'notifications-then-request', count: overBurst }, 'too many requests'),
		flood('key frame requests for one consumer, back to back', { kind: 'key-frames', actor: 'participant', count: 10 }, 'at most one key frame request per consumer'),
		flood(`${limits.maxConnectionsPerIp} connections from one address, then one more`, { kind: 'connections', max: limits.maxConnectionsPerIp }, 'too many connections'),
		flood(`${limits.httpRequestBurstPerIp * 2} API calls at once from one address`, { kind: 'http', count: limits.httpRequestBurstPerIp * 2, path: '/api/rooms/flood-room' }, 'too many requests from this address'),
	];
}

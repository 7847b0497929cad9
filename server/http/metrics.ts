/**
 * Prometheus metrics (GET /metrics). Counts of rooms, peers and media objects
 * are read from the live state at scrape time, so they cannot drift; request
 * counters and latencies are recorded as requests happen.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';

export type Metrics = {
	registry: Registry;
	signallingRequests: Counter<'method' | 'outcome'>;
	signallingDuration: Histogram<'method'>;
	connectionsRejected: Counter<'reason'>;
};

export function createMetrics(pool: WorkerPool, rooms: RoomRegistry): Metrics {
	const registry = new Registry();
	collectDefaultMetrics({ register: registry, prefix: 'sfu_node_' });

	const gauge = (name: string, help: string, collect: (g: Gauge) => void, labelNames: string[] = []) =>
		new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); collect(this); } });

	gauge('sfu_workers', 'mediasoup workers running', (g) => g.set(pool.workers.length));
	gauge('sfu_workers_expected', 'mediasoup workers configured', (g) => g.set(pool.size));
	gauge('sfu_rooms', 'rooms open', (g) => g.set(rooms.size));
	const roomTotals = () => rooms.rooms().map((room) => room.summary());
	gauge('sfu_peers', 'peers connected (WebRTC peers and broadcasters)', (g) => {
		for (const kind of ['webrtc', 'broadcaster'] as const) g.set({ kind }, 0);
		for (const summary of roomTotals()) {
			g.inc({ kind: 'webrtc' }, summary.peers);
			g.inc({ kind: 'broadcaster' }, summary.broadcasters);
		}
	}, ['kind']);
	gauge('sfu_sessions_reconnecting', 'sessions whose connection dropped, held for a resume (rooms.resumeGraceMs); resumes are sfu_signalling_requests_total{method="resume"}', (g) =>
		g.set(rooms.rooms().reduce((sum, room) => sum + [...room.peers.values()].filter((peer) => peer.kind === 'webrtc' && !peer.connected && !peer.closed).length, 0)));
	gauge('sfu_draining', '1 while the server drains (SIGTERM, POST /api/drain): no new rooms', (g) => g.set(rooms.draining ? 1 : 0));
	gauge('sfu_producers', 'producers of all peers', (g) => g.set(roomTotals().reduce((sum, s) => sum + s.producers, 0)));
	gauge('sfu_consumers', 'consumers of all peers', (g) => g.set(roomTotals().reduce((sum, s) => sum + s.consumers, 0)));
	gauge('sfu_worker_cpu_percent', 'CPU of each mediasoup worker over the last sample, % of one core', (g) => {
		for (const worker of pool.workers) g.set({ worker: String(worker.index), pid: String(worker.pid) }, worker.cpuPercent);
	}, ['worker', 'pid']);
	gauge('sfu_worker_consumers', 'consumers on each mediasoup worker (pipe consumers included)', (g) => {
		for (const worker of pool.workers) g.set({ worker: String(worker.index), pid: String(worker.pid) }, worker.consumers);
	}, ['worker', 'pid']);
	gauge('sfu_worker_routers', 'routers on each mediasoup worker', (g) => {
		for (const worker of pool.workers) g.set({ worker: String(worker.index), pid: String(worker.pid) }, worker.routers);
	}, ['worker', 'pid']);

	return {
		registry,
		signallingRequests: new Counter({ name: 'sfu_signalling_requests_total', help: 'signalling requests by method and outcome (ok or error code)', labelNames: ['method', 'outcome'], registers: [registry] }),
		signallingDuration: new Histogram({
			name: 'sfu_signalling_request_duration_seconds',
			help: 'time to handle a signalling request',
			labelNames: ['method'],
			buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
			registers: [registry],
		}),
		connectionsRejected: new Counter({ name: 'sfu_connections_rejected_total', help: 'WebSocket connections refused at upgrade, by reason', labelNames: ['reason'], registers: [registry] }),
	};
}

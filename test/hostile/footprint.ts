/**
 * What the server holds, seen from outside its process: resident memory and
 * open descriptors of the server and its mediasoup workers (/proc), rooms,
 * peers and media objects (/healthz and the admin room listing), Node's
 * handles and heap, and the server's own count of rejected requests
 * (/metrics).
 */
import { readdirSync } from 'node:fs';
import { processRssBytes, processTree } from '../../loadtest/src/capacity/procfs.js';
import type { HttpApiClient } from '../../loadtest/src/signalling/HttpApiClient.js';
import type { HealthReport, RoomSummary } from '../../server/signalling/protocol.js';

export type Footprint = {
	rssBytes: { server: number; workers: number; total: number };
	openFds: { server: number; workers: number };
	health: HealthReport;
	rooms: RoomSummary[];
	/** From /metrics: Node's active handles and used heap; requests by outcome (error code or "ok"). */
	activeHandles: number | undefined;
	heapUsedBytes: number | undefined;
	requestsByOutcome: Record<string, number>;
	rejectedConnections: Record<string, number>;
};

function openFds(pid: number): number {
	try {
		return readdirSync(`/proc/${pid}/fd`).length;
	} catch {
		return 0;
	}
}

function metric(text: string, name: string): number | undefined {
	const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
	return match ? Number(match[1]) : undefined;
}

function sumByLabel(text: string, name: string, label: string): Record<string, number> {
	const totals: Record<string, number> = {};
	for (const line of text.split('\n')) {
		if (!line.startsWith(`${name}{`)) continue;
		const value = Number(line.slice(line.lastIndexOf(' ') + 1));
		const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '?';
		totals[key] = (totals[key] ?? 0) + value;
	}
	return totals;
}

export async function footprint(serverPid: number, api: HttpApiClient, admin: HttpApiClient): Promise<Footprint> {
	const [health, listing, metrics] = await Promise.all([api.health(), admin.listRooms(), api.metrics()]);
	const workers = processTree(serverPid).filter((pid) => pid !== serverPid);
	const server = processRssBytes(serverPid) ?? 0;
	const workerRss = workers.reduce((sum, pid) => sum + (processRssBytes(pid) ?? 0), 0);
	return {
		rssBytes: { server, workers: workerRss, total: server + workerRss },
		openFds: { server: openFds(serverPid), workers: workers.reduce((sum, pid) => sum + openFds(pid), 0) },
		health,
		rooms: listing.rooms,
		activeHandles: metric(metrics, 'sfu_node_nodejs_active_handles_total'),
		heapUsedBytes: metric(metrics, 'sfu_node_nodejs_heap_size_used_bytes'),
		requestsByOutcome: sumByLabel(metrics, 'sfu_signalling_requests_total', 'outcome'),
		rejectedConnections: sumByLabel(metrics, 'sfu_connections_rejected_total', 'reason'),
	};
}

/** The counts that must be back where they were once the hostile side has gone: rooms, peers, media objects. */
export function objectCounts(print: Footprint): Record<string, number> {
	const rooms = print.rooms;
	return {
		rooms: print.health.rooms,
		peers: print.health.peers,
		broadcasters: rooms.reduce((sum, room) => sum + room.broadcasters, 0),
		producers: rooms.reduce((sum, room) => sum + room.producers, 0),
		consumers: rooms.reduce((sum, room) => sum + room.consumers, 0),
		workerRouters: print.health.workers.reduce((sum, worker) => sum + worker.routers, 0),
		workerConsumers: print.health.workers.reduce((sum, worker) => sum + worker.consumers, 0),
	};
}

export const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** The soak run's summary for the terminal: memory and handles over time, events, objects left, errors. */
import type { Flatness } from './flatness.js';
import type { SoakResult } from './SoakRun.js';

const f = (value: number | undefined, digits = 1): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–');

function table(rows: string[][]): string {
	const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
	const lines = rows.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ').trimEnd());
	lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('-|-'));
	return lines.join('\n');
}

function verdict(flat: boolean | undefined): string {
	return flat === undefined ? 'too short' : flat ? 'flat' : 'GROWS';
}

function memoryRow(label: string, series: Flatness): string[] {
	const mib = (kib: number): string => f(kib / 1024);
	return [label, `${mib(series.start)} → ${mib(series.end)}`, `${mib(series.firstThirdMean)} → ${mib(series.lastThirdMean)} (${f(series.changePercent)}%)`, `${f(series.slopePerMinute, 1)} / ${f(series.lastHalfSlopePerMinute, 1)} KiB/min`, verdict(series.flat)];
}

function countRow(label: string, series: Flatness, unit: string): string[] {
	return [label, `${f(series.start, 0)} → ${f(series.end, 0)}`, `${f(series.firstThirdMean)} → ${f(series.lastThirdMean)} (${f(series.changePercent)}%)`, `${f(series.slopePerMinute, 2)} / ${f(series.lastHalfSlopePerMinute, 2)} ${unit}/min`, verdict(series.flat)];
}

function fdRow(label: string, series: Flatness): string[] {
	return countRow(label, series, 'fds');
}

export function formatSoak(result: SoakResult): string {
	const { flatness, counters, objectsLeft, errors } = result;
	const rows: string[][] = [['series', 'start → end', 'mean first ⅓ → last ⅓ (after warm-up)', 'slope: all / last half', 'verdict']];
	rows.push(
		memoryRow('server Node RSS MiB', flatness.serverRssKiB),
		memoryRow('server Node heap used MiB', flatness.serverHeapUsedKiB),
		fdRow('server Node open fds', flatness.serverFds),
		countRow('server Node active handles', flatness.serverActiveHandles, 'handles'),
	);
	for (const worker of flatness.workers) {
		const { steady } = worker;
		const life = `worker ${worker.slot} pid ${worker.pid}, ${steady.routers} routers ${f((steady.toMs - steady.fromMs) / 60_000)} of ${f(worker.lifeMs / 60_000)} min:`;
		rows.push(memoryRow(`${life} RSS MiB`, steady.rssKiB), fdRow(`${life} fds`, steady.fds));
	}
	const r = counters.resumes;
	const kills = result.kills;
	const lines = [
		table(rows),
		'',
		`idle server before → after: RSS ${f((result.idleBefore.server.rssKiB ?? 0) / 1024)} → ${f((result.idleAfter.server.rssKiB ?? 0) / 1024)} MiB, heap used ${f((result.idleBefore.server.heapUsedKiB ?? Number.NaN) / 1024)} → ${f((result.idleAfter.server.heapUsedKiB ?? Number.NaN) / 1024)} MiB, fds ${result.idleBefore.server.fds ?? '–'} → ${result.idleAfter.server.fds ?? '–'}, active handles ${result.idleBefore.server.activeHandles ?? '–'} → ${result.idleAfter.server.activeHandles ?? '–'}; workers' fds ${result.idleBefore.workers.map((worker) => worker.fds ?? '–').join('/')} → ${result.idleAfter.workers.map((worker) => worker.fds ?? '–').join('/')}`,
		`events: ${counters.joins} joins (${counters.joinFailures} failed), ${counters.leaves} leaves, ${counters.drops} drops; resumes ${r.ok} ok (${r.afterMediaReset} after a media reset) / ${r.failed} failed (${r.notFound} 404, ${r.mismatched} mismatched) of ${r.attempted}; ` +
			`${counters.abandons} abandoned, ${counters.abandonsClosed} closed by the server after the grace window (${counters.abandonsUnobserved} not observable: a kill closed the room first); ${counters.eventsSkipped} events skipped`,
		`worker kills: ${counters.workerKills}; replaced in ${kills.map((kill) => `${kill.replacedMs ?? '?'}`).join('/')} ms; peers reset ${kills.map((kill) => `${kill.peersReset}/${kill.peersOnWorker}`).join(', ')}; ` +
			`mediaReset received ${counters.mediaResets}, rebuilt ${counters.rebuilds} (${counters.rebuildFailures} failed; ${counters.requestsLostToMediaReset} requests lost to a reset); room media rebuilt ${result.media.roomMediaRebuilds}×`,
		`media: ${result.media.packetsSent} RTP packets sent by publishers, ${result.media.packetsReceived} received by SRTP subscribers, ${result.media.srtpAuthFailures} SRTP auth failures in the checked sample; ${counters.consumersAccepted} newConsumer accepted, ${counters.pings} pings`,
		`objects left after everyone left: rooms ${objectsLeft.rooms} (/api/rooms ${objectsLeft.apiRooms.length}), peers ${objectsLeft.peers}, routers ${objectsLeft.workers.map((worker) => worker.routers).join('/')}, consumers ${objectsLeft.workers.map((worker) => worker.consumers).join('/')} per worker → ${objectsLeft.clean ? 'clean' : 'NOT CLEAN'}` +
			(objectsLeft.emptyAfterSeconds !== undefined ? ` (empty ${f(objectsLeft.emptyAfterSeconds)} s after the last leave)` : ''),
		`errors: ${errors.total}${errors.total > 0 ? '' : ' (none)'}`,
		...Object.entries(errors.byKind).map(([kind, entry]) => `  ${entry.count} × ${kind}`),
		`server log: ${Object.entries(result.serverLog.warnings).map(([message, count]) => `${count} × warn "${message}"`).join('; ') || 'no warnings'}; errors: ${Object.entries(result.serverLog.errors).map(([message, count]) => `${count} × "${message}"${result.serverLog.expectedErrors[message] ? ' (expected: a killed worker)' : ''}`).join('; ') || 'none'}; ${result.serverLog.unparsed} non-log lines`,
	];
	return lines.join('\n');
}

/**
 * Output of a capacity run: the machine and versions, a table per sweep for
 * the terminal, a JSON file, and a self-contained HTML page with SVG charts
 * (CPU per worker and loss versus consumers).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CapacityOptions, StepResult, SweepResult } from './CapacityRun.js';
import { maxWorkerCpu, microsPerPacket, summarizeSweep, type SweepSummary } from './analysis.js';

export type MachineDescription = {
	cpuModel: string;
	cores: number;
	memoryGiB: number;
	kernel: string;
	virtualized: boolean;
	node: string;
	mediasoup: string;
	serverCommit: string;
};

function firstLine(command: string, args: string[], cwd: string): string {
	try {
		return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0] ?? '';
	} catch {
		return 'unknown';
	}
}

export function describeMachine(rootDir: string): MachineDescription {
	let virtualized = false;
	try {
		virtualized = /\bhypervisor\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
	} catch {
		// not Linux
	}
	let mediasoup = 'unknown';
	try {
		mediasoup = (JSON.parse(readFileSync(join(rootDir, 'node_modules', 'mediasoup', 'package.json'), 'utf8')) as { version: string }).version;
	} catch {
		// not installed
	}
	const dirty = firstLine('git', ['status', '--porcelain', '--', 'server'], rootDir);
	return {
		cpuModel: cpus()[0]?.model ?? 'unknown',
		cores: cpus().length,
		memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
		kernel: firstLine('uname', ['-sr'], rootDir),
		virtualized,
		node: process.version,
		mediasoup,
		serverCommit: `${firstLine('git', ['rev-parse', '--short', 'HEAD'], rootDir)}${dirty !== '' && dirty !== 'unknown' ? ' (server/ modified)' : ''}`,
	};
}

export type CapacityReport = {
	schema: 'sfu-capacity/1';
	date: string;
	machine: MachineDescription;
	parameters: Pick<CapacityOptions, 'thresholds' | 'settleMs' | 'windowMs' | 'stopAfterFailures' | 'budgetMs' | 'waitIdleMs'>;
	durationSeconds: number;
	summaries: SweepSummary[];
	sweeps: SweepResult[];
};

export function buildReport(options: CapacityOptions, sweeps: SweepResult[], machine: MachineDescription, startedAt: Date): CapacityReport {
	return {
		schema: 'sfu-capacity/1',
		date: startedAt.toISOString(),
		machine,
		parameters: { thresholds: options.thresholds, settleMs: options.settleMs, windowMs: options.windowMs, stopAfterFailures: options.stopAfterFailures, budgetMs: options.budgetMs, waitIdleMs: options.waitIdleMs },
		durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
		summaries: sweeps.map((sweep) => summarizeSweep(sweep, options.thresholds, machine.cores)),
		sweeps,
	};
}

const pct = (value: number) => `${value.toFixed(0)}%`;
const num = (value: number | null | undefined, digits = 1) => (value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits));

const COLUMNS: { title: string; value: (step: StepResult) => string }[] = [
	{ title: 'load', value: (s) => String(s.load) },
	{ title: 'consumers', value: (s) => String(s.serverConsumers) },
	{ title: 'out kpps', value: (s) => num(s.window.outgoing.packetsPerSecond / 1000) },
	{ title: 'out Mbit/s', value: (s) => num(s.window.outgoing.bitsPerSecond / 1e6, 0) },
	{ title: 'workers CPU', value: (s) => s.window.cpu.workers.map((w) => pct(w.percent)).join('/') },
	{ title: 'µs/pkt', value: (s) => num(microsPerPacket(s)) },
	{ title: 'node', value: (s) => pct(s.window.cpu.server) },
	{ title: 'gen', value: (s) => pct(s.window.cpu.generator) },
	{ title: 'chrome', value: (s) => pct(s.window.cpu.helpers) },
	{ title: 'machine', value: (s) => pct(s.window.cpu.machine) },
	{ title: 'other', value: (s) => pct(s.window.cpu.others ?? 0) },
	{ title: 'RSS MiB w/n', value: (s) => `${s.window.rssBytes.workers.map((b) => (b / 2 ** 20).toFixed(0)).join('/')}/${(s.window.rssBytes.server / 2 ** 20).toFixed(0)}` },
	{ title: 'loss %', value: (s) => `${(s.window.loss.overall * 100).toFixed(2)} (max ${(s.window.loss.worstStream * 100).toFixed(1)})` },
	{ title: 'jitter ms a/v p95', value: (s) => `${num(s.window.jitterMs.audio.p95)}/${num(s.window.jitterMs.video.p95)}` },
	{ title: 'join ms p50/95/99', value: (s) => `${num(s.signalling.joinTotal.p50, 0)}/${num(s.signalling.joinTotal.p95, 0)}/${num(s.signalling.joinTotal.p99, 0)}` },
	{ title: 'req ms p95/99', value: (s) => `${num(s.signalling.requests.p95, 0)}/${num(s.signalling.requests.p99, 0)}` },
	{ title: 'drops srv/gen', value: (s) => `${s.window.udpDrops.server}/${s.window.udpDrops.generator}` },
	{
		title: 'browser loss/fps/jit ms',
		value: (s) =>
			s.browsers
				? `${(s.browsers.loss * 100).toFixed(2)}%/${(s.browsers.videoFramesDecoded / Math.max(1, s.browsers.count) / s.window.seconds).toFixed(0)}/${s.browsers.jitterMsMax.video.toFixed(0)}`
				: '',
	},
	{ title: 'ok', value: (s) => (s.pass ? '✓' : '✗') },
];

export function formatTable(steps: StepResult[]): string {
	const rows = [COLUMNS.map((column) => column.title), ...steps.map((step) => COLUMNS.map((column) => column.value(step)))];
	const widths = COLUMNS.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
	return rows.map((row) => row.map((cell, index) => cell.padStart(widths[index]!)).join('  ')).join('\n');
}

export function formatSummary(summary: SweepSummary): string {
	const unit = summary.shape === 'stream' ? 'viewers' : 'participants';
	const lines = [
		`${summary.name}: capacity ${summary.capacity.load === null ? 'none (the first step failed)' : `${summary.capacity.load} ${unit}`} ` +
			`(${summary.capacity.consumers} consumers, ${num(summary.capacity.outgoingPacketsPerSecond / 1000)} kpps, ${num(summary.capacity.outgoingMbps, 0)} Mbit/s out) on ${summary.workers} worker(s); next: ${summary.capacity.limit}`,
		`  cost: ${num(summary.cost.microsPerPacketFit)} µs of worker CPU per forwarded packet (fit, r² ${num(summary.cost.fitR2, 3)}), ` +
			`${num(summary.cost.microsPerPacketAtCapacity)} µs at capacity incl. idle; ${num(summary.cost.percentCorePerMbpsAtCapacity, 2)}% of a core per Mbit/s; ` +
			`generator ${num(summary.cost.generatorMicrosPerPacket)} µs per packet received`,
		`  per worker (extrapolated): ~${summary.perWorker.consumersAtThreshold ?? '–'} consumers at the CPU threshold (${summary.perWorker.basis})`,
		`  bottleneck: ${summary.bottleneck.verdict}`,
		...summary.bottleneck.evidence.map((line) => `    ${line}`),
	];
	return lines.join('\n');
}

// ---------------------------------------------------------------------------
// HTML + SVG
// ---------------------------------------------------------------------------

type Series = { name: string; color: string; points: { x: number; y: number }[]; dashed?: boolean };

function escapeHtml(text: string): string {
	return text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]!);
}

/** A line chart as an SVG string: x = consumers, one polyline per series, optional horizontal limit line. */
export function lineChart(title: string, yLabel: string, series: Series[], limit?: { y: number; label: string }): string {
	const width = 640;
	const height = 300;
	const margin = { left: 56, right: 150, top: 30, bottom: 40 };
	const xs = series.flatMap((s) => s.points.map((p) => p.x));
	const ys = [...series.flatMap((s) => s.points.map((p) => p.y)), limit?.y ?? 0];
	const xMax = Math.max(1, ...xs) * 1.05;
	const yMax = Math.max(1, ...ys) * 1.1;
	const px = (x: number) => margin.left + (x / xMax) * (width - margin.left - margin.right);
	const py = (y: number) => height - margin.bottom - (y / yMax) * (height - margin.top - margin.bottom);
	const ticks = (max: number) => Array.from({ length: 6 }, (_, i) => (max / 5) * i);
	const parts: string[] = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
		`<text x="${margin.left}" y="18" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`,
		`<line x1="${margin.left}" y1="${py(0)}" x2="${width - margin.right}" y2="${py(0)}" stroke="#333"/>`,
		`<line x1="${margin.left}" y1="${py(0)}" x2="${margin.left}" y2="${margin.top}" stroke="#333"/>`,
		...ticks(xMax / 1.05).map((x) => `<text x="${px(x)}" y="${height - margin.bottom + 14}" text-anchor="middle">${Math.round(x)}</text>`),
		...ticks(yMax / 1.1).map((y) => `<text x="${margin.left - 6}" y="${py(y) + 4}" text-anchor="end">${y >= 10 ? Math.round(y) : y.toFixed(1)}</text><line x1="${margin.left}" y1="${py(y)}" x2="${width - margin.right}" y2="${py(y)}" stroke="#eee"/>`),
		`<text x="${(margin.left + width - margin.right) / 2}" y="${height - 6}" text-anchor="middle">consumers</text>`,
		`<text x="14" y="${(margin.top + height - margin.bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(margin.top + height - margin.bottom) / 2})">${escapeHtml(yLabel)}</text>`,
	];
	if (limit) {
		parts.push(`<line x1="${margin.left}" y1="${py(limit.y)}" x2="${width - margin.right}" y2="${py(limit.y)}" stroke="#c00" stroke-dasharray="4 3"/>`);
		parts.push(`<text x="${margin.left + 4}" y="${py(limit.y) - 4}" fill="#c00">${escapeHtml(limit.label)}</text>`);
	}
	series.forEach((s, index) => {
		if (s.points.length === 0) return;
		const path = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
		parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
		for (const p of s.points) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
		parts.push(`<rect x="${width - margin.right + 8}" y="${margin.top + 24 + index * 16}" width="10" height="3" fill="${s.color}"/>`);
		parts.push(`<text x="${width - margin.right + 22}" y="${margin.top + 28 + index * 16}">${escapeHtml(s.name)}</text>`);
	});
	parts.push('</svg>');
	return parts.join('');
}

const WORKER_COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22'];

function sweepCharts(sweep: SweepResult): string {
	const x = (step: StepResult) => step.serverConsumers;
	const workers = sweep.steps[0]?.window.cpu.workers.length ?? 0;
	const cpuSeries: Series[] = [
		...Array.from({ length: workers }, (_, index) => ({
			name: `worker ${index + 1}`,
			color: WORKER_COLORS[index % WORKER_COLORS.length]!,
			points: sweep.steps.map((step) => ({ x: x(step), y: step.window.cpu.workers[index]?.percent ?? 0 })),
		})),
		{ name: 'server Node', color: '#ff7f0e', points: sweep.steps.map((step) => ({ x: x(step), y: step.window.cpu.server })) },
		{ name: 'generator', color: '#7f7f7f', dashed: true, points: sweep.steps.map((step) => ({ x: x(step), y: step.window.cpu.generator })) },
	];
	const lossSeries: Series[] = [
		{ name: 'loss (all streams)', color: '#d62728', points: sweep.steps.map((step) => ({ x: x(step), y: step.window.loss.overall * 100 })) },
		{ name: 'p95 stream loss', color: '#e377c2', dashed: true, points: sweep.steps.map((step) => ({ x: x(step), y: step.window.loss.p95Stream * 100 })) },
	];
	return (
		lineChart(`${sweep.plan.name}: CPU per process`, '% of one core', cpuSeries, { y: 85, label: '85% of a core' }) +
		lineChart(`${sweep.plan.name}: subscriber loss`, 'loss %', lossSeries, { y: 1, label: '1% loss' })
	);
}

export function renderHtml(report: CapacityReport): string {
	const machine = report.machine;
	const sections = report.sweeps.map((sweep, index) => {
		const summary = report.summaries[index]!;
		return `<section><h2>${escapeHtml(sweep.plan.name)} (${sweep.plan.shape}, ${escapeHtml(sweep.plan.profile)}, ${sweep.plan.server.numWorkers} worker(s))</h2>
<p>Other programs' CPU before the sweep: ${sweep.backgroundCpuPercent.toFixed(0)}% of the machine.${sweep.error ? ` <strong>Failed: ${escapeHtml(sweep.error)}</strong>` : ''}</p>
<pre class="summary">${escapeHtml(formatSummary(summary))}</pre>
<div class="charts">${sweepCharts(sweep)}</div>
<pre class="table">${escapeHtml(formatTable(sweep.steps))}</pre></section>`;
	});
	const worst = (sweep: SweepResult) => Math.max(0, ...sweep.steps.map(maxWorkerCpu));
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SFU capacity ${escapeHtml(report.date)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1400px}pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}pre.summary{white-space:pre-wrap}.charts svg{margin:4px;border:1px solid #ddd}</style></head>
<body><h1>SFU capacity run</h1>
<p>${escapeHtml(report.date)} · ${escapeHtml(machine.cpuModel)} · ${machine.cores} cores${machine.virtualized ? ' (virtual machine)' : ''} · ${machine.memoryGiB} GiB · ${escapeHtml(machine.kernel)} · Node ${escapeHtml(machine.node)} · mediasoup ${escapeHtml(machine.mediasoup)} · server ${escapeHtml(machine.serverCommit)}</p>
<p>Thresholds: loss &lt; ${(report.parameters.thresholds.maxLoss * 100).toFixed(0)}% and no worker above ${report.parameters.thresholds.maxWorkerCpuPercent}% of a core. Window ${report.parameters.windowMs / 1000} s per step. The load generator runs on the same machine; its CPU is shown apart (grey, dashed). Highest worker CPU seen: ${report.sweeps.map((s) => `${escapeHtml(s.plan.name)} ${worst(s).toFixed(0)}%`).join(', ')}.</p>
${sections.join('\n')}
</body></html>
`;
}

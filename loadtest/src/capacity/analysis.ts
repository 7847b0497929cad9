/**
 * What a sweep says: the capacity (largest step within the thresholds), the
 * cost of forwarding (worker CPU per packet and per Mbit/s, fitted over the
 * passing steps), an extrapolated per-worker capacity, and which component
 * limited the machine, with the figures that show it.
 */
import type { StepResult, SweepResult, Thresholds } from './CapacityRun.js';

export type LinearFit = { slope: number; intercept: number; r2: number; points: number };

/** Least squares y = slope·x + intercept; undefined with fewer than two distinct x. */
export function linearFit(points: readonly { x: number; y: number }[]): LinearFit | undefined {
	const n = points.length;
	if (n < 2) return undefined;
	const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
	const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
	let sxx = 0;
	let sxy = 0;
	let syy = 0;
	for (const p of points) {
		sxx += (p.x - meanX) ** 2;
		sxy += (p.x - meanX) * (p.y - meanY);
		syy += (p.y - meanY) ** 2;
	}
	if (sxx === 0) return undefined;
	const slope = sxy / sxx;
	return { slope, intercept: meanY - slope * meanX, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy), points: n };
}

export function totalWorkerCpu(step: StepResult): number {
	return step.window.cpu.workers.reduce((sum, worker) => sum + worker.percent, 0);
}

export function maxWorkerCpu(step: StepResult): number {
	return Math.max(0, ...step.window.cpu.workers.map((worker) => worker.percent));
}

/** µs of worker CPU per forwarded packet at this step (all worker work, ingress and RTCP included). */
export function microsPerPacket(step: StepResult): number {
	const pps = step.window.outgoing.packetsPerSecond;
	return pps > 0 ? (totalWorkerCpu(step) * 1e4) / pps : Number.NaN;
}

/** % of one core per Mbit/s forwarded at this step. */
export function percentCorePerMbps(step: StepResult): number {
	const mbps = step.window.outgoing.bitsPerSecond / 1e6;
	return mbps > 0 ? totalWorkerCpu(step) / mbps : Number.NaN;
}

export type Bottleneck = { verdict: string; evidence: string[] };

/** Machine CPU (% of all cores) above which processes wait for a core often enough to drop packets. */
const MACHINE_SATURATED = 85;

export type SweepSummary = {
	name: string;
	shape: 'stream' | 'meeting';
	profile: string;
	workers: number;
	capacity: {
		/** Largest passing step (viewers or participants); null when even the first failed. */
		load: number | null;
		consumers: number;
		outgoingPacketsPerSecond: number;
		outgoingMbps: number;
		/** Why the next step failed, or why the sweep ended. */
		limit: string;
	};
	cost: {
		/** Marginal µs of worker CPU per forwarded packet (slope of the fit over passing steps). */
		microsPerPacketFit: number | null;
		fitR2: number | null;
		/** Total worker CPU ÷ packets at the capacity step (idle cost included). */
		microsPerPacketAtCapacity: number | null;
		percentCorePerMbpsAtCapacity: number | null;
		/** Generator CPU per packet it received, for comparison. */
		generatorMicrosPerPacket: number | null;
	};
	perWorker: {
		/** Consumers one worker carries at the CPU threshold, from the fitted cost (an extrapolation). */
		consumersAtThreshold: number | null;
		basis: string;
	};
	bottleneck: Bottleneck;
};

function bottleneckOf(sweep: SweepResult, failed: StepResult | undefined, thresholds: Thresholds, cores: number): Bottleneck {
	const step = failed ?? sweep.steps[sweep.steps.length - 1];
	if (!step) return { verdict: 'no step was measured', evidence: [] };
	const cpu = step.window.cpu;
	const workerMax = maxWorkerCpu(step);
	const evidence = [
		`at ${step.load} ${step.shape === 'stream' ? 'viewers' : 'participants'} (${step.serverConsumers} consumers, ${(step.window.outgoing.packetsPerSecond / 1000).toFixed(1)} kpps out):`,
		`workers ${cpu.workers.map((w) => `${w.percent.toFixed(0)}%`).join(' + ')} of a core, server Node ${cpu.server.toFixed(0)}%, generator ${cpu.generator.toFixed(0)}%, Chromium ${cpu.helpers.toFixed(0)}%, ` +
			`other programs and kernel threads ${(cpu.others ?? 0).toFixed(0)}%; machine ${cpu.machine.toFixed(0)}% of ${cores} cores`,
		`loss ${(step.window.loss.overall * 100).toFixed(2)}% (worst stream ${(step.window.loss.worstStream * 100).toFixed(1)}%); UDP receive-buffer drops: ${step.window.udpDrops.server} at the workers' sockets, ${step.window.udpDrops.generator} at the generator's`,
		`generator timer ticks late by > 20 ms: ${step.generator.lateTicks}`,
	];
	const stalled = !failed && sweep.stoppedBecause.startsWith('error at');
	if (stalled && cpu.machine < MACHINE_SATURATED) {
		return {
			verdict: `the server stopped answering while the load grew past this step (${sweep.stoppedBecause}); its busiest worker was at ${workerMax.toFixed(0)}% of a core here`,
			evidence,
		};
	}
	if (!failed && !stalled) return { verdict: 'not reached: every step passed', evidence };
	const generatorSaturated = cpu.generator >= 90;
	const machineSaturated = cpu.machine >= MACHINE_SATURATED;
	if (generatorSaturated && step.window.udpDrops.generator >= step.window.udpDrops.server) {
		return { verdict: 'the load generator: its single Node.js thread is saturated and its sockets drop what it cannot read', evidence };
	}
	if (workerMax > thresholds.maxWorkerCpuPercent && !machineSaturated) {
		return { verdict: 'a mediasoup worker: over the CPU threshold of one core', evidence };
	}
	if (machineSaturated) {
		const others = cpu.others ?? 0;
		const helpers = cpu.helpers >= 5 ? `, Chromium (${cpu.helpers.toFixed(0)}%)` : '';
		return {
			verdict:
				`the machine's CPU (${cpu.machine.toFixed(0)}% busy): workers (${totalWorkerCpu(step).toFixed(0)}%), generator (${cpu.generator.toFixed(0)}%)${helpers}, server Node (${cpu.server.toFixed(0)}%)` +
				`${others >= 20 ? ` and other programs/kernel threads (${others.toFixed(0)}%)` : ''} share ${cores} cores` +
				`${stalled ? `; growing further, the server stopped answering (${sweep.stoppedBecause})` : ''}`,
			evidence,
		};
	}
	if (cpu.server >= thresholds.maxWorkerCpuPercent) return { verdict: 'the server Node.js process', evidence };
	if (workerMax > thresholds.maxWorkerCpuPercent) return { verdict: 'a mediasoup worker: over the CPU threshold of one core', evidence };
	if (step.window.udpDrops.server > step.window.udpDrops.generator) {
		return {
			verdict: `the workers' UDP receive buffers: they overflowed in bursts (${step.window.udpDrops.server} drops) while no process was saturated (busiest worker ${workerMax.toFixed(0)}%)`,
			evidence,
		};
	}
	return { verdict: `loss without a saturated process (${failed?.failures.join('; ') ?? sweep.stoppedBecause})`, evidence };
}

export function summarizeSweep(sweep: SweepResult, thresholds: Thresholds, cores: number): SweepSummary {
	const steps = sweep.steps;
	const firstFail = steps.findIndex((step) => !step.pass);
	const passing = firstFail === -1 ? steps : steps.slice(0, firstFail);
	const capacityStep = passing[passing.length - 1];
	const failed = firstFail === -1 ? undefined : steps[firstFail];
	const fit = linearFit(passing.map((step) => ({ x: step.window.outgoing.packetsPerSecond, y: totalWorkerCpu(step) * 1e4 })));
	const perConsumerPps = capacityStep && capacityStep.streams > 0 ? capacityStep.window.outgoing.packetsPerSecond / capacityStep.streams : undefined;
	const consumersAtThreshold =
		fit && fit.slope > 0 && perConsumerPps ? Math.floor((thresholds.maxWorkerCpuPercent * 1e4) / (fit.slope * perConsumerPps)) : null;
	// The generator reads only the measured sample.
	const generatorPps = capacityStep?.window.measuredOutgoing.packetsPerSecond ?? 0;
	return {
		name: sweep.plan.name,
		shape: sweep.plan.shape,
		profile: sweep.plan.profile,
		workers: sweep.plan.server.numWorkers,
		capacity: {
			load: capacityStep?.load ?? null,
			consumers: capacityStep?.serverConsumers ?? 0,
			outgoingPacketsPerSecond: capacityStep?.window.outgoing.packetsPerSecond ?? 0,
			outgoingMbps: (capacityStep?.window.outgoing.bitsPerSecond ?? 0) / 1e6,
			limit: failed
				? `${failed.load}: ${failed.failures.join('; ')}`
				: sweep.stoppedBecause.startsWith('error at')
					? sweep.stoppedBecause
					: `not reached (${sweep.stoppedBecause})`,
		},
		cost: {
			microsPerPacketFit: fit ? fit.slope : null,
			fitR2: fit ? fit.r2 : null,
			microsPerPacketAtCapacity: capacityStep ? microsPerPacket(capacityStep) : null,
			percentCorePerMbpsAtCapacity: capacityStep ? percentCorePerMbps(capacityStep) : null,
			generatorMicrosPerPacket: capacityStep && generatorPps > 0 ? (capacityStep.window.cpu.generator * 1e4) / generatorPps : null,
		},
		perWorker: {
			consumersAtThreshold,
			basis: perConsumerPps
				? `${thresholds.maxWorkerCpuPercent}% of a core ÷ (fitted µs/packet × ${perConsumerPps.toFixed(0)} packets/s per consumer)`
				: 'not enough passing steps',
		},
		bottleneck: bottleneckOf(sweep, failed, thresholds, cores),
	};
}

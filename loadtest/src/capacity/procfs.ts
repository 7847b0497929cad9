/**
 * What Linux says about processes and sockets (/proc): CPU time and RSS per
 * process, machine-wide CPU, and UDP receive-buffer drops per socket, so the
 * server's cost, the generator's cost and where packets were dropped can be
 * told apart.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux almost everywhere). */
export function clockTicksPerSecond(): number {
	if (clockTicks === undefined) {
		try {
			clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
		} catch {
			clockTicks = 100;
		}
	}
	return clockTicks;
}

/** CPU seconds (user + system) a process has used; undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after the command name (which may contain spaces) start after the last ')'.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const utime = Number(fields[11]);
		const stime = Number(fields[12]);
		return (utime + stime) / clockTicksPerSecond();
	} catch {
		return undefined;
	}
}

/** Resident set size in bytes; undefined when the process is gone. */
export function processRssBytes(pid: number): number | undefined {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

/** Parent pid of a process, or undefined. */
function parentPid(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
	} catch {
		return undefined;
	}
}

/** A process and all its descendants (e.g. Chromium's renderer and GPU processes). */
export function processTree(rootPid: number): number[] {
	const children = new Map<number, number[]>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		const pid = Number(entry);
		const parent = parentPid(pid);
		if (parent === undefined) continue;
		const list = children.get(parent) ?? [];
		list.push(pid);
		children.set(parent, list);
	}
	const result: number[] = [];
	const queue = [rootPid];
	while (queue.length > 0 && result.length < 10_000) {
		const pid = queue.shift()!;
		result.push(pid);
		queue.push(...(children.get(pid) ?? []));
	}
	return result;
}

/** Machine-wide CPU: busy and total jiffies since boot, summed over cores (first line of /proc/stat). */
export function machineCpuJiffies(): { busy: number; total: number } {
	const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
	const values = line.trim().split(/\s+/).slice(1).map(Number);
	const idle = (values[3] ?? 0) + (values[4] ?? 0);
	const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
	return { busy: total - idle, total };
}

export type UdpSocketInfo = { localPort: number; inode: number; drops: number; rxQueueBytes: number };

/** Every UDP socket of the machine with its drop counter (/proc/net/udp and udp6). */
export function udpSockets(): UdpSocketInfo[] {
	const result: UdpSocketInfo[] = [];
	for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
		let text: string;
		try {
			text = readFileSync(file, 'utf8');
		} catch {
			continue;
		}
		for (const line of text.split('\n').slice(1)) {
			const fields = line.trim().split(/\s+/);
			if (fields.length < 13) continue;
			const local = fields[1]!;
			const queues = fields[4]!.split(':');
			result.push({
				localPort: parseInt(local.slice(local.lastIndexOf(':') + 1), 16),
				rxQueueBytes: parseInt(queues[1] ?? '0', 16),
				inode: Number(fields[9]),
				drops: Number(fields[12]),
			});
		}
	}
	return result;
}

/** Socket inodes a process holds open. */
export function socketInodes(pid: number): Set<number> {
	const inodes = new Set<number>();
	try {
		for (const fd of readdirSync(`/proc/${pid}/fd`)) {
			try {
				const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
				const match = /^socket:\[(\d+)\]$/.exec(target);
				if (match) inodes.add(Number(match[1]));
			} catch {
				// fd closed meanwhile
			}
		}
	} catch {
		// process gone
	}
	return inodes;
}

/** Total UDP drops on the sockets the given processes own. */
export function udpDropsOf(pids: number[]): number {
	const inodes = new Set<number>();
	for (const pid of pids) for (const inode of socketInodes(pid)) inodes.add(inode);
	return udpSockets()
		.filter((socket) => inodes.has(socket.inode))
		.reduce((sum, socket) => sum + socket.drops, 0);
}

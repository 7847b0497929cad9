/**
 * Real networks for fault tests, made by the test and removed afterwards:
 * a namespace for the server, one for the browser under test, joined by a
 * veth pair (the link the test cuts, throttles and re-addresses), and a
 * second veth pair from the root namespace to the server's, for observers.
 * Every address is one the test assigns, from 10.213.0.0/16; no traffic
 * leaves these namespaces or loopback. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
 *
 *   root ns  ──veth <p>r0/<p>r1──▶  server ns (service address on lo)  ◀──veth <p>c1/<p>c0──  client ns
 *   observers                        node dist/server/main.js                                   Chromium under test
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Namespaces are named `sfuft-<pid>-<role>`, interfaces `sft<pid><end>`: leftovers of a dead run are found by these. */
const NS_PREFIX = 'sfuft-';
const LINK_PREFIX = 'sft';

/** Runs `ip` (or `tc`) and returns its output; throws with its stderr. */
function sh(command: 'ip' | 'tc', args: string[], ns?: string): string {
	const [file, argv] = ns ? ['ip', ['netns', 'exec', ns, command, ...args]] : [command, args];
	const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 10_000 });
	if (result.status !== 0) throw new Error(`${[file, ...argv].join(' ')} failed (${result.status ?? result.signal}): ${result.stderr.trim() || result.error?.message}`);
	return result.stdout;
}

const alive = (pid: number) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
};

/**
 * Why this machine cannot make test networks (not root, no `ip`, a kernel
 * without namespaces or veth), or undefined when it can: tried for real.
 */
export function networkLabUnavailable(): string | undefined {
	const probe = `${NS_PREFIX}${process.pid}-probe`;
	try {
		sh('ip', ['netns', 'add', probe]);
	} catch (error) {
		return `cannot create network namespaces (${(error as Error).message}); these tests need root`;
	}
	try {
		sh('ip', ['-n', probe, 'link', 'add', `${LINK_PREFIX}${process.pid}p0`, 'type', 'veth', 'peer', 'name', `${LINK_PREFIX}${process.pid}p1`]);
		sh('tc', ['qdisc', 'add', 'dev', `${LINK_PREFIX}${process.pid}p0`, 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '100ms'], probe);
		return undefined;
	} catch (error) {
		return `cannot create veth pairs or tbf qdiscs (${(error as Error).message})`;
	} finally {
		spawnSync('ip', ['netns', 'del', probe]);
	}
}

/** Removes namespaces and links of earlier runs whose process is gone (a crash skips afterAll). */
export function removeLeftovers(): string[] {
	const removed: string[] = [];
	const ownerAlive = (name: string, prefix: string) => {
		const pid = Number(/^(\d+)/u.exec(name.slice(prefix.length))?.[1]);
		return Number.isInteger(pid) && pid !== process.pid && alive(pid);
	};
	for (const line of sh('ip', ['netns', 'list']).split('\n')) {
		const name = line.split(' ')[0] ?? '';
		if (!name.startsWith(NS_PREFIX) || ownerAlive(name, NS_PREFIX)) continue;
		// Processes left inside (a server, a browser) keep the namespace alive after its name is gone: end them first.
		for (const pid of sh('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)) {
			try {
				process.kill(Number(pid), 'SIGKILL');
			} catch {
				// already gone
			}
		}
		spawnSync('ip', ['netns', 'del', name]);
		removed.push(name);
	}
	for (const line of sh('ip', ['-o', 'link', 'show']).split('\n')) {
		const name = /^\d+: ([^:@]+)/u.exec(line)?.[1];
		if (!name?.startsWith(LINK_PREFIX) || ownerAlive(name, LINK_PREFIX)) continue;
		spawnSync('ip', ['link', 'del', name]);
		removed.push(name);
	}
	return removed;
}

export type LogLine = { level?: number | string; event?: string; msg?: string; peerId?: string } & Record<string, unknown>;

/** The compiled server (`node dist/server/main.js`) running inside a namespace, its JSON log kept in memory. */
export type NamespacedServer = {
	child: ChildProcess;
	url: string;
	lines: LogLine[];
	/** Output that was not a JSON line (a crash's stack trace). */
	otherOutput: string[];
	stop(): Promise<void>;
};

export class NetworkLab {
	readonly serverNs: string;
	readonly clientNs: string;
	/** The server's own address (on its namespace's loopback), reachable over both links. */
	readonly serverAddress: string;
	/** The client's address now; `changeClientAddress` moves it. */
	clientAddress: string;
	readonly #clientLink: string;
	readonly #serverClientLink: string;
	readonly #rootLink: string;
	readonly #clientGateway: string;
	readonly #servers = new Set<NamespacedServer>();
	readonly #tempDirs: string[] = [];
	#destroyed = false;

	private constructor(id: string, subnetBase: number) {
		this.serverNs = `${NS_PREFIX}${id}-srv`;
		this.clientNs = `${NS_PREFIX}${id}-cli`;
		this.#clientLink = `${LINK_PREFIX}${id}c0`;
		this.#serverClientLink = `${LINK_PREFIX}${id}c1`;
		this.#rootLink = `${LINK_PREFIX}${id}r0`;
		this.#clientGateway = `10.213.${subnetBase + 1}.1`;
		this.serverAddress = `10.213.${subnetBase}.1`;
		this.clientAddress = `10.213.${subnetBase + 1}.2`;
	}

	/** Builds the namespaces and links for this process (removing leftovers of dead runs first). */
	static create(): NetworkLab {
		removeLeftovers();
		// Three /24s per run, picked by pid, so two runs at once do not share routes.
		const base = (process.pid % 80) * 3;
		const lab = new NetworkLab(String(process.pid), base);
		process.once('exit', () => lab.destroySync());
		try {
			lab.#build(base);
		} catch (error) {
			lab.destroySync();
			throw error;
		}
		return lab;
	}

	#build(base: number): void {
		const [server, client] = [this.serverNs, this.clientNs];
		const rootNet = `10.213.${base + 2}`;
		const rootPeer = `${LINK_PREFIX}${process.pid}r1`;
		for (const ns of [server, client]) {
			sh('ip', ['netns', 'add', ns]);
			sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
		}
		sh('ip', ['-n', server, 'addr', 'add', `${this.serverAddress}/32`, 'dev', 'lo']);
		// Client link: server end and client end.
		sh('ip', ['link', 'add', this.#clientLink, 'netns', client, 'type', 'veth', 'peer', 'name', this.#serverClientLink, 'netns', server]);
		sh('ip', ['-n', server, 'addr', 'add', `${this.#clientGateway}/24`, 'dev', this.#serverClientLink]);
		sh('ip', ['-n', server, 'link', 'set', this.#serverClientLink, 'up']);
		sh('ip', ['-n', client, 'addr', 'add', `${this.clientAddress}/24`, 'dev', this.#clientLink]);
		sh('ip', ['-n', client, 'link', 'set', this.#clientLink, 'up']);
		this.#routeClient();
		// Observer link: root end and server end; only the server's address is routed through it.
		sh('ip', ['link', 'add', this.#rootLink, 'type', 'veth', 'peer', 'name', rootPeer, 'netns', server]);
		sh('ip', ['-n', server, 'addr', 'add', `${rootNet}.1/24`, 'dev', rootPeer]);
		sh('ip', ['-n', server, 'link', 'set', rootPeer, 'up']);
		sh('ip', ['addr', 'add', `${rootNet}.2/24`, 'dev', this.#rootLink]);
		sh('ip', ['link', 'set', this.#rootLink, 'up']);
		sh('ip', ['route', 'add', `${this.serverAddress}/32`, 'via', `${rootNet}.1`, 'dev', this.#rootLink]);
	}

	/** The client's route to the server; the kernel drops it when the link goes down or the address goes. */
	#routeClient(): void {
		sh('ip', ['-n', this.clientNs, 'route', 'replace', `${this.serverAddress}/32`, 'via', this.#clientGateway, 'dev', this.#clientLink]);
	}

	/** Cuts the client's link: its interface goes down, as when a cable is pulled or Wi-Fi drops. */
	cutClientLink(): void {
		sh('ip', ['-n', this.clientNs, 'link', 'set', this.#clientLink, 'down']);
	}

	/** Brings the client's link back up with its route. */
	restoreClientLink(): void {
		sh('ip', ['-n', this.clientNs, 'link', 'set', this.#clientLink, 'up']);
		this.#routeClient();
	}

	/** Moves the client to another address on the same link (the link stays up; the server's address stays). */
	changeClientAddress(): { from: string; to: string } {
		const from = this.clientAddress;
		const last = Number(from.split('.').at(-1));
		const to = from.replace(/\d+$/u, String(last === 2 ? 3 : 2));
		sh('ip', ['-n', this.clientNs, 'addr', 'del', `${from}/24`, 'dev', this.#clientLink]);
		sh('ip', ['-n', this.clientNs, 'addr', 'add', `${to}/24`, 'dev', this.#clientLink]);
		this.#routeClient();
		this.clientAddress = to;
		return { from, to };
	}

	/** Caps what the client sends (tbf on its egress) and, with `bothWays`, what it receives (tbf on the server end). */
	throttleClient(rateKbit: number, bothWays = true): void {
		const tbf = ['root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', '16kbit', 'latency', '300ms'];
		sh('tc', ['qdisc', 'replace', 'dev', this.#clientLink, ...tbf], this.clientNs);
		if (bothWays) sh('tc', ['qdisc', 'replace', 'dev', this.#serverClientLink, ...tbf], this.serverNs);
	}

	unthrottleClient(): void {
		spawnSync('ip', ['netns', 'exec', this.clientNs, 'tc', 'qdisc', 'del', 'dev', this.#clientLink, 'root']);
		spawnSync('ip', ['netns', 'exec', this.serverNs, 'tc', 'qdisc', 'del', 'dev', this.#serverClientLink, 'root']);
	}

	/**
	 * An executable that runs `binary` inside the client namespace, for
	 * playwright's `executablePath`: playwright talks to Chromium over a pipe
	 * (inherited file descriptors), which crosses namespaces.
	 */
	clientWrapper(binary: string): string {
		const dir = mkdtempSync(join(tmpdir(), 'sfuft-'));
		this.#tempDirs.push(dir);
		const path = join(dir, 'chromium-in-netns');
		writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${this.clientNs} ${binary} "$@"\n`);
		chmodSync(path, 0o755);
		return path;
	}

	/**
	 * Starts `node <entry>` inside the server namespace with `env` (SFU_*) and
	 * resolves once it logs `server-ready`.
	 */
	async startServer(entry: string, env: Record<string, string>, timeoutMs = 30_000): Promise<NamespacedServer> {
		const child = spawn('ip', ['netns', 'exec', this.serverNs, process.execPath, entry], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
		const lines: LogLine[] = [];
		const otherOutput: string[] = [];
		let buffer = '';
		child.stdout!.on('data', (chunk: Buffer) => {
			buffer += chunk.toString();
			const parts = buffer.split('\n');
			buffer = parts.pop() ?? '';
			for (const part of parts) {
				if (!part.trim()) continue;
				try {
					lines.push(JSON.parse(part) as LogLine);
				} catch {
					otherOutput.push(part);
				}
			}
		});
		child.stderr!.on('data', (chunk: Buffer) => otherOutput.push(chunk.toString()));
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		const server: NamespacedServer = {
			child,
			url: '',
			lines,
			otherOutput,
			stop: async () => {
				this.#servers.delete(server);
				if (child.exitCode !== null || child.signalCode !== null) return;
				child.kill('SIGINT');
				const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
				await exited;
				clearTimeout(timer);
			},
		};
		this.#servers.add(server);
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			const ready = lines.find((line) => line.event === 'server-ready');
			if (ready) return Object.assign(server, { url: String(ready.url) });
			if (child.exitCode !== null) break;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await server.stop();
		throw new Error(`the server in ${this.serverNs} did not log server-ready within ${timeoutMs} ms:\n${[...lines.slice(-10).map((l) => JSON.stringify(l)), ...otherOutput].join('\n')}`);
	}

	/** Stops the servers it started, removes both namespaces (and so every link in them) and its temp files. */
	async destroy(): Promise<void> {
		for (const server of [...this.#servers]) await server.stop().catch(() => undefined);
		this.destroySync();
	}

	destroySync(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		for (const server of this.#servers) server.child.kill('SIGKILL');
		for (const ns of [this.serverNs, this.clientNs]) {
			const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
			for (const pid of pids.split('\n').filter(Boolean)) {
				try {
					process.kill(Number(pid), 'SIGKILL');
				} catch {
					// already gone
				}
			}
			spawnSync('ip', ['netns', 'del', ns]);
		}
		// Deleting the server namespace deletes both veth pairs; this catches a half-built lab.
		spawnSync('ip', ['link', 'del', this.#rootLink]);
		for (const dir of this.#tempDirs) rmSync(dir, { recursive: true, force: true });
	}

	/** What is left of this lab (names of namespaces and links), for the cleanup assertion. */
	leftovers(): string[] {
		const namespaces = sh('ip', ['netns', 'list']).split('\n').map((line) => line.split(' ')[0] ?? '');
		const links = sh('ip', ['-o', 'link', 'show']).split('\n').map((line) => /^\d+: ([^:@]+)/u.exec(line)?.[1] ?? '');
		return [...namespaces.filter((n) => n === this.serverNs || n === this.clientNs), ...links.filter((n) => n === this.#rootLink || n === this.#clientLink)];
	}
}

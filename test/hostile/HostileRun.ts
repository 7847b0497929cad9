/**
 * The hostile side of a run: its actors (joined connections of each role,
 * from a loopback address of their own), the objects they own, and the
 * runner that sends each case and judges the answer.
 */
import { subscriberRtpCapabilities } from '../../loadtest/src/media/profile.js';
import { chromium, withMid } from '../helpers/fixtures.js';
import type { JoinTokenClaims, Role } from '../../server/signalling/protocol.js';
import { HostileSocket, HttpClient, upgradeStatus, type Answer } from './clients.js';
import { joinToken } from './jwt.js';
import { paceUnder, type Pace } from './pacing.js';
import { EVIL_BROADCASTER, KICKED, type CorpusSettings } from './settings.js';
import { resolveLate, type ActorName, type CaseResult, type Expected, type Flood, type HostileCase, type Targets, type Verdict } from './types.js';

/** Loopback source addresses: the hostile actors, the connection flood, the HTTP flood, and the HTTP cases' own. */
export const ADDRESSES = {
	actors: '127.0.0.2',
	connectionFlood: '127.0.0.3',
	httpFlood: '127.0.0.4',
	http: ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.0.16', '127.0.0.17'],
} as const;

export type ServerEndpoint = { url: string; wsUrl: string };

/** What the bystander is, as the corpus needs its ids. */
export type BystanderIds = Targets['bystander'];

type ServerLimits = { requestsPerSecond: number; requestBurst: number; httpRequestsPerSecondPerIp: number; httpRequestBurstPerIp: number };

const sctpCapabilities = { numStreams: { OS: 1024, MIS: 1024 } };

function expectOk(answer: Answer, what: string): Record<string, unknown> {
	if (answer.kind !== 'ok') throw new Error(`set-up step failed: ${what}: ${JSON.stringify(answer)}`);
	return (answer.data ?? {}) as Record<string, unknown>;
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

export function judge(expected: Expected, answer: Answer): Verdict {
	if (answer.kind === 'ok') return 'unexpected-success';
	if (answer.kind !== 'error') return 'no-answer';
	const codes: readonly number[] = typeof expected.code === 'number' ? [expected.code] : expected.code;
	if (!codes.includes(answer.code)) return 'wrong-error';
	return expected.reason === undefined || answer.reason.includes(expected.reason) ? 'as-expected' : 'wrong-error';
}

type Actor = { socket: HostileSocket; pace: Pace };

export class HostileRun {
	readonly #server: ServerEndpoint;
	readonly #settings: CorpusSettings;
	readonly #limits: ServerLimits;
	readonly #actors = new Map<ActorName, Actor>();
	readonly #http: { client: HttpClient; pace: Pace }[];
	readonly #extraSockets: HostileSocket[] = [];
	#httpTurn = 0;
	#floods = 0;
	targets: Targets | undefined;

	constructor(server: ServerEndpoint, settings: CorpusSettings, limits: ServerLimits) {
		this.#server = server;
		this.#settings = settings;
		this.#limits = limits;
		this.#http = ADDRESSES.http.map((address) => ({ client: new HttpClient(server.url, address), pace: paceUnder(limits.httpRequestsPerSecondPerIp, limits.httpRequestBurstPerIp) }));
	}

	#token(room: string, id: string, role: Role, extra: Partial<JoinTokenClaims> = {}): string {
		return joinToken(this.#settings.secret, room, id, role, extra);
	}

	async #connect(name: ActorName | typeof KICKED, role: Role, room = this.#settings.room, extra: Partial<JoinTokenClaims> = {}): Promise<HostileSocket> {
		const socket = await HostileSocket.open(this.#server.wsUrl, { roomId: room, token: this.#token(room, name, role, extra) }, ADDRESSES.actors);
		if (name !== KICKED) this.#actors.set(name, { socket, pace: paceUnder(this.#limits.requestsPerSecond, this.#limits.requestBurst) });
		else this.#extraSockets.push(socket);
		return socket;
	}

	#socket(name: ActorName): HostileSocket {
		const actor = this.#actors.get(name);
		if (!actor) throw new Error(`no actor ${name}`);
		return actor.socket;
	}

	async #transport(socket: HostileSocket, producing: boolean, consuming: boolean): Promise<string> {
		const data = expectOk(await socket.request('createWebRtcTransport', { producing, consuming, sctpCapabilities }), 'createWebRtcTransport');
		return String(data.id);
	}

	async #join(socket: HostileSocket, name: string): Promise<void> {
		expectOk(await socket.request('join', { displayName: name, device: { name: 'hostile' }, rtpCapabilities: chromium.rtpCapabilities, sctpCapabilities }), `${name} joins`);
	}

	async #produceMic(socket: HostileSocket, transportId: string): Promise<string> {
		return String(expectOk(await socket.request('produce', { transportId, kind: 'audio', rtpParameters: withMid(chromium.opus, 0), appData: { source: 'mic' } }), 'produce mic').id);
	}

	#consumerOf(socket: HostileSocket, producerId: string, what: string): Promise<string> {
		return until(what, () => {
			const offer = socket.serverRequests.find((request) => request.method === 'newConsumer' && request.data.producerId === producerId);
			return offer ? String(offer.data.id) : undefined;
		});
	}

	/** Connects and joins every actor, gives them objects, and has the host mute one and remove another. */
	async setUp(bystander: BystanderIds): Promise<Targets> {
		const { room, otherRoom } = this.#settings;
		const host = await this.#connect('host', 'host');
		const hostSend = await this.#transport(host, true, false);
		await this.#transport(host, false, true);
		await this.#join(host, 'host');
		const hostProducer = await this.#produceMic(host, hostSend);
		const hostConsumer = await this.#consumerOf(host, bystander.audioProducerId, "the host's consumer of the bystander");

		const participant = await this.#connect('participant', 'participant');
		const participantSend = await this.#transport(participant, true, false);
		const participantRecv = await this.#transport(participant, false, true);
		await this.#join(participant, 'participant');
		const participantProducer = await this.#produceMic(participant, participantSend);
		const participantConsumer = await this.#consumerOf(participant, bystander.videoProducerId, "the participant's consumer of the bystander's video");

		const muted = await this.#connect('muted', 'participant');
		const mutedTransport = await this.#transport(muted, true, false);
		await this.#join(muted, 'muted');
		const mutedProducer = await this.#produceMic(muted, mutedTransport);
		expectOk(await host.request('mutePeer', { peerId: 'muted' }), 'the host mutes "muted"');

		const viewer = await this.#connect('viewer', 'viewer');
		const viewerTransport = await this.#transport(viewer, true, true);
		await this.#join(viewer, 'viewer');

		const restricted = await this.#connect('restricted', 'participant', room, { name: 'Restricted', permissions: { publishVideo: false, publishScreen: false, chat: false } });
		const restrictedTransport = await this.#transport(restricted, true, false);
		await this.#join(restricted, 'restricted');

		const guest = await this.#connect('guest', 'guest');
		const lobby = expectOk(await guest.request('join', { displayName: 'guest' }), 'the guest joins');
		if (lobby.lobby !== true) throw new Error('the guest did not go to the lobby');

		for (const typist of ['typist1', 'typist2', 'typist3'] as const) await this.#join(await this.#connect(typist, 'viewer'), typist);
		await this.#join(await this.#connect('outsider', 'participant', otherRoom), 'outsider');

		const kicked = await this.#connect(KICKED, 'participant');
		await this.#join(kicked, KICKED);
		expectOk(await host.request('removePeer', { peerId: KICKED }), 'the host removes "kicked"');
		await until('"kicked" closed by the server', () => (kicked.closed ? true : undefined));

		const evil = await this.#evilBroadcaster(bystander.videoProducerId);
		this.targets = {
			room,
			otherRoom,
			bystander,
			host: { transportId: hostSend, producerId: hostProducer, consumerId: hostConsumer },
			participant: { sendTransportId: participantSend, recvTransportId: participantRecv, producerId: participantProducer, consumerId: participantConsumer },
			muted: { transportId: mutedTransport, producerId: mutedProducer },
			viewer: { transportId: viewerTransport },
			restricted: { transportId: restrictedTransport },
			evil,
		};
		return this.targets;
	}

	/** The hostile side's own broadcaster (service token): one transport to connect, one that consumes the bystander's video once. */
	async #evilBroadcaster(videoProducerId: string): Promise<Targets['evil']> {
		const authorization = `Bearer ${this.#token(this.#settings.room, EVIL_BROADCASTER, 'service')}`;
		const client = this.#http[0]!.client;
		const base = `/api/rooms/${this.#settings.room}/broadcasters`;
		expectOk(await client.call({ method: 'POST', path: base, body: { id: EVIL_BROADCASTER, displayName: 'Evil', rtpCapabilities: subscriberRtpCapabilities() }, authorization }), 'create the evil broadcaster');
		// comedia off, never connected: a consumer on it sends nothing anywhere.
		const connectTransport = expectOk(await client.call({ method: 'POST', path: `${base}/${EVIL_BROADCASTER}/transports`, body: { comedia: false }, authorization }), 'evil transport');
		const consumeTransport = expectOk(await client.call({ method: 'POST', path: `${base}/${EVIL_BROADCASTER}/transports`, body: { comedia: false }, authorization }), 'evil transport');
		expectOk(await client.call({ method: 'POST', path: `${base}/${EVIL_BROADCASTER}/transports/${String(consumeTransport.id)}/consume?producerId=${videoProducerId}`, body: {}, authorization }), 'evil consumes the video once');
		return { id: EVIL_BROADCASTER, connectTransportId: String(connectTransport.id), consumeTransportId: String(consumeTransport.id) };
	}

	/** Runs every case, one at a time, in order. */
	async run(cases: readonly HostileCase[], onResult?: (result: CaseResult) => void): Promise<CaseResult[]> {
		const results: CaseResult[] = [];
		for (const hostileCase of cases) {
			const started = Date.now();
			const { answer, detail } = await this.#send(hostileCase);
			const result: CaseResult = { hostileCase, answer, verdict: judge(hostileCase.expect, answer), ms: Date.now() - started, ...(detail ? { detail } : {}) };
			results.push(result);
			onResult?.(result);
		}
		return results;
	}

	async #send({ send }: HostileCase): Promise<{ answer: Answer; detail?: string }> {
		const targets = this.targets;
		if (!targets) throw new Error('set up the run first');
		switch (send.via) {
			case 'request': {
				const actor = this.#actors.get(send.actor)!;
				await actor.pace.take();
				return { answer: await actor.socket.request(send.method, resolveLate(send.data, targets)) };
			}
			case 'raw': {
				const actor = this.#actors.get(send.actor)!;
				await actor.pace.take();
				const id = actor.socket.nextRequestId();
				return { answer: await actor.socket.requestRaw(id, send.text(id)) };
			}
			case 'connect':
				return { answer: await this.#refusedConnection(resolveLate(send.query, targets)) };
			case 'upgrade':
				return { answer: await upgradeStatus(this.#server.url, resolveLate(send.path, targets), ADDRESSES.actors, send.protocol ? { protocol: send.protocol } : {}) };
			case 'http': {
				const turn = this.#http[this.#httpTurn++ % this.#http.length]!;
				await turn.pace.take();
				const body = send.body === undefined ? undefined : resolveLate(send.body, targets);
				return { answer: await turn.client.call({ method: send.method, path: resolveLate(send.path, targets), body, authorization: resolveLate(send.authorization, targets) }) };
			}
			case 'huge':
				return this.#hugeMessage(send.bytes);
			case 'flood':
				return this.#flood(send.flood);
		}
	}

	/** A connection the server should accept only to refuse its requests: open it, ask once, close. */
	async #refusedConnection(query: Record<string, string>): Promise<Answer> {
		let socket: HostileSocket;
		try {
			socket = await HostileSocket.open(this.#server.wsUrl, query, ADDRESSES.actors);
		} catch (error) {
			return { kind: 'failed', reason: (error as Error).message };
		}
		try {
			return await socket.request('getRouterRtpCapabilities', {});
		} finally {
			socket.close();
		}
	}

	async #hugeMessage(bytes: number): Promise<{ answer: Answer; detail: string }> {
		const socket = await this.#freshViewer();
		try {
			const answer = await socket.request('changeDisplayName', { displayName: 'x'.repeat(bytes) });
			if (answer.kind !== 'closed' || answer.closeCode === undefined) return { answer, detail: 'the connection was not cut' };
			return { answer: { kind: 'error', code: answer.closeCode, reason: answer.reason }, detail: `closed with ${answer.closeCode}` };
		} finally {
			socket.close();
		}
	}

	async #flood(flood: Flood): Promise<{ answer: Answer; detail: string }> {
		switch (flood.kind) {
			case 'requests':
				return this.#requestFlood(flood);
			case 'notifications-then-request': {
				const socket = await this.#freshViewer();
				try {
					for (let i = 0; i < flood.count; i++) socket.notify('pauseConsumer', { consumerId: `flood-${i}` });
					const answer = await socket.request('getRouterRtpCapabilities', {});
					return { answer, detail: `${flood.count} notifications, then the request got ${describe(answer)}` };
				} finally {
					socket.close();
				}
			}
			case 'key-frames': {
				const socket = this.#socket(flood.actor);
				const answers: Answer[] = [];
				for (let i = 0; i < flood.count; i++) answers.push(await socket.request('requestConsumerKeyFrame', { consumerId: this.targets!.participant.consumerId }));
				return summarize(answers);
			}
			case 'connections':
				return this.#connectionFlood(flood.max);
			case 'http': {
				const client = new HttpClient(this.#server.url, ADDRESSES.httpFlood, 16);
				try {
					const answers = await Promise.all(Array.from({ length: flood.count }, () => client.call({ method: 'GET', path: flood.path })));
					const limited = answers.filter((answer) => answer.kind === 'error' && answer.code === 429);
					const withRetryAfter = limited.filter((answer) => answer.headers?.['retry-after'] !== undefined).length;
					const result = summarize(answers);
					return { ...result, detail: `${result.detail}; Retry-After on ${withRetryAfter} of ${limited.length} 429s` };
				} finally {
					client.close();
				}
			}
		}
	}

	/** A viewer of its own, joined to nothing: the flood drains only its bucket. */
	#freshViewer(): Promise<HostileSocket> {
		const id = `flooder-${++this.#floods}`;
		return HostileSocket.open(this.#server.wsUrl, { roomId: this.#settings.room, token: this.#token(this.#settings.room, id, 'viewer') }, ADDRESSES.actors);
	}

	async #requestFlood({ count, method, data: given, sequential, ownTransport }: Extract<Flood, { kind: 'requests' }>): Promise<{ answer: Answer; detail: string }> {
		const socket = await this.#freshViewer();
		try {
			const data = ownTransport ? { transportId: await this.#transport(socket, false, true) } : given;
			let answers: Answer[];
			if (sequential) {
				answers = [];
				for (let i = 0; i < count; i++) answers.push(await socket.request(method, data));
			} else {
				answers = await Promise.all(Array.from({ length: count }, () => socket.request(method, data, 20_000)));
			}
			return summarize(answers);
		} finally {
			socket.close();
		}
	}

	/** Fills the address's connection allowance, tries one more, then checks the allowance comes back once they close. */
	async #connectionFlood(max: number): Promise<{ answer: Answer; detail: string }> {
		const query = { roomId: 'flood-room', peerId: 'flood' };
		const sockets: HostileSocket[] = [];
		try {
			for (let batch = 0; batch < max; batch += 10) {
				const opened = await Promise.allSettled(Array.from({ length: Math.min(10, max - batch) }, () => HostileSocket.open(this.#server.wsUrl, query, ADDRESSES.connectionFlood)));
				for (const result of opened) if (result.status === 'fulfilled') sockets.push(result.value);
			}
			const extra = await upgradeStatus(this.#server.url, `/?roomId=flood-room&peerId=flood`, ADDRESSES.connectionFlood);
			for (const socket of sockets) socket.close();
			const deadline = Date.now() + 10_000;
			let again: Answer = extra;
			while (Date.now() < deadline) {
				again = await upgradeStatus(this.#server.url, `/?roomId=flood-room&peerId=flood`, ADDRESSES.connectionFlood);
				if (again.kind === 'ok') break;
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
			const released = again.kind === 'ok';
			const detail = `${sockets.length} of ${max} opened; one more: ${describe(extra)}; after closing them: ${released ? 'accepted again' : `still ${describe(again)}`}`;
			// A counter that never comes back is a leak: the case fails as not answered the way a limit should.
			return { answer: released ? extra : { kind: 'failed', reason: detail }, detail };
		} finally {
			for (const socket of sockets) socket.close();
		}
	}

	/** The hostile side leaves: its connections close and its broadcaster is deleted. */
	async tearDown(): Promise<void> {
		const authorization = `Bearer ${this.#token(this.#settings.room, EVIL_BROADCASTER, 'service')}`;
		await this.#http[0]!.client.call({ method: 'DELETE', path: `/api/rooms/${this.#settings.room}/broadcasters/${EVIL_BROADCASTER}`, authorization });
		this.close();
	}

	close(): void {
		for (const { socket } of this.#actors.values()) socket.close();
		for (const socket of this.#extraSockets) socket.close();
		for (const { client } of this.#http) client.close();
	}
}

function describe(answer: Answer): string {
	return answer.kind === 'error' ? `${answer.code} ${answer.reason}` : answer.kind;
}

/** A flood's answers as one: the first 429 (or else the first answer), with counts by outcome. */
function summarize(answers: Answer[]): { answer: Answer; detail: string } {
	const counts = new Map<string, number>();
	for (const answer of answers) {
		const key = answer.kind === 'error' ? (answer.code === 429 ? `429 "${answer.reason.slice(0, 28)}…"` : String(answer.code)) : answer.kind;
		counts.set(key, (counts.get(key) ?? 0) + 1);
	}
	const detail = `${answers.length} sent: ${[...counts].map(([key, n]) => `${n}× ${key}`).join(', ')}`;
	const unanswered = answers.find((answer) => answer.kind !== 'ok' && answer.kind !== 'error');
	if (unanswered) return { answer: unanswered, detail };
	const limited = answers.find((answer) => answer.kind === 'error' && answer.code === 429);
	return { answer: limited ?? answers[0]!, detail };
}

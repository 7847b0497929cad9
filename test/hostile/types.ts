/**
 * A hostile case as data: what it is, how it is sent, and the error the
 * server must answer with. Ids the server makes at run time (the
 * bystander's producers, another peer's transport) are filled in late,
 * from the Targets the run sets up.
 */
import type { Answer } from './clients.js';

export const categories = [
	'forged-tokens',
	'bad-connections',
	'role-escalation',
	'wrong-types',
	'oversize',
	'unknown-names',
	'floods',
	'id-guessing',
	'http-credentials',
	'plain-transport',
] as const;
export type Category = (typeof categories)[number];

/** The connections the corpus speaks through (set up before it runs; see HostileRun). */
export const actorNames = ['host', 'viewer', 'participant', 'muted', 'restricted', 'guest', 'outsider', 'typist1', 'typist2', 'typist3'] as const;
export type ActorName = (typeof actorNames)[number];

/** Ids known only once the run has set up the room, its bystander and its actors. */
export type Targets = {
	room: string;
	otherRoom: string;
	bystander: {
		publisherId: string;
		subscriberId: string;
		audioProducerId: string;
		videoProducerId: string;
		subscriberTransportId: string;
		subscriberConsumerIds: string[];
	};
	host: { transportId: string; producerId: string; consumerId: string };
	participant: { sendTransportId: string; recvTransportId: string; producerId: string; consumerId: string };
	muted: { transportId: string; producerId: string };
	viewer: { transportId: string };
	restricted: { transportId: string };
	/** A broadcaster of the hostile side (service token "evil"): one transport for connect attempts, one that consumes. */
	evil: { id: string; connectTransportId: string; consumeTransportId: string };
};

export type Late<T> = T | ((targets: Targets) => T);

export type Send =
	/** A request over one of the actors' joined connections. */
	| { via: 'request'; actor: ActorName; method: string; data?: Late<unknown> }
	/** A request written by hand: `text(id)` is the whole protoo message (for data JSON.stringify cannot even write). */
	| { via: 'raw'; actor: ActorName; text: (id: number) => string }
	/** A new connection with this URL query; then one request, which must be refused (the in-session refusal). */
	| { via: 'connect'; query: Late<Record<string, string>> }
	/** A raw WebSocket upgrade to this path; refused with an HTTP status. */
	| { via: 'upgrade'; path: Late<string>; protocol?: string }
	| { via: 'http'; method: 'GET' | 'POST' | 'DELETE' | 'PUT'; path: Late<string>; body?: Late<unknown>; authorization?: Late<string | undefined> }
	/** One request of `bytes` on a fresh connection: past the WebSocket's own limit, the server cuts the connection (the close code is the answer). */
	| { via: 'huge'; bytes: number }
	| { via: 'flood'; flood: Flood };

export type Flood =
	/** `count` requests at once (or one after another) on a fresh viewer connection: a limit answers some with 429. With `ownTransport` the data is `{ transportId }` of a transport it made first. */
	| { kind: 'requests'; count: number; method: string; data?: unknown; sequential?: boolean; ownTransport?: boolean }
	/** `count` notifications (unanswered by design), then one request, which finds the bucket empty. */
	| { kind: 'notifications-then-request'; count: number }
	/** Connections from one address up to limits.maxConnectionsPerIp, then one more upgrade. */
	| { kind: 'connections'; max: number }
	/** `count` API calls at once from one address. */
	| { kind: 'http'; count: number; path: string }
	/** Key frame requests for one consumer, back to back. */
	| { kind: 'key-frames'; actor: ActorName; count: number };

export type Expected = {
	/** The error code (protoo) or HTTP status; a list where more than one is right. */
	code: number | readonly number[];
	/** A substring of the reason, where it says something a client can act on. */
	reason?: string;
};

export type HostileCase = {
	category: Category;
	description: string;
	send: Send;
	expect: Expected;
};

export type Verdict = 'as-expected' | 'wrong-error' | 'unexpected-success' | 'no-answer';

export type CaseResult = {
	hostileCase: HostileCase;
	answer: Answer;
	verdict: Verdict;
	/** What the runner saw besides the answer (flood counts). */
	detail?: string;
	ms: number;
};

export function resolveLate<T>(value: Late<T>, targets: Targets): T {
	return typeof value === 'function' ? (value as (targets: Targets) => T)(targets) : value;
}

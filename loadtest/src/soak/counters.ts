/** What happened during a soak run, counted as it happens (shared by the peers, the rooms and the run). */
export type SoakCounters = {
	joins: number;
	joinFailures: number;
	leaves: number;
	drops: number;
	resumes: {
		attempted: number;
		/** The session came back with the same transports and producers (or, after a worker died meanwhile, with none, as it should). */
		ok: number;
		/** Of the ok: the worker died while the peer was away, the session came back without media and rebuilt it. */
		afterMediaReset: number;
		failed: number;
		/** Of the failed: `404` inside the grace window (the peer then joins afresh). */
		notFound: number;
		/** Of the failed: other transports or producers than the peer had. */
		mismatched: number;
	};
	abandons: number;
	/** Abandoned sessions the server closed (the others saw `peerClosed`). */
	abandonsClosed: number;
	/** Abandoned sessions whose close nobody could see: a worker kill closed or emptied the room meanwhile. */
	abandonsUnobserved: number;
	workerKills: number;
	mediaResets: number;
	rebuilds: number;
	rebuildFailures: number;
	/** Requests that failed because the peer's media was reset while they ran (expected; the rebuild follows). */
	requestsLostToMediaReset: number;
	consumersAccepted: number;
	pings: number;
	/** Connections the server closed while the peer was in session. */
	unexpectedCloses: number;
	/** Churn events that found no free peer in their room. */
	eventsSkipped: number;
	/** Notifications received, by method. */
	notifications: Record<string, number>;
};

export function newCounters(): SoakCounters {
	return {
		joins: 0,
		joinFailures: 0,
		leaves: 0,
		drops: 0,
		resumes: { attempted: 0, ok: 0, afterMediaReset: 0, failed: 0, notFound: 0, mismatched: 0 },
		abandons: 0,
		abandonsClosed: 0,
		abandonsUnobserved: 0,
		workerKills: 0,
		mediaResets: 0,
		rebuilds: 0,
		rebuildFailures: 0,
		requestsLostToMediaReset: 0,
		consumersAccepted: 0,
		pings: 0,
		unexpectedCloses: 0,
		eventsSkipped: 0,
		notifications: {},
	};
}

/**
 * Whether the signalling connection is alive, pure. A WebSocket whose
 * network path died may stay "open" for minutes; so while connected the
 * client sends `ping` every `pingIntervalMs`, and when nothing at all
 * (response, notification, request) has come from the server for
 * `silenceTimeoutMs`, the connection is taken for dead: closed, and a new
 * one resumes the session. When something else already says the path is in
 * trouble (ICE went `disconnected`, the network changed), the connection is
 * *suspected*: pinged at once, and dead if that suspicion is not lifted by
 * any message within `suspectTimeoutMs`. Session.ts runs the timer; time is
 * an input.
 */

export type LivenessPolicy = {
	pingIntervalMs: number;
	silenceTimeoutMs: number;
	suspectTimeoutMs: number;
};

/** A dead connection is noticed 5–7.5 s after it died, or 2.5 s after the media said the path is in trouble. */
export const defaultLivenessPolicy: LivenessPolicy = { pingIntervalMs: 2500, silenceTimeoutMs: 7500, suspectTimeoutMs: 2500 };

export type LivenessState = {
	/** When the server was last heard from (ms). */
	heardAt: number;
	/** When we last pinged (ms). */
	pingedAt: number;
	/** Since when the connection is suspected (nothing heard since). */
	suspectSince?: number | undefined;
};

export type LivenessCheck = {
	state: LivenessState;
	/** Send a `ping` now. */
	ping: boolean;
	/** Silent for too long: the connection is dead. */
	dead: boolean;
	/** When to check again (ms from now); undefined once dead. */
	nextCheckInMs: number | undefined;
};

/** The socket just opened: that counts as hearing from the server; the first ping is one interval away. */
export function startLiveness(now: number): LivenessState {
	return { heardAt: now, pingedAt: now };
}

/** Anything arrived from the server: it is alive, and any suspicion is lifted. */
export function heard(state: LivenessState, now: number): LivenessState {
	if (now < state.heardAt) return state;
	if (now === state.heardAt && state.suspectSince === undefined) return state;
	return { heardAt: now, pingedAt: state.pingedAt };
}

/** The path looks broken from elsewhere: ping now (`ping`), and expect an answer soon. A second suspicion changes nothing. */
export function suspect(state: LivenessState, now: number): { state: LivenessState; ping: boolean } {
	if (state.suspectSince !== undefined) return { state, ping: false };
	return { state: { ...state, suspectSince: now, pingedAt: now }, ping: true };
}

export function checkLiveness(state: LivenessState, now: number, policy: LivenessPolicy = defaultLivenessPolicy): LivenessCheck {
	const silentFor = now - state.heardAt;
	const suspectedFor = state.suspectSince === undefined ? 0 : now - state.suspectSince;
	if (silentFor >= policy.silenceTimeoutMs || (state.suspectSince !== undefined && suspectedFor >= policy.suspectTimeoutMs)) {
		return { state, ping: false, dead: true, nextCheckInMs: undefined };
	}
	const ping = now - state.pingedAt >= policy.pingIntervalMs;
	const next: LivenessState = ping ? { ...state, pingedAt: now } : state;
	const deadlines = [next.pingedAt + policy.pingIntervalMs, next.heardAt + policy.silenceTimeoutMs];
	if (next.suspectSince !== undefined) deadlines.push(next.suspectSince + policy.suspectTimeoutMs);
	return { state: next, ping, dead: false, nextCheckInMs: Math.max(1, Math.min(...deadlines) - now) };
}

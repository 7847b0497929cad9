import { describe, expect, it } from 'vitest';
import { checkLiveness, defaultLivenessPolicy, heard, startLiveness, suspect, type LivenessState } from '../../../web/src/lib/liveness.js';

const policy = { pingIntervalMs: 2500, silenceTimeoutMs: 7500, suspectTimeoutMs: 2500 };

/**
 * Runs the checks as Session.ts schedules them (each at the time the
 * previous one asked for), with the server answering every ping after
 * `rttMs` until `deadAt`; returns when the connection was found dead.
 */
function simulate(deadAt: number, rttMs = 20, until = 60_000) {
	let state: LivenessState = startLiveness(0);
	let now = policy.pingIntervalMs;
	const pings: number[] = [];
	const answers: number[] = [];
	while (now <= until) {
		while (answers.length > 0 && (answers[0] ?? Infinity) <= now) state = heard(state, answers.shift() ?? now);
		const result = checkLiveness(state, now, policy);
		state = result.state;
		if (result.dead) return { deadAt: now, pings };
		if (result.ping) {
			pings.push(now);
			if (now + rttMs < deadAt) answers.push(now + rttMs);
		}
		// The next check, or an answer arriving before it.
		now += result.nextCheckInMs ?? 0;
	}
	return { deadAt: undefined, pings };
}

describe('liveness', () => {
	it('the defaults: a ping every 2.5 s, dead after 7.5 s of silence, or 2.5 s after a suspicion', () => {
		expect(defaultLivenessPolicy).toEqual(policy);
	});

	it('pings every interval while the server answers, and never declares it dead', () => {
		const { deadAt, pings } = simulate(Infinity);
		expect(deadAt).toBeUndefined();
		expect(pings.slice(0, 4)).toEqual([2500, 5000, 7500, 10_000]);
	});

	it.each([0, 1000, 2400, 2600, 13_333])('a connection that dies at %i ms is found dead 5–10 s later', (diesAt) => {
		const { deadAt } = simulate(diesAt);
		expect(deadAt).toBeDefined();
		const detection = (deadAt ?? 0) - diesAt;
		expect(detection).toBeGreaterThanOrEqual(5000);
		expect(detection).toBeLessThanOrEqual(10_000);
	});

	it('anything from the server counts, not only answers to pings', () => {
		let state = startLiveness(0);
		state = heard(state, 7000);
		expect(checkLiveness(state, 7600, policy).dead).toBe(false);
		expect(checkLiveness(state, 14_499, policy).dead).toBe(false);
		expect(checkLiveness(state, 14_500, policy).dead).toBe(true);
	});

	it('the first ping waits one interval after the socket opened (its first request is join or resume)', () => {
		const state = startLiveness(100);
		expect(checkLiveness(state, 100 + 2499, policy).ping).toBe(false);
		expect(checkLiveness(state, 100 + 2500, policy).ping).toBe(true);
	});

	it('asks to be checked again at the next ping or at the silence deadline, whichever is first', () => {
		const state: LivenessState = { heardAt: 0, pingedAt: 5000 };
		// Next ping at 7500, silence at 7500: both the same here; then silence first.
		expect(checkLiveness(state, 6000, policy).nextCheckInMs).toBe(1500);
		expect(checkLiveness({ heardAt: 0, pingedAt: 6000 }, 6500, policy).nextCheckInMs).toBe(1000);
	});

	it('an old message does not move the time it was last heard backwards', () => {
		const state = heard(startLiveness(0), 5000);
		expect(heard(state, 4000)).toBe(state);
	});

	describe('suspicion (ICE went disconnected, the network changed)', () => {
		it('pings at once, and the connection is dead if nothing comes within the suspicion timeout', () => {
			const { state, ping } = suspect(startLiveness(0), 1000);
			expect(ping).toBe(true);
			expect(checkLiveness(state, 3499, policy)).toMatchObject({ dead: false, nextCheckInMs: 1 });
			expect(checkLiveness(state, 3500, policy).dead).toBe(true);
		});

		it('any message lifts it: the connection is alive', () => {
			const suspected = suspect(startLiveness(0), 1000).state;
			const answered = heard(suspected, 1040);
			expect(answered.suspectSince).toBeUndefined();
			expect(checkLiveness(answered, 4000, policy).dead).toBe(false);
		});

		it('a second suspicion neither pings again nor moves the deadline', () => {
			const first = suspect(startLiveness(0), 1000).state;
			const second = suspect(first, 2000);
			expect(second.ping).toBe(false);
			expect(checkLiveness(second.state, 3500, policy).dead).toBe(true);
		});

		it('the next check comes at the suspicion deadline when that is first', () => {
			const state = suspect(startLiveness(0), 100).state;
			expect(checkLiveness(state, 200, policy).nextCheckInMs).toBe(2400);
		});
	});
});

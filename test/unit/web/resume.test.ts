import { describe, expect, it } from 'vitest';
import type { ResumeResponse } from '../../../server/signalling/protocol.js';
import { nothingToReconcile, planResume, type LocalSession } from '../../../web/src/lib/resume.js';

const alice = { id: 'alice', displayName: 'Alice', device: {}, role: 'participant' as const };
const bob = { id: 'bob', displayName: 'Bob', device: {}, role: 'participant' as const };
const carol = { id: 'carol', displayName: 'Carol', device: {}, role: 'participant' as const };

/** What we had when the connection dropped: two transports, camera and microphone, Alice's and Bob's media, the chat. */
const local: LocalSession = {
	transports: [
		{ direction: 'send', id: 'ts', connectionState: 'connected' },
		{ direction: 'recv', id: 'tr', connectionState: 'connected' },
	],
	producers: [
		{ source: 'mic', id: 'p-mic', paused: false },
		{ source: 'webcam', id: 'p-cam', paused: false },
	],
	consumers: [
		{ id: 'c-alice-cam', producerId: 'alice-cam', paused: false },
		{ id: 'c-bob-cam', producerId: 'bob-cam', paused: false },
		{ id: 'c-bob-mic', producerId: 'bob-mic', paused: true },
	],
	chatProducerId: 'd-chat',
	dataConsumerIds: ['dc-alice', 'dc-bob'],
	peerIds: ['alice', 'bob'],
	mutedByHost: false,
};

/** The server holding exactly that. */
const same: ResumeResponse = {
	peers: [alice, bob],
	role: 'participant',
	permissions: ['publishAudio', 'publishVideo', 'subscribe', 'chat'],
	locked: false,
	lobby: false,
	audience: 0,
	resume: { token: 't', graceMs: 20_000 },
	transports: [
		{ id: 'ts', direction: 'send', iceState: 'completed', dtlsState: 'connected' },
		{ id: 'tr', direction: 'recv', iceState: 'completed', dtlsState: 'connected' },
	],
	producers: [
		{ id: 'p-mic', kind: 'audio', paused: false, source: 'mic' },
		{ id: 'p-cam', kind: 'video', paused: false, source: 'webcam' },
	],
	consumers: [
		{ id: 'c-alice-cam', producerId: 'alice-cam', paused: false, producerPaused: false },
		{ id: 'c-bob-cam', producerId: 'bob-cam', paused: false, producerPaused: false },
		{ id: 'c-bob-mic', producerId: 'bob-mic', paused: true, producerPaused: false },
	],
	dataProducers: [{ id: 'd-chat', label: 'chat' }],
	dataConsumers: [
		{ id: 'dc-alice', dataProducerId: 'x' },
		{ id: 'dc-bob', dataProducerId: 'y' },
	],
};

describe('resume reconciliation', () => {
	it('nothing to do when the server holds exactly what we have (a plain socket drop)', () => {
		const plan = planResume(local, same);
		expect(nothingToReconcile(plan)).toBe(true);
	});

	it('a connection lost by silence restarts ICE on every started transport, though both sides still say connected', () => {
		expect(planResume(local, same).restartIce).toEqual([]);
		const plan = planResume(local, same, 'silent');
		expect(plan.pathLost).toBe(true);
		expect(plan.restartIce.sort()).toEqual(['recv', 'send']);
		expect(planResume(local, same, 'dropped').restartIce, 'a socket that was closed says nothing about the media path').toEqual([]);
	});

	it('a transport the server created but whose answer we never got is closed there', () => {
		const plan = planResume(local, { ...same, transports: [...same.transports, { id: 'lost', direction: 'recv', iceState: 'new', dtlsState: 'new' }] });
		expect(plan.closeTransportsOnServer).toEqual(['lost']);
		expect(nothingToReconcile(plan)).toBe(false);
	});

	it('a mute or unmute of a sender we missed while away is shown as the server has it', () => {
		const plan = planResume(local, { ...same, consumers: same.consumers.map((c) => (c.id === 'c-bob-cam' ? { ...c, producerPaused: true } : c)) });
		expect(plan.senderPauses).toEqual([
			{ consumerId: 'c-alice-cam', paused: false },
			{ consumerId: 'c-bob-cam', paused: true },
			{ consumerId: 'c-bob-mic', paused: false },
		]);
		expect(plan.consumerPauses).toEqual([]);
	});

	it('a consumer closed while we were away (its producer went) is closed here', () => {
		const plan = planResume(local, { ...same, consumers: same.consumers.filter((c) => c.id !== 'c-bob-cam') });
		expect(plan.dropConsumers).toEqual(['c-bob-cam']);
		expect(plan.consumerPauses).toEqual([]);
	});

	it('a producer of ours the server has and we do not know (its produce answer was lost) is closed on the server', () => {
		const plan = planResume(local, { ...same, producers: [...same.producers, { id: 'p-lost', kind: 'video', paused: false, source: 'screen' }] });
		expect(plan.closeOnServer).toEqual(['p-lost']);
		expect(plan.withdrawProducers).toEqual([]);
	});

	it('a producer of ours the server closed while we were away (a host stopped it) is unpublished here, not produced again', () => {
		const plan = planResume(local, { ...same, producers: same.producers.filter((p) => p.id !== 'p-cam') });
		expect(plan.withdrawProducers).toEqual(['webcam']);
		expect(plan.closeOnServer).toEqual([]);
	});

	it('peers who left while we were away disappear; those who came appear', () => {
		const plan = planResume(local, { ...same, peers: [alice, carol] });
		expect(plan.peersGone).toEqual(['bob']);
		expect(plan.peersNew).toEqual([carol]);
	});

	it('pauses lost with the connection are told again, both ways', () => {
		const ours = { ...local, producers: [{ source: 'mic' as const, id: 'p-mic', paused: true }, local.producers[1]!] };
		expect(planResume(ours, same).pauseOnServer).toEqual(['p-mic']);
		const consumers = planResume(local, { ...same, consumers: same.consumers.map((c) => ({ ...c, paused: !c.paused })) }).consumerPauses;
		expect(consumers).toEqual([
			{ consumerId: 'c-alice-cam', paused: false },
			{ consumerId: 'c-bob-cam', paused: false },
			{ consumerId: 'c-bob-mic', paused: true },
		]);
	});

	it('a microphone paused on the server: a host’s mute is kept here; without one, our unmute is asked for again', () => {
		const server = { ...same, producers: same.producers.map((p) => (p.id === 'p-mic' ? { ...p, paused: true } : p)) };
		const muted = planResume({ ...local, mutedByHost: true }, server);
		expect(muted.pauseHere).toEqual(['mic']);
		expect(muted.resumeOnServer).toEqual([]);
		const unmuted = planResume(local, server);
		expect(unmuted.pauseHere).toEqual([]);
		expect(unmuted.resumeOnServer).toEqual(['p-mic']);
	});

	it('ICE that failed here, or that the server does not see connected, is restarted on the existing transport', () => {
		const failedHere = { ...local, transports: [{ direction: 'send' as const, id: 'ts', connectionState: 'failed' as const }, local.transports[1]!] };
		expect(planResume(failedHere, same).restartIce).toEqual(['send']);
		const serverLost = { ...same, transports: same.transports.map((t) => (t.id === 'tr' ? { ...t, iceState: 'disconnected' as const } : t)) };
		const plan = planResume(local, serverLost);
		expect(plan.restartIce).toEqual(['recv']);
		expect(plan.dropTransports).toEqual([]);
	});

	it('a transport the server no longer has is dropped with what it carries, to be created again', () => {
		const plan = planResume(local, { ...same, transports: same.transports.filter((t) => t.id !== 'tr'), consumers: [], dataConsumers: [] });
		expect(plan.dropTransports).toEqual(['recv']);
		expect(plan.dropConsumers).toEqual(['c-alice-cam', 'c-bob-cam', 'c-bob-mic']);
		expect(plan.dropDataConsumers).toEqual(['dc-alice', 'dc-bob']);
		// The sending side goes the same way, its producers produced again rather than withdrawn.
		const send = planResume(local, { ...same, transports: same.transports.filter((t) => t.id !== 'ts'), producers: [], dataProducers: [] });
		expect(send.dropTransports).toEqual(['send']);
		expect(send.withdrawProducers).toEqual([]);
		expect(send.reopenChat).toBe(true);
	});

	it('the chat’s data producer gone on the server is opened again; data consumers gone are closed', () => {
		const plan = planResume(local, { ...same, dataProducers: [], dataConsumers: [{ id: 'dc-alice', dataProducerId: 'x' }] });
		expect(plan.reopenChat).toBe(true);
		expect(plan.dropDataConsumers).toEqual(['dc-bob']);
	});
});

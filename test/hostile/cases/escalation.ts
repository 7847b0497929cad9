/**
 * Every request that needs a permission, sent by a role without it: 403,
 * naming the permission. Targets are real (the bystander, the host, the
 * guest in the lobby), so an escalation that got through would show in the
 * bystander's media, not only in this answer.
 */
import { chromium, withMid } from '../../helpers/fixtures.js';
import { joinToken } from '../jwt.js';
import { BYSTANDER_PUBLISHER, KICKED, type CorpusSettings } from '../settings.js';
import type { ActorName, HostileCase, Late, Targets } from '../types.js';

const needs = (permission: string) => `needs the "${permission}" permission`;

let freshMid = 100;
/** Opus parameters with a MID and SSRC of their own, so that only the permission can refuse them (not a clash with the peer's microphone). */
function freshAudio() {
	return { ...withMid(chromium.opus, freshMid++), encodings: [{ ssrc: 100_000 + freshMid }] };
}

/** Each moderation request, aimed where it would hurt. */
function moderationRequests(self: string): [method: string, data: unknown][] {
	return [
		['mutePeer', { peerId: BYSTANDER_PUBLISHER }],
		['allowUnmute', { peerId: 'muted' }],
		['stopPeerMedia', { peerId: BYSTANDER_PUBLISHER, source: 'webcam' }],
		['removePeer', { peerId: 'host' }],
		['lockRoom', { locked: true }],
		['admitPeer', { peerId: 'guest', role: 'host' }],
		['denyPeer', { peerId: 'guest' }],
		['setPeerRole', { peerId: self, role: 'host' }],
		['endMeeting', {}],
		['getLobby', {}],
	];
}

export function escalationCases({ secret, room }: CorpusSettings): HostileCase[] {
	const request = (actor: ActorName, description: string, method: string, data: Late<unknown>, code: number, reason: string): HostileCase => ({
		category: 'role-escalation',
		description: `${actor}: ${description}`,
		send: { via: 'request', actor, method, data },
		expect: { code, reason },
	});
	const produce = (actor: 'viewer' | 'restricted' | 'guest' | 'muted', kind: 'audio' | 'video', source: string | undefined, permission: string): HostileCase =>
		request(actor, `produces ${kind}${source ? ` as "${source}"` : ' without a source'}`, 'produce', (t: Targets) => ({
			transportId: actor === 'guest' ? t.participant.sendTransportId : t[actor].transportId,
			kind,
			rtpParameters: withMid(kind === 'audio' ? chromium.opus : chromium.vp8Simulcast, 20),
			...(source ? { appData: { source } } : {}),
		}), 403, needs(permission));
	const consumerRequests = (actor: ActorName): HostileCase[] =>
		(
			[
				['pauseConsumer', {}],
				['resumeConsumer', {}],
				['setConsumerPreferredLayers', { spatialLayer: 2 }],
				['setConsumerPriority', { priority: 255 }],
				['requestConsumerKeyFrame', {}],
			] as const
		).map(([method, extra]) => request(actor, `${method} without "subscribe"`, method, (t: Targets) => ({ consumerId: t.participant.consumerId, ...extra }), 403, needs('subscribe')));

	const cases: HostileCase[] = [
		produce('viewer', 'audio', 'mic', 'publishAudio'),
		produce('viewer', 'video', 'webcam', 'publishVideo'),
		produce('viewer', 'video', 'screen', 'publishScreen'),
		produce('viewer', 'audio', 'screen-audio', 'publishAudio'),
		produce('viewer', 'video', undefined, 'publishVideo'),
		produce('viewer', 'audio', undefined, 'publishAudio'),
		request('viewer', 'produceData "telemetry"', 'produceData', (t: Targets) => ({ transportId: t.viewer.transportId, sctpStreamParameters: { streamId: 3 }, label: 'telemetry' }), 403, needs('publishData')),
		request('viewer', 'produceData without a label', 'produceData', (t: Targets) => ({ transportId: t.viewer.transportId, sctpStreamParameters: { streamId: 4 } }), 403, needs('publishData')),

		request('guest', 'creates a transport from the lobby', 'createWebRtcTransport', { producing: true, consuming: true }, 403, 'needs one of the permissions'),
		produce('guest', 'audio', 'mic', 'publishAudio'),
		produce('guest', 'video', 'webcam', 'publishVideo'),
		produce('guest', 'video', 'screen', 'publishScreen'),
		request('guest', 'produceData "chat"', 'produceData', (t: Targets) => ({ transportId: t.participant.sendTransportId, sctpStreamParameters: { streamId: 1 }, label: 'chat' }), 403, needs('chat')),
		request('guest', 'produceData "files"', 'produceData', (t: Targets) => ({ transportId: t.participant.sendTransportId, sctpStreamParameters: { streamId: 2 }, label: 'files' }), 403, needs('publishData')),
		...consumerRequests('guest'),
		request('guest', 'joins again to leave the lobby', 'join', { displayName: 'Let me in' }, 409, 'already joined'),
		request('guest', 'renames itself from the lobby', 'changeDisplayName', { displayName: 'Host' }, 409, 'join the room before'),

		request('muted', 'resumes the microphone a host muted', 'resumeProducer', (t: Targets) => ({ producerId: t.muted.producerId }), 403, needs('publishAudio')),
		produce('muted', 'audio', 'mic', 'publishAudio'),
		produce('muted', 'audio', undefined, 'publishAudio'),

		// The host's mute withdraws publishAudio; the source is the client's word, so a muted microphone relabelled as screen audio must not get through either.
		request('muted', 'produces its microphone labelled "screen-audio" (mute bypass)', 'produce', (t: Targets) => ({ transportId: t.muted.transportId, kind: 'audio', rtpParameters: freshAudio(), appData: { source: 'screen-audio' } }), 403, 'produce needs'),

		produce('restricted', 'video', 'webcam', 'publishVideo'),
		request('restricted', 'renames itself although its token sets its name', 'changeDisplayName', { displayName: 'Host' }, 403, 'your display name is set by your join token'),
		produce('restricted', 'video', 'screen', 'publishScreen'),
		request('restricted', 'produceData "chat" with chat withdrawn', 'produceData', (t: Targets) => ({ transportId: t.restricted.transportId, sctpStreamParameters: { streamId: 5 }, label: 'chat' }), 403, needs('chat')),

		{
			category: 'role-escalation',
			description: 'a peer the host removed comes back with its still-valid token',
			send: { via: 'connect', query: { roomId: room, token: joinToken(secret, room, KICKED, 'participant') } },
			expect: { code: 403, reason: 'you were removed from this room' },
		},
	];
	for (const actor of ['viewer', 'participant', 'guest', 'restricted', 'muted'] as const) {
		for (const [method, data] of moderationRequests(actor)) cases.push(request(actor, `${method} without "moderate"`, method, data, 403, needs('moderate')));
	}
	return cases;
}

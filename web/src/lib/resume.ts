/**
 * Resuming a session, pure: what the client has, compared with what the
 * server still holds (`ResumeResponse`), gives what to close, fix or tell
 * on each side. RoomClient carries the plan out through Publisher and
 * Subscriber. While we were away the server may have closed a consumer
 * (its producer went), stopped one of our producers (a host), created one
 * whose `produce` answer never reached us, or seen peers come and go.
 */
import type { PeerId, PeerInfo, ResumeResponse } from '../../../server/signalling/protocol.js';
import { iceNeedsRestart } from './reconnect.js';
import type { ServerIceState, SocketLossCause, TransportConnectionState } from './reconnect.js';
import type { MediaSource } from './sources.js';

export type TransportDirection = 'send' | 'recv';

/** What the client holds when the resume is answered. */
export type LocalSession = {
	transports: { direction: TransportDirection; id: string; connectionState: TransportConnectionState }[];
	producers: { source: MediaSource; id: string; paused: boolean }[];
	/** `paused`: paused by us (a tile nobody sees). */
	consumers: { id: string; producerId: string; paused: boolean }[];
	chatProducerId?: string | undefined;
	dataConsumerIds: string[];
	peerIds: PeerId[];
	/** A host keeps our microphone muted (as the resume's permissions say). */
	mutedByHost: boolean;
};

export type ResumePlan = {
	/** The connection was lost by silence: the media path may be dead too (see iceNeedsRestart). */
	pathLost: boolean;
	/** Transports the server no longer has: closed here (with what they carry) and created again. */
	dropTransports: TransportDirection[];
	/** Transports whose ICE must be restarted (`restartIce`) rather than recreated. */
	restartIce: TransportDirection[];
	/** Our producers the server closed while we were away (a host, a role change): unpublished here, not produced again. */
	withdrawProducers: MediaSource[];
	/** Producers of ours the server has and we do not know (their `produce` answer was lost): `closeProducer`. */
	closeOnServer: string[];
	/** Transports the server holds and we do not know (their creation answer was lost): `closeTransport`. */
	closeTransportsOnServer: string[];
	/** Paused on the server and not here, by a host's mute we did not hear of: paused here, without telling it. */
	pauseHere: MediaSource[];
	/** Paused on the server and not here, with no mute: the user unmuted while away; asked again (`resumeProducer`). */
	resumeOnServer: string[];
	/** Paused here and not on the server (our `pauseProducer` was lost): told again. */
	pauseOnServer: string[];
	/** Consumers the server closed while we were away. */
	dropConsumers: string[];
	/** Consumers whose pause (or resume) the server did not get: told again. */
	consumerPauses: { consumerId: string; paused: boolean }[];
	/** Whether each kept consumer's sender is paused now (a mute or unmute we may have missed): shown as the server says. */
	senderPauses: { consumerId: string; paused: boolean }[];
	/** The chat's data producer is gone on the server: closed here and opened again. */
	reopenChat: boolean;
	dropDataConsumers: string[];
	/** Peers who left while we were away, and those who came. */
	peersGone: PeerId[];
	peersNew: PeerInfo[];
};

export function planResume(local: LocalSession, server: ResumeResponse, lostBy?: SocketLossCause): ResumePlan {
	const pathLost = lostBy === 'silent';
	const serverTransports = new Map(server.transports.map((t) => [t.id, t]));
	const serverProducers = new Map(server.producers.map((p) => [p.id, p]));
	const serverConsumers = new Map(server.consumers.map((c) => [c.id, c]));
	const localProducerIds = new Set(local.producers.map((p) => p.id));
	const localPeers = new Set(local.peerIds);
	const serverPeers = new Set(server.peers.map((p) => p.id));

	const dropTransports: TransportDirection[] = [];
	const restartIce: TransportDirection[] = [];
	for (const transport of local.transports) {
		const held = serverTransports.get(transport.id);
		if (!held) dropTransports.push(transport.direction);
		else if (iceNeedsRestart(transport.connectionState, held.iceState as ServerIceState, pathLost)) restartIce.push(transport.direction);
	}
	const dropped = (direction: TransportDirection) => dropTransports.includes(direction);

	const withdrawProducers: MediaSource[] = [];
	const pauseHere: MediaSource[] = [];
	const resumeOnServer: string[] = [];
	const pauseOnServer: string[] = [];
	// Producers gone with their transport are not withdrawn: what the user publishes is produced again on the new one.
	if (!dropped('send')) {
		for (const producer of local.producers) {
			const held = serverProducers.get(producer.id);
			if (!held) withdrawProducers.push(producer.source);
			else if (held.paused && !producer.paused) {
				if (producer.source === 'mic' && local.mutedByHost) pauseHere.push(producer.source);
				else resumeOnServer.push(producer.id);
			}
			else if (!held.paused && producer.paused) pauseOnServer.push(producer.id);
		}
	}
	const localTransportIds = new Set(local.transports.map((t) => t.id));
	const closeTransportsOnServer = server.transports.filter((t) => !localTransportIds.has(t.id)).map((t) => t.id);
	// A producer on such a transport goes with it.
	const closeOnServer = server.producers.filter((p) => !localProducerIds.has(p.id)).map((p) => p.id);

	const dropConsumers: string[] = [];
	const consumerPauses: { consumerId: string; paused: boolean }[] = [];
	const senderPauses: { consumerId: string; paused: boolean }[] = [];
	for (const consumer of local.consumers) {
		const held = serverConsumers.get(consumer.id);
		if (!held || dropped('recv')) {
			dropConsumers.push(consumer.id);
			continue;
		}
		if (held.paused !== consumer.paused) consumerPauses.push({ consumerId: consumer.id, paused: consumer.paused });
		senderPauses.push({ consumerId: consumer.id, paused: held.producerPaused });
	}

	const serverDataProducers = new Set(server.dataProducers.map((d) => d.id));
	const serverDataConsumers = new Set(server.dataConsumers.map((d) => d.id));
	const reopenChat = local.chatProducerId !== undefined && (dropped('send') || !serverDataProducers.has(local.chatProducerId));
	const dropDataConsumers = local.dataConsumerIds.filter((id) => dropped('recv') || !serverDataConsumers.has(id));

	return {
		pathLost,
		dropTransports,
		restartIce,
		withdrawProducers,
		closeOnServer,
		closeTransportsOnServer,
		pauseHere,
		resumeOnServer,
		pauseOnServer,
		dropConsumers,
		consumerPauses,
		senderPauses,
		reopenChat,
		dropDataConsumers,
		peersGone: local.peerIds.filter((id) => !serverPeers.has(id)),
		peersNew: server.peers.filter((p) => !localPeers.has(p.id)),
	};
}

/** Whether the plan changes nothing: the connection dropped and came back with everything in place. */
export function nothingToReconcile(plan: ResumePlan): boolean {
	// The senders' pauses are the server's state shown again, not a difference.
	const { senderPauses: _shown, pathLost: _cause, ...differences } = plan;
	return Object.values(differences).every((value) => value === false || (Array.isArray(value) && value.length === 0));
}

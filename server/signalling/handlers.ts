/**
 * One handler per protocol method. Each receives data already validated
 * against its schema (schemas.ts), checks ownership, state and limits, and
 * then acts through mediasoup and the Room. The handler map is typed from
 * protocol.ts, so a method cannot be missing or return the wrong shape.
 */
import type { types as ms } from 'mediasoup';
import type { Config } from '../config.js';
import type { KeyFrameThrottle } from '../auth/limits.js';
import { iceServersFor } from '../media/turn.js';
import type { Peer, TransportAppData } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import { conflict, forbidden, limitReached } from './errors.js';
import type { RequestData, RequestMethod, ResponseData } from './protocol.js';

export type HandlerContext = { room: Room; peer: Peer; config: Config; keyFrames: KeyFrameThrottle };

export type Handler<M extends RequestMethod> = (context: HandlerContext, data: RequestData<M>) => Promise<ResponseData<M>> | ResponseData<M>;

const done = {} as Record<string, never>;

function requireJoined(peer: Peer, action: string): void {
	if (!peer.joined) throw conflict(`join the room before you ${action}`);
}

function webRtcTransport({ room, peer }: HandlerContext, transportId: string): ms.WebRtcTransport<TransportAppData> {
	const transport = peer.own('transports', transportId, room.ownerOf);
	if (!('iceParameters' in transport)) throw conflict(`transport "${transportId}" is not a WebRTC transport`);
	return transport;
}

export const handlers: { [M in RequestMethod]: Handler<M> } = {
	getRouterRtpCapabilities: ({ room }) => room.rtpCapabilities,

	join: ({ room, peer, config }, data) => {
		if (peer.joined || room.moderation.waiting().some((entry) => entry.id === peer.id)) throw conflict('already joined');
		const joined = room.joinedPeers().filter((other) => other.kind === 'webrtc').length;
		if (joined >= config.rooms.maxPeersPerRoom) throw limitReached(`room is full (${config.rooms.maxPeersPerRoom} peers, rooms.maxPeersPerRoom)`);
		return room.join(peer, {
			displayName: data.displayName,
			device: data.device ?? {},
			rtpCapabilities: data.rtpCapabilities,
			sctpCapabilities: data.sctpCapabilities,
		});
	},

	createWebRtcTransport: async ({ room, peer, config }, data) => {
		if (peer.transports.size >= config.rooms.maxTransportsPerPeer) {
			throw limitReached(`at most ${config.rooms.maxTransportsPerPeer} transports per peer (rooms.maxTransportsPerPeer)`);
		}
		const direction = data.appData?.direction;
		const appData: TransportAppData = {
			producing: data.producing ?? (direction ? direction === 'producer' : true),
			consuming: data.consuming ?? (direction ? direction === 'consumer' : true),
		};
		const { router, webRtcServer } = await room.routerFor(peer);
		const transport = await router.createWebRtcTransport<TransportAppData>({
			webRtcServer,
			enableUdp: !data.forceTcp,
			enableTcp: true,
			preferUdp: true,
			enableSctp: Boolean(data.sctpCapabilities),
			numSctpStreams: data.sctpCapabilities?.numStreams,
			maxSctpMessageSize: 262_144,
			initialAvailableOutgoingBitrate: config.mediasoup.initialAvailableOutgoingBitrate,
			appData,
		});
		transport.on('dtlsstatechange', (state) => {
			if (state === 'failed') peer.logger.warn({ event: 'dtls-failed', transportId: transport.id }, 'transport DTLS failed');
			else peer.logger.debug({ transportId: transport.id, dtlsState: state }, 'transport DTLS state');
		});
		transport.on('icestatechange', (state) => peer.logger.debug({ transportId: transport.id, iceState: state }, 'transport ICE state'));
		if (config.mediasoup.maxIncomingBitrate > 0 && appData.producing) {
			await transport.setMaxIncomingBitrate(config.mediasoup.maxIncomingBitrate);
		}
		room.attachTransport(peer, transport);
		return {
			id: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
			sctpParameters: transport.sctpParameters,
			iceServers: iceServersFor(config.turn, peer.id, peer.credentialExpiresAt),
		};
	},

	connectWebRtcTransport: async (context, { transportId, dtlsParameters }) => {
		await webRtcTransport(context, transportId).connect({ dtlsParameters });
		return done;
	},

	restartIce: async (context, { transportId }) => webRtcTransport(context, transportId).restartIce(),

	produce: async ({ room, peer }, data) => {
		requireJoined(peer, 'produce');
		const transport = peer.own('transports', data.transportId, room.ownerOf);
		if (!transport.appData.producing) throw conflict(`transport "${transport.id}" was created for consuming only`);
		const producer = await room.produce(peer, transport, data);
		return { id: producer.id };
	},

	produceData: async ({ room, peer }, data) => {
		requireJoined(peer, 'produce data');
		const dataProducer = await room.produceData(peer, peer.own('transports', data.transportId, room.ownerOf), data);
		return { id: dataProducer.id };
	},

	closeProducer: ({ room, peer }, { producerId }) => {
		peer.own('producers', producerId, room.ownerOf).close();
		return done;
	},
	pauseProducer: async ({ room, peer }, { producerId }) => {
		await peer.own('producers', producerId, room.ownerOf).pause();
		return done;
	},
	resumeProducer: async ({ room, peer }, { producerId }) => {
		await peer.own('producers', producerId, room.ownerOf).resume();
		return done;
	},
	pauseConsumer: async ({ room, peer }, { consumerId }) => {
		await peer.own('consumers', consumerId, room.ownerOf).pause();
		return done;
	},
	resumeConsumer: async ({ room, peer }, { consumerId }) => {
		await peer.own('consumers', consumerId, room.ownerOf).resume();
		return done;
	},
	setConsumerPreferredLayers: async ({ room, peer }, { consumerId, spatialLayer, temporalLayer }) => {
		await peer.own('consumers', consumerId, room.ownerOf).setPreferredLayers({ spatialLayer, temporalLayer });
		return done;
	},
	setConsumerPriority: async ({ room, peer }, { consumerId, priority }) => {
		await peer.own('consumers', consumerId, room.ownerOf).setPriority(priority);
		return done;
	},
	requestConsumerKeyFrame: async ({ room, peer, keyFrames }, { consumerId }) => {
		const consumer = peer.own('consumers', consumerId, room.ownerOf);
		if (!keyFrames.allow(consumer.id)) throw limitReached(`at most one key frame request per consumer every ${keyFrames.intervalMs} ms (limits.keyFrameRequestIntervalMs)`);
		await consumer.requestKeyFrame();
		return done;
	},
	changeDisplayName: ({ room, peer }, { displayName }) => {
		requireJoined(peer, 'change your display name');
		if (peer.assignedName !== undefined) throw forbidden('your display name is set by your join token');
		room.changeDisplayName(peer, displayName);
		return done;
	},

	getTransportStats: async ({ room, peer }, { transportId }) =>
		(await peer.own('transports', transportId, room.ownerOf).getStats()) as ms.WebRtcTransportStat[],
	getProducerStats: async ({ room, peer }, { producerId }) => peer.own('producers', producerId, room.ownerOf).getStats(),
	getConsumerStats: async ({ room, peer }, { consumerId }) => peer.own('consumers', consumerId, room.ownerOf).getStats(),
	getDataProducerStats: async ({ room, peer }, { dataProducerId }) => peer.own('dataProducers', dataProducerId, room.ownerOf).getStats(),
	getDataConsumerStats: async ({ room, peer }, { dataConsumerId }) => peer.own('dataConsumers', dataConsumerId, room.ownerOf).getStats(),

	mutePeer: async ({ room, peer }, { peerId }) => {
		await room.moderation.mute(peer, peerId);
		return done;
	},
	allowUnmute: ({ room, peer }, { peerId }) => {
		room.moderation.allowUnmute(peer, peerId);
		return done;
	},
	stopPeerMedia: ({ room, peer }, { peerId, source }) => {
		room.moderation.stopMedia(peer, peerId, source);
		return done;
	},
	removePeer: ({ room, peer }, { peerId }) => {
		room.moderation.remove(peer, peerId);
		return done;
	},
	lockRoom: ({ room, peer }, { locked }) => {
		room.moderation.lock(peer, locked);
		return done;
	},
	admitPeer: ({ room, peer }, { peerId, role }) => {
		room.moderation.admit(peer, peerId, role ?? 'participant');
		return done;
	},
	denyPeer: ({ room, peer }, { peerId }) => {
		room.moderation.deny(peer, peerId);
		return done;
	},
	setPeerRole: ({ room, peer }, { peerId, role }) => {
		room.moderation.setRole(peer, peerId, role);
		return done;
	},
	endMeeting: ({ room, peer }) => {
		room.moderation.endMeeting(peer);
		return done;
	},
	getLobby: ({ room }) => ({ waiting: room.moderation.waiting() }),
	getAudience: ({ room }) => room.audienceList(500),
	raiseHand: ({ room, peer }, { raised }) => {
		requireJoined(peer, 'raise your hand');
		room.audience.raiseHand(peer, raised);
		return done;
	},
	closeTransport: ({ room, peer }, { transportId }) => {
		peer.own('transports', transportId, room.ownerOf).close();
		return done;
	},
	leave: ({ room, peer }) => {
		room.leave(peer);
		return done;
	},
	ping: () => ({ serverTime: Date.now() }),
	resume: ({ room, peer }) => room.resume(peer),
};

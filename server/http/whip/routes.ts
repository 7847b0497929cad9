/**
 * WHIP ingest (RFC 9725) and WHEP playback: an SDP offer POSTed with a
 * bearer token becomes a peer of the room with one WebRtcTransport, its
 * tracks producers (WHIP) or the stage's producers consumed (WHEP). The
 * answer comes back with 201 and the session's URL, which `PATCH` (ICE
 * restart, trickle) and `DELETE` (end) address.
 *
 * A session is a broadcaster-kind peer: others see it as a participant
 * (WHIP) or not at all once audiences are counted (WHEP); it ends with
 * DELETE, when its DTLS closes or fails, or when it never connects.
 */
import { randomUUID } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { types as ms } from 'mediasoup';
import type { Authenticator } from '../../auth/Authenticator.js';
import { Access } from '../../auth/roles.js';
import type { Config } from '../../config.js';
import type { WorkerPool } from '../../media/WorkerPool.js';
import type { Peer, ProducerAppData, TransportAppData } from '../../rooms/Peer.js';
import type { Room } from '../../rooms/Room.js';
import type { RoomRegistry } from '../../rooms/RoomRegistry.js';
import { badRequest, conflict, notFound, RequestError } from '../../signalling/errors.js';
import { ErrorCode } from '../../signalling/protocol.js';
import { idSchema } from '../../signalling/schemas.js';
import { offeredPayloadType, WhepRouters } from './WhepRouters.js';
import { buildAnswer, capabilitiesOf, fragmentCredentials, iceFragment, parseOffer, producerCandidates, rejected, SdpError, type AnswerSection, type Offer } from './sdp.js';

/** A session whose DTLS has not connected by then is closed. */
const CONNECT_TIMEOUT_MS = 30_000;

type Session = { id: string; kind: 'whip' | 'whep'; room: Room; peer: Peer; transport: ms.WebRtcTransport<TransportAppData> };

function roomIdOf(req: Request): string {
	const parsed = idSchema.safeParse(req.params.roomId);
	if (!parsed.success) throw badRequest(`invalid room id: ${parsed.error.issues[0]!.message}`);
	return parsed.data;
}

function requireSdp(req: Request): Offer {
	if (!req.is('application/sdp')) throw new RequestError(ErrorCode.unsupportedMediaType, 'the offer must be sent as Content-Type: application/sdp');
	if (typeof req.body !== 'string' || req.body === '') throw badRequest('the body must be an SDP offer');
	try {
		return parseOffer(req.body);
	} catch (error) {
		if (error instanceof SdpError) throw badRequest(`invalid offer: ${error.message}`);
		throw badRequest('invalid offer: cannot parse the SDP');
	}
}

/** The stage a WHEP player is given: a screen share if there is one, else a camera; and a microphone, the same peer's if it has one. */
export function stageProducers(room: Room): { video?: ms.Producer<ProducerAppData>; audio?: ms.Producer<ProducerAppData> } {
	const publishers = room.joinedPeers().filter((peer) => peer.access.canPublish());
	const producers = publishers.flatMap((peer) => [...peer.producers.values()]).filter((producer) => !producer.closed);
	const video = producers.find((p) => p.kind === 'video' && p.appData.source === 'screen') ?? producers.find((p) => p.kind === 'video');
	const audio =
		producers.find((p) => p.kind === 'audio' && video && p.appData.peerId === video.appData.peerId && p.appData.source !== 'screen-audio') ??
		producers.find((p) => p.kind === 'audio');
	return { video, audio };
}

export function whipRoutes({ rooms, config, auth, pool }: { rooms: RoomRegistry; config: Config; auth: Authenticator; pool: WorkerPool }): { whip: Router; whep: Router } {
	const sessions = new Map<string, Session>();
	const whepRouters = new WhepRouters();
	const sdpBody = express.text({ type: ['application/sdp', 'application/trickle-ice-sdpfrag'], limit: 64 * 1024 });

	/** Who is asking and with which access; before the body is read. */
	async function callerOf(req: Request, kind: 'whip' | 'whep') {
		const caller = await auth.media(req.headers.authorization, roomIdOf(req), kind === 'whip' ? 'participant' : 'viewer');
		const access = new Access(caller.role, caller.grant?.overrides);
		if (kind === 'whep') access.require('subscribe', 'WHEP playback');
		else if (!access.canPublish()) access.require('publishVideo', 'WHIP ingest');
		return { ...caller, access };
	}

	/** The peer of a new session: the token's identity (a reconnect replaces its previous session), or a fresh one. */
	async function sessionPeer(req: Request, kind: 'whip' | 'whep', caller: Awaited<ReturnType<typeof callerOf>>): Promise<{ room: Room; peer: Peer }> {
		const roomId = roomIdOf(req);
		const { access } = caller;
		const room = kind === 'whip' ? await rooms.getOrCreate(roomId) : rooms.get(roomId);
		if (!room || room.closed) throw notFound(`room "${roomId}" not found`);
		const id = caller.identity ?? `${kind}-${randomUUID().slice(0, 13)}`;
		if (room.moderation.isRemoved(id)) throw new RequestError(ErrorCode.forbidden, 'you were removed from this room by a host');
		const existing = room.peers.get(id);
		if (existing) {
			if (existing.kind !== 'broadcaster') throw conflict(`"${id}" is in the room over WebSocket; a WHIP/WHEP session needs an identity of its own`);
			room.closePeer(existing);
		}
		const displayName = caller.grant?.name ?? (kind === 'whip' ? 'WHIP' : 'WHEP player');
		const peer = room.addBroadcaster({ id, displayName, device: { name: kind.toUpperCase() }, access });
		return { room, peer };
	}

	/** The session's transport: on the peer's router in the room (WHIP), or on a WHEP router (`target`). */
	async function openTransport(room: Room, peer: Peer, kind: 'whip' | 'whep', offer: Offer, target?: { router: ms.Router; webRtcServer: ms.WebRtcServer }): Promise<Session> {
		const { router, webRtcServer } = target ?? (await room.routerFor(peer));
		const transport = await router.createWebRtcTransport<TransportAppData>({
			webRtcServer,
			enableUdp: true,
			enableTcp: true,
			preferUdp: true,
			initialAvailableOutgoingBitrate: config.mediasoup.initialAvailableOutgoingBitrate,
			appData: { producing: kind === 'whip', consuming: kind === 'whep' },
		});
		room.attachTransport(peer, transport);
		if (kind === 'whip' && config.mediasoup.maxIncomingBitrate > 0) await transport.setMaxIncomingBitrate(config.mediasoup.maxIncomingBitrate);
		await transport.connect({ dtlsParameters: offer.dtls });
		const session: Session = { id: randomUUID(), kind, room, peer, transport };
		sessions.set(session.id, session);
		const end = (why: string) => {
			if (!sessions.delete(session.id)) return;
			peer.logger.info({ event: `${kind}-ended`, reason: why }, `${kind.toUpperCase()} session ended`);
			room.closePeer(peer);
		};
		const timer = setTimeout(() => {
			if (transport.dtlsState !== 'connected') end('never connected');
		}, CONNECT_TIMEOUT_MS);
		timer.unref();
		transport.on('dtlsstatechange', (state) => {
			if (state === 'failed' || state === 'closed') end(`DTLS ${state}`);
		});
		transport.observer.once('close', () => {
			clearTimeout(timer);
			end('transport closed');
		});
		return session;
	}

	function answer(res: Response, session: Session, offer: Offer, sections: AnswerSection[], base: string): void {
		const { iceParameters, iceCandidates, dtlsParameters } = session.transport;
		const body = buildAnswer({ iceParameters, iceCandidates, dtlsParameters, dtlsRole: offer.dtls.role === 'client' ? 'server' : 'client' }, sections);
		res.status(201).location(`${base}/${encodeURIComponent(session.room.id)}/${session.id}`).type('application/sdp').send(body);
	}

	async function publish(room: Room, session: Session, offer: Offer): Promise<AnswerSection[]> {
		const sections: AnswerSection[] = [];
		for (const section of offer.sections) {
			if (section.kind === 'other' || (section.direction !== 'sendonly' && section.direction !== 'sendrecv')) {
				sections.push(rejected(section));
				continue;
			}
			let produced: ms.Producer | undefined;
			let lastError: unknown;
			for (const rtpParameters of producerCandidates(section)) {
				try {
					const source = section.kind === 'audio' ? 'mic' : 'webcam';
					produced = await room.produce(session.peer, session.transport, { kind: section.kind, rtpParameters, appData: { source, whip: true } });
					sections.push({ mid: section.mid, kind: section.kind, direction: 'recvonly', rtpParameters, simulcastRids: rtpParameters.encodings?.every((e) => e.rid) ? rtpParameters.encodings.map((e) => e.rid!) : undefined });
					break;
				} catch (error) {
					if (error instanceof RequestError) throw error;
					lastError = error;
				}
			}
			if (!produced) {
				session.peer.logger.info({ event: 'whip-section-rejected', mid: section.mid, reason: lastError instanceof Error ? lastError.message : 'no codec' }, 'WHIP media section has no codec the room offers');
				sections.push(rejected(section));
			}
		}
		if (!sections.some((section) => section.direction !== 'inactive')) throw new RequestError(ErrorCode.mediaError, 'none of the offer\'s media sections has a codec this server takes (Opus; VP8 or H.264)');
		return sections;
	}

	/**
	 * WHEP: a transport on a router numbered as the player's offer, the
	 * stage's producers piped there, one consumer per offered section.
	 */
	async function play(room: Room, peer: Peer, offer: Offer): Promise<{ session: Session; sections: AnswerSection[] }> {
		const stage = stageProducers(room);
		const plan = offer.sections.map((section) => {
			const producer = section.kind === 'audio' ? stage.audio : section.kind === 'video' ? stage.video : undefined;
			const receives = section.direction === 'recvonly' || section.direction === 'sendrecv';
			const codec = producer?.rtpParameters.codecs[0];
			const payloadType = producer && receives && codec ? offeredPayloadType(section, codec) : undefined;
			return { section, producer: payloadType === undefined ? undefined : producer, codec, payloadType };
		});
		const playing = plan.filter((item) => item.producer);
		if (playing.length === 0) throw new RequestError(ErrorCode.conflict, 'nothing on the stage to play yet (no camera, screen or microphone this player can decode); try again later');
		// The router goes where the stage's first producer is, so the pipe stays inside one worker.
		const firstOwner = room.peers.get(String(playing[0]!.producer!.appData.peerId));
		const worker = (firstOwner?.router && pool.worker(firstOwner.router.workerIndex)) || pool.pickWorker();
		const mediaCodecs: ms.RtpCodecCapability[] = playing.map(({ codec, payloadType }) => ({
			kind: codec!.mimeType.startsWith('audio/') ? 'audio' : 'video',
			mimeType: codec!.mimeType,
			clockRate: codec!.clockRate,
			channels: codec!.channels,
			parameters: codec!.parameters,
			preferredPayloadType: payloadType,
		}));
		const router = await whepRouters.routerFor(room, worker, mediaCodecs);
		const session = await openTransport(room, peer, 'whep', offer, { router, webRtcServer: worker.webRtcServer });
		const sections: AnswerSection[] = [];
		for (const { section, producer } of plan) {
			const owner = producer && room.peers.get(String(producer.appData.peerId));
			if (!producer || !owner?.router) {
				sections.push(rejected(section));
				continue;
			}
			const pipedId = await whepRouters.pipe(room, worker, mediaCodecs, producer.id, owner.router.router);
			// Without RTX and header extensions: their numbers in the offer are the player's, not the router's.
			const offered = capabilitiesOf(section);
			const rtpCapabilities: ms.RtpCapabilities = { codecs: offered.codecs?.filter((codec) => !/\/rtx$/i.test(codec.mimeType)), headerExtensions: [] };
			if (!router.canConsume({ producerId: pipedId, rtpCapabilities })) {
				sections.push(rejected(section));
				continue;
			}
			const consumer = await session.transport.consume({ producerId: pipedId, rtpCapabilities, paused: false, appData: { peerId: owner.id } });
			peer.addConsumer(consumer);
			sections.push({ mid: section.mid, kind: consumer.kind, direction: 'sendonly', rtpParameters: { ...consumer.rtpParameters, mid: section.mid }, streamId: `stage-${room.id}`, trackId: consumer.id });
		}
		// A key frame as soon as the player can receive it.
		session.transport.on('dtlsstatechange', (state) => {
			if (state === 'connected') for (const consumer of peer.consumers.values()) if (consumer.kind === 'video') consumer.requestKeyFrame().catch(() => {});
		});
		return { session, sections };
	}

	function router(kind: 'whip' | 'whep'): Router {
		const routes = Router();
		const base = `/${kind}`;
		routes.post('/:roomId', sdpBody, async (req, res) => {
			const caller = await callerOf(req, kind);
			const offer = requireSdp(req);
			const { room, peer } = await sessionPeer(req, kind, caller);
			try {
				let session: Session;
				let sections: AnswerSection[];
				if (kind === 'whip') {
					session = await openTransport(room, peer, kind, offer);
					sections = await publish(room, session, offer);
				} else {
					({ session, sections } = await play(room, peer, offer));
				}
				peer.logger.info({ event: `${kind}-started`, sections: sections.filter((s) => s.direction !== 'inactive').map((s) => s.kind) }, `${kind.toUpperCase()} session started`);
				answer(res, session, offer, sections, base);
			} catch (error) {
				room.closePeer(peer);
				throw error;
			}
		});

		const sessionOf = (req: Request): Session => {
			const session = sessions.get(String(req.params.sessionId));
			if (!session || session.kind !== kind || session.room.id !== req.params.roomId || session.peer.closed) throw notFound('no such session');
			return session;
		};

		// The session URL is its capability (unguessable); a token, when sent, must still be valid for the room.
		const checkCaller = async (req: Request) => {
			if (req.headers.authorization !== undefined || !auth.open) await auth.media(req.headers.authorization, roomIdOf(req), 'viewer');
		};

		routes.delete('/:roomId/:sessionId', async (req, res) => {
			await checkCaller(req);
			const session = sessionOf(req);
			sessions.delete(session.id);
			session.room.closePeer(session.peer);
			res.status(200).end();
		});

		routes.patch('/:roomId/:sessionId', sdpBody, async (req, res) => {
			await checkCaller(req);
			const session = sessionOf(req);
			if (!req.is('application/trickle-ice-sdpfrag')) throw new RequestError(ErrorCode.unsupportedMediaType, 'PATCH takes Content-Type: application/trickle-ice-sdpfrag');
			const credentials = fragmentCredentials(typeof req.body === 'string' ? req.body : '');
			if (!credentials) {
				// Trickled candidates: an ICE-lite server learns the client's addresses from its checks.
				res.status(204).end();
				return;
			}
			const iceParameters = await session.transport.restartIce();
			res.status(200).type('application/trickle-ice-sdpfrag').send(iceFragment(iceParameters));
		});
		return routes;
	}

	return { whip: router('whip'), whep: router('whep') };
}

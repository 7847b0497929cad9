/**
 * The broadcaster API: RTP in and out of a room over PlainTransports, for
 * ffmpeg/GStreamer, recorders and load generators. Paths and shapes follow
 * mediasoup-demo's API server, so its broadcaster scripts work unchanged.
 * Every body is validated before it reaches mediasoup.
 */
import express, { Router, type Request } from 'express';
import { AddressAllowList } from '../auth/limits.js';
import type { Authenticator, ServiceCaller } from '../auth/Authenticator.js';
import { Access } from '../auth/roles.js';
import type { types as ms } from 'mediasoup';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { Peer, TransportAppData } from '../rooms/Peer.js';
import { Audience } from '../rooms/Audience.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { badRequest, conflict, forbidden, limitReached, notFound } from '../signalling/errors.js';
import type { HttpApi } from '../signalling/protocol.js';
import { describeIssues, httpSchemas, idSchema } from '../signalling/schemas.js';

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
	const result = schema.safeParse(value ?? {});
	if (!result.success) throw badRequest(`invalid ${what}: ${describeIssues(result.error)}`);
	return result.data;
}

function param(req: Request, name: string): string {
	const value = req.params[name];
	return parse(idSchema, value, name);
}

/**
 * A PlainTransport consumer has no bandwidth estimation, and mediasoup 3.12
 * re-chooses its simulcast layer only on a few events; a layer whose stream
 * starts after the consumer was created can be missed for good (found by the
 * load tests). Re-applying the preferred layers when a producer stream starts
 * scoring makes the consumer climb to it.
 */
function upgradeWhenLayersAppear(consumer: ms.Consumer): void {
	const scoring = (scores: number[]) => scores.filter((score) => score > 0).length;
	let streams = scoring(consumer.score.producerScores);
	consumer.on('score', ({ producerScores }) => {
		const now = scoring(producerScores);
		if (now > streams && consumer.preferredLayers && !consumer.closed) {
			consumer.setPreferredLayers(consumer.preferredLayers).catch(() => {});
		}
		streams = now;
	});
}

/** Producers each PlainTransport consumes: one consumer per producer, so one request cannot multiply a stream. */
const consumedBy = new WeakMap<ms.PlainTransport<TransportAppData>, Set<string>>();

/**
 * With comedia the transport learns where to send from the first packet it
 * receives; a source off the allow-list closes the transport, so media is
 * never sent there.
 */
function guardComedia(transport: ms.PlainTransport<TransportAppData>, allowList: AddressAllowList, peer: Peer): void {
	const check = (remoteIp: string | undefined) => {
		const refusal = remoteIp === undefined ? undefined : allowList.refusal(remoteIp);
		if (refusal === undefined || transport.closed) return;
		peer.logger.warn({ event: 'plain-transport-refused-source', transportId: transport.id, remoteIp, reason: refusal }, 'closed a PlainTransport: its first packet came from an address off the allow-list');
		transport.close();
	};
	transport.on('tuple', (tuple) => check(tuple.remoteIp));
	transport.on('rtcptuple', (tuple) => check(tuple.remoteIp));
}

export function broadcasterRoutes({ rooms, pool, config, auth }: { rooms: RoomRegistry; pool: WorkerPool; config: Config; auth: Authenticator }): Router {
	const router = Router();
	const schemas = httpSchemas(config.signalling);
	const limits = config.rooms;
	const allowList = new AddressAllowList(config.auth.plainTransportAllowList);

	// Credentials first, before the body is even read: an anonymous caller learns nothing but 401.
	const callers = new WeakMap<Request, ServiceCaller>();
	router.use(async (req, _res, next) => {
		const [first] = req.path.split('/').filter(Boolean);
		if (first === undefined) {
			auth.admin(req.headers.authorization);
		} else {
			const roomId = parse(idSchema, decodeURIComponent(first), 'roomId');
			callers.set(req, await auth.service(req.headers.authorization, roomId));
		}
		next();
	});
	router.use(express.json({ limit: config.http.maxBodyBytes, strict: true }));

	/** The caller's credential for the room of the path (checked above); a token caller may act only as its own identity. */
	const caller = async (req: Request, broadcasterId?: string): Promise<ServiceCaller> => {
		const who = callers.get(req) ?? (await auth.service(req.headers.authorization, param(req, 'roomId')));
		if (who.kind === 'token' && broadcasterId !== undefined && broadcasterId !== who.identity) {
			throw forbidden(`this token is for broadcaster "${who.identity}", not "${broadcasterId}"`);
		}
		return who;
	};

	const existingRoom = (req: Request): Room => {
		const roomId = param(req, 'roomId');
		const room = rooms.get(roomId);
		if (!room || room.closed) throw notFound(`room "${roomId}" not found`);
		return room;
	};

	const broadcaster = async (req: Request): Promise<{ room: Room; peer: Peer }> => {
		const id = param(req, 'broadcasterId');
		await caller(req, id);
		const room = existingRoom(req);
		const peer = room.peers.get(id);
		if (!peer) throw notFound(`broadcaster "${id}" not found`);
		if (peer.kind !== 'broadcaster') throw forbidden(`"${id}" is a WebRTC peer, not a broadcaster`);
		return { room, peer };
	};

	const transportOf = async (req: Request) => {
		const { room, peer } = await broadcaster(req);
		const transport = peer.own('transports', param(req, 'transportId'), room.ownerOf) as ms.PlainTransport<TransportAppData>;
		return { room, peer, transport };
	};

	router.get('/', (_req, res) => {
		const body: HttpApi['listRooms']['response'] = { rooms: rooms.summaries() };
		res.json(body);
	});

	router.get('/:roomId', async (req, res) => {
		await caller(req);
		const room = await rooms.getOrCreate(param(req, 'roomId'));
		const body: HttpApi['getRoom']['response'] = room.rtpCapabilities;
		res.json(body);
	});

	router.post('/:roomId/broadcasters', async (req, res) => {
		const who = await caller(req);
		const body = parse(schemas.createBroadcaster, req.body, 'broadcaster');
		if (who.kind === 'token' && body.id !== who.identity) throw forbidden(`this token is for broadcaster "${who.identity}", not "${body.id}"`);
		const room = await rooms.getOrCreate(param(req, 'roomId'));
		if (room.peers.has(body.id)) throw conflict(`a peer or broadcaster "${body.id}" already exists in this room`);
		const broadcasters = [...room.peers.values()].filter((peer) => peer.kind === 'broadcaster').length;
		if (broadcasters >= limits.maxBroadcastersPerRoom) throw limitReached(`at most ${limits.maxBroadcastersPerRoom} broadcasters per room (rooms.maxBroadcastersPerRoom)`);
		const peer = room.addBroadcaster({
			id: body.id,
			displayName: body.displayName,
			device: body.device ?? { name: 'broadcaster' },
			rtpCapabilities: body.rtpCapabilities,
			access: new Access(body.role ?? 'service'),
		});
		const response: HttpApi['createBroadcaster']['response'] = {
			peers: room.joinedPeers().filter((other) => other !== peer && !Audience.includes(other)).map((other) => ({
				...other.info(),
				producers: [...other.producers.values()].map((producer) => ({ id: producer.id, kind: producer.kind })),
			})),
		};
		res.json(response);
	});

	router.delete('/:roomId/broadcasters/:broadcasterId', async (req, res) => {
		const { room, peer } = await broadcaster(req);
		room.closePeer(peer);
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports', async (req, res) => {
		const { room, peer } = await broadcaster(req);
		const body = parse(schemas.createPlainTransport, req.body, 'transport options');
		if (peer.transports.size >= limits.maxTransportsPerPeer) throw limitReached(`at most ${limits.maxTransportsPerPeer} transports per broadcaster (rooms.maxTransportsPerPeer)`);
		const { router: mediaRouter } = await room.routerFor(peer);
		const transport = await mediaRouter.createPlainTransport<TransportAppData>({
			listenIp: pool.plainTransportListenIp,
			rtcpMux: body.rtcpMux ?? true,
			comedia: body.comedia ?? true,
			enableSrtp: body.enableSrtp ?? false,
			srtpCryptoSuite: body.srtpCryptoSuite,
			enableSctp: body.enableSctp ?? false,
			numSctpStreams: body.numSctpStreams,
			appData: { producing: true, consuming: true },
		});
		if (transport.appData.consuming) consumedBy.set(transport, new Set());
		if (body.comedia ?? true) guardComedia(transport, allowList, peer);
		room.attachTransport(peer, transport);
		const response: HttpApi['createPlainTransport']['response'] = {
			id: transport.id,
			ip: transport.tuple.localIp,
			port: transport.tuple.localPort,
			rtcpPort: transport.rtcpTuple?.localPort,
			srtpParameters: transport.srtpParameters,
			sctpParameters: transport.sctpParameters,
		};
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/connect', async (req, res) => {
		const { transport } = await transportOf(req);
		const body = parse(schemas.connectPlainTransport, req.body, 'connect parameters');
		const refusal = body.ip === undefined ? undefined : allowList.refusal(body.ip);
		if (refusal !== undefined) throw forbidden(`cannot send media to ${body.ip}: ${refusal}`);
		await transport.connect(body);
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/producers', async (req, res) => {
		const { room, peer, transport } = await transportOf(req);
		const body = parse(schemas.createProducer, req.body, 'producer');
		const producer = await room.produce(peer, transport, body);
		const response: HttpApi['createProducer']['response'] = { id: producer.id };
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/consume', async (req, res) => {
		const { room, peer, transport } = await transportOf(req);
		const body = parse(schemas.createConsumer, { ...req.body, ...(typeof req.query.producerId === 'string' ? { producerId: req.query.producerId } : {}) }, 'consume parameters');
		if (!body.producerId) throw badRequest('producerId is required (query string or body)');
		if (!room.ownerOf('producers', body.producerId)) throw notFound(`producer "${body.producerId}" not found`);
		const consumed = consumedBy.get(transport) ?? new Set<string>();
		if (consumed.has(body.producerId)) throw conflict(`transport "${transport.id}" already consumes producer "${body.producerId}": a PlainTransport consumes each producer once`);
		consumed.add(body.producerId);
		let consumer: ms.Consumer;
		try {
			await room.bringProducerTo(peer, body.producerId);
			// Without capabilities of its own, a broadcaster receives the producer's codec as the router offers it.
			const rtpCapabilities = peer.rtpCapabilities ?? room.rtpCapabilities;
			consumer = await transport.consume({ producerId: body.producerId, rtpCapabilities, paused: body.paused ?? false });
		} catch (error) {
			consumed.delete(body.producerId);
			throw error;
		}
		consumer.observer.once('close', () => consumed.delete(consumer.producerId));
		peer.addConsumer(consumer);
		if (consumer.type === 'simulcast') upgradeWhenLayersAppear(consumer);
		const response: HttpApi['createConsumer']['response'] = {
			id: consumer.id,
			producerId: consumer.producerId,
			kind: consumer.kind,
			rtpParameters: consumer.rtpParameters,
			type: consumer.type,
		};
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/produce/data', async (req, res) => {
		const { room, peer, transport } = await transportOf(req);
		const body = parse(schemas.createDataProducer, req.body, 'data producer');
		const dataProducer = await room.produceData(peer, transport, body);
		const response: HttpApi['createDataProducer']['response'] = { id: dataProducer.id };
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/consume/data', async (req, res) => {
		const { room, peer, transport } = await transportOf(req);
		const body = parse(schemas.createDataConsumer, req.body, 'data consumer');
		if (!transport.sctpParameters) throw conflict(`transport "${transport.id}" has no SCTP: create it with enableSctp`);
		if (!room.ownerOf('dataProducers', body.dataProducerId)) throw notFound(`data producer "${body.dataProducerId}" not found`);
		await room.bringDataProducerTo(peer, body.dataProducerId);
		const dataConsumer = await transport.consumeData({ dataProducerId: body.dataProducerId });
		peer.addDataConsumer(dataConsumer);
		const response: HttpApi['createDataConsumer']['response'] = {
			id: dataConsumer.id,
			dataProducerId: dataConsumer.dataProducerId,
			streamId: dataConsumer.sctpStreamParameters!.streamId,
			label: dataConsumer.label,
			protocol: dataConsumer.protocol,
		};
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/consumers/:consumerId/resume', async (req, res) => {
		const { room, peer } = await broadcaster(req);
		await peer.own('consumers', param(req, 'consumerId'), room.ownerOf).resume();
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/consumers/:consumerId/preferred-layers', async (req, res) => {
		const { room, peer } = await broadcaster(req);
		const body = parse(schemas.setPreferredLayers, req.body, 'layers');
		await peer.own('consumers', param(req, 'consumerId'), room.ownerOf).setPreferredLayers(body);
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/consumers/:consumerId/request-key-frame', async (req, res) => {
		const { room, peer } = await broadcaster(req);
		await peer.own('consumers', param(req, 'consumerId'), room.ownerOf).requestKeyFrame();
		res.json({});
	});

	return router;
}

/**
 * The broadcaster API: RTP in and out of a room over PlainTransports, for
 * ffmpeg/GStreamer, recorders and load generators. Paths and shapes follow
 * mediasoup-demo's API server, so its broadcaster scripts work unchanged.
 * Every body is validated before it reaches mediasoup.
 */
import { Router, type Request } from 'express';
import type { types as ms } from 'mediasoup';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { Peer, TransportAppData } from '../rooms/Peer.js';
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

export function broadcasterRoutes({ rooms, pool, config }: { rooms: RoomRegistry; pool: WorkerPool; config: Config }): Router {
	const router = Router();
	const schemas = httpSchemas(config.signalling);
	const limits = config.rooms;

	const existingRoom = (req: Request): Room => {
		const roomId = param(req, 'roomId');
		const room = rooms.get(roomId);
		if (!room || room.closed) throw notFound(`room "${roomId}" not found`);
		return room;
	};

	const broadcaster = (req: Request): { room: Room; peer: Peer } => {
		const room = existingRoom(req);
		const id = param(req, 'broadcasterId');
		const peer = room.peers.get(id);
		if (!peer) throw notFound(`broadcaster "${id}" not found`);
		if (peer.kind !== 'broadcaster') throw forbidden(`"${id}" is a WebRTC peer, not a broadcaster`);
		return { room, peer };
	};

	const transportOf = (req: Request) => {
		const { room, peer } = broadcaster(req);
		const transport = peer.own('transports', param(req, 'transportId'), room.ownerOf) as ms.PlainTransport<TransportAppData>;
		return { room, peer, transport };
	};

	router.get('/', (_req, res) => {
		const body: HttpApi['listRooms']['response'] = { rooms: rooms.summaries() };
		res.json(body);
	});

	router.get('/:roomId', async (req, res) => {
		const room = await rooms.getOrCreate(param(req, 'roomId'));
		const body: HttpApi['getRoom']['response'] = room.rtpCapabilities;
		res.json(body);
	});

	router.post('/:roomId/broadcasters', async (req, res) => {
		const body = parse(schemas.createBroadcaster, req.body, 'broadcaster');
		const room = await rooms.getOrCreate(param(req, 'roomId'));
		if (room.peers.has(body.id)) throw conflict(`a peer or broadcaster "${body.id}" already exists in this room`);
		const broadcasters = [...room.peers.values()].filter((peer) => peer.kind === 'broadcaster').length;
		if (broadcasters >= limits.maxBroadcastersPerRoom) throw limitReached(`at most ${limits.maxBroadcastersPerRoom} broadcasters per room (rooms.maxBroadcastersPerRoom)`);
		const peer = room.addBroadcaster({ id: body.id, displayName: body.displayName, device: body.device ?? { name: 'broadcaster' }, rtpCapabilities: body.rtpCapabilities });
		const response: HttpApi['createBroadcaster']['response'] = {
			peers: room.joinedPeers().filter((other) => other !== peer).map((other) => ({
				...other.info(),
				producers: [...other.producers.values()].map((producer) => ({ id: producer.id, kind: producer.kind })),
			})),
		};
		res.json(response);
	});

	router.delete('/:roomId/broadcasters/:broadcasterId', (req, res) => {
		const { room, peer } = broadcaster(req);
		room.closePeer(peer);
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports', async (req, res) => {
		const body = parse(schemas.createPlainTransport, req.body, 'transport options');
		const { room, peer } = broadcaster(req);
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
		const body = parse(schemas.connectPlainTransport, req.body, 'connect parameters');
		const { transport } = transportOf(req);
		await transport.connect(body);
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/producers', async (req, res) => {
		const body = parse(schemas.createProducer, req.body, 'producer');
		const { room, peer, transport } = transportOf(req);
		const producer = await room.produce(peer, transport, body);
		const response: HttpApi['createProducer']['response'] = { id: producer.id };
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/consume', async (req, res) => {
		const body = parse(schemas.createConsumer, { ...req.body, ...(typeof req.query.producerId === 'string' ? { producerId: req.query.producerId } : {}) }, 'consume parameters');
		if (!body.producerId) throw badRequest('producerId is required (query string or body)');
		const { room, peer, transport } = transportOf(req);
		if (!room.ownerOf('producers', body.producerId)) throw notFound(`producer "${body.producerId}" not found`);
		await room.bringProducerTo(peer, body.producerId);
		// Without capabilities of its own, a broadcaster receives the producer's codec as the router offers it.
		const rtpCapabilities = peer.rtpCapabilities ?? room.rtpCapabilities;
		const consumer = await transport.consume({ producerId: body.producerId, rtpCapabilities, paused: body.paused ?? false });
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
		const body = parse(schemas.createDataProducer, req.body, 'data producer');
		const { room, peer, transport } = transportOf(req);
		const dataProducer = await room.produceData(peer, transport, body);
		const response: HttpApi['createDataProducer']['response'] = { id: dataProducer.id };
		res.json(response);
	});

	router.post('/:roomId/broadcasters/:broadcasterId/transports/:transportId/consume/data', async (req, res) => {
		const body = parse(schemas.createDataConsumer, req.body, 'data consumer');
		const { room, peer, transport } = transportOf(req);
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
		const { room, peer } = broadcaster(req);
		await peer.own('consumers', param(req, 'consumerId'), room.ownerOf).resume();
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/consumers/:consumerId/preferred-layers', async (req, res) => {
		const body = parse(schemas.setPreferredLayers, req.body, 'layers');
		const { room, peer } = broadcaster(req);
		await peer.own('consumers', param(req, 'consumerId'), room.ownerOf).setPreferredLayers(body);
		res.json({});
	});

	router.post('/:roomId/broadcasters/:broadcasterId/consumers/:consumerId/request-key-frame', async (req, res) => {
		const { room, peer } = broadcaster(req);
		await peer.own('consumers', param(req, 'consumerId'), room.ownerOf).requestKeyFrame();
		res.json({});
	});

	return router;
}

/**
 * The consumer lifecycle of a room: a consumer is created paused on the
 * consuming peer's router (the producer piped there if needed), offered to
 * the peer with `newConsumer`, resumed once the peer accepts, and closed if it
 * does not (a timed-out offer is made once more). Data consumers likewise.
 */
import type { types as ms } from 'mediasoup';
import type { NotificationsFromServer } from '../signalling/protocol.js';
import type { Peer, ProducerAppData } from './Peer.js';
import type { RoomRouters } from './RoomRouters.js';

export class ConsumerOffers {
	readonly #routers: RoomRouters;

	constructor(routers: RoomRouters) {
		this.#routers = routers;
	}

	/** Gives `peer` a consumer of `owner`'s producer, unless it has one or cannot consume. */
	async consume(peer: Peer, owner: Peer, producer: ms.Producer<ProducerAppData>, attempt = 1): Promise<void> {
		if (peer.kind !== 'webrtc' || !peer.connected || !peer.access.can('subscribe') || peer.consumedProducerIds.has(producer.id)) return;
		const transport = peer.consumingTransport();
		if (!transport || !peer.rtpCapabilities || !peer.router || !owner.router) return;
		peer.consumedProducerIds.add(producer.id);
		let consumer: ms.Consumer;
		try {
			await this.#routers.ensureProducer(producer.id, owner.router, peer.router);
			if (peer.closed || producer.closed || transport.closed) throw new Error('gone before the consumer was created');
			if (!peer.router.router.canConsume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities })) {
				peer.consumedProducerIds.delete(producer.id);
				peer.logger.debug({ producerId: producer.id }, 'peer cannot consume producer (codec not supported)');
				return;
			}
			consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities, paused: true, appData: { peerId: owner.id } });
		} catch (error) {
			peer.consumedProducerIds.delete(producer.id);
			if (!peer.closed && !producer.closed) peer.logger.warn({ err: error, producerId: producer.id }, 'cannot create consumer');
			return;
		}
		peer.addConsumer(consumer);
		this.#forwardConsumerEvents(peer, consumer);
		try {
			await peer.request('newConsumer', {
				peerId: owner.id,
				producerId: producer.id,
				id: consumer.id,
				kind: consumer.kind,
				rtpParameters: consumer.rtpParameters,
				type: consumer.type,
				appData: { ...producer.appData, peerId: owner.id },
				producerPaused: consumer.producerPaused,
			});
			if (consumer.closed) return;
			await consumer.resume();
			peer.notify('consumerScore', { consumerId: consumer.id, score: consumer.score });
		} catch (error) {
			// Not accepted (refused, timed out, peer gone): release it rather than leave it paused forever.
			const timedOut = error instanceof Error && error.message === 'request timeout';
			if (this.#abandon(peer, consumer, 'consumerClosed', { consumerId: consumer.id }, error) && timedOut && attempt === 1 && !producer.closed) {
				// A late answer is not a refusal (a loaded browser): offer it once more.
				void this.consume(peer, owner, producer, attempt + 1);
			}
		}
	}

	/**
	 * Closes a consumer the peer did not accept and, since its client side may
	 * exist already, tells the peer it is gone. Returns whether the peer is
	 * still there.
	 */
	#abandon<M extends 'consumerClosed' | 'dataConsumerClosed'>(peer: Peer, consumer: { closed: boolean; id: string; close(): void }, notification: M, data: NotificationsFromServer[M], error: unknown): boolean {
		const stillThere = !consumer.closed && !peer.closed;
		consumer.close();
		if (!stillThere) return false;
		peer.logger.warn({ event: 'consumer-not-accepted', consumerId: consumer.id, reason: error instanceof Error ? error.message : String(error) }, 'client did not accept the consumer; closed it');
		peer.notify(notification, data);
		return true;
	}

	#forwardConsumerEvents(peer: Peer, consumer: ms.Consumer): void {
		const consumerId = consumer.id;
		consumer.on('producerclose', () => peer.notify('consumerClosed', { consumerId }));
		consumer.on('producerpause', () => peer.notify('consumerPaused', { consumerId }));
		consumer.on('producerresume', () => peer.notify('consumerResumed', { consumerId }));
		consumer.on('score', (score) => peer.notify('consumerScore', { consumerId, score }));
		consumer.on('layerschange', (layers) =>
			peer.notify('consumerLayersChanged', { consumerId, spatialLayer: layers?.spatialLayer ?? null, temporalLayer: layers?.temporalLayer ?? null }));
	}

	/** Gives `peer` a data consumer of `owner`'s data producer (over SCTP), unless it has one. */
	async consumeData(peer: Peer, owner: Peer, dataProducer: ms.DataProducer<ProducerAppData>, attempt = 1): Promise<void> {
		if (peer.kind !== 'webrtc' || !peer.connected || !peer.access.can('subscribe') || !peer.sctpCapabilities || peer.consumedDataProducerIds.has(dataProducer.id)) return;
		const transport = peer.consumingTransport();
		if (!transport?.sctpParameters || !peer.router || !owner.router) return;
		peer.consumedDataProducerIds.add(dataProducer.id);
		let dataConsumer: ms.DataConsumer;
		try {
			await this.#routers.ensureDataProducer(dataProducer.id, owner.router, peer.router);
			if (peer.closed || dataProducer.closed || transport.closed) throw new Error('gone before the data consumer was created');
			dataConsumer = await transport.consumeData({ dataProducerId: dataProducer.id, appData: { peerId: owner.id } });
		} catch (error) {
			peer.consumedDataProducerIds.delete(dataProducer.id);
			if (!peer.closed && !dataProducer.closed) peer.logger.warn({ err: error, dataProducerId: dataProducer.id }, 'cannot create data consumer');
			return;
		}
		peer.addDataConsumer(dataConsumer);
		dataConsumer.on('dataproducerclose', () => peer.notify('dataConsumerClosed', { dataConsumerId: dataConsumer.id }));
		try {
			await peer.request('newDataConsumer', {
				peerId: owner.id,
				dataProducerId: dataProducer.id,
				id: dataConsumer.id,
				sctpStreamParameters: dataConsumer.sctpStreamParameters!,
				label: dataConsumer.label,
				protocol: dataConsumer.protocol,
				appData: { ...dataProducer.appData, peerId: owner.id },
			});
		} catch (error) {
			const timedOut = error instanceof Error && error.message === 'request timeout';
			if (this.#abandon(peer, dataConsumer, 'dataConsumerClosed', { dataConsumerId: dataConsumer.id }, error) && timedOut && attempt === 1 && !dataProducer.closed) {
				void this.consumeData(peer, owner, dataProducer, attempt + 1);
			}
		}
	}
}

/**
 * Feeds the layer policy (lib/layers.ts): remote video tiles report their
 * size and visibility here; changes are coalesced, planned, and sent.
 */
import { onScopeDispose, ref, watch } from 'vue';
import { fixedSpatialLayer, planAll } from '../lib/layers.js';
import type { ConsumerPlan, QualityChoice, TileReport } from '../lib/layers.js';
import type { Room } from './useRoom.js';

export type TileGeometry = {
	/** Device pixels. */
	width: number;
	height: number;
	visible: boolean;
};

/** Coalesces bursts (a window being resized, a layout switch) into one plan. */
const SETTLE_MS = 150;

export function useLayerAdaptation(room: Room) {
	const geometry = new Map<string, TileGeometry>();
	let plans = new Map<string, ConsumerPlan>();
	let timer: ReturnType<typeof setTimeout> | undefined;
	/** The viewer's choice of quality for every video; auto adapts to each tile. */
	const quality = ref<QualityChoice>('auto');

	function schedule(): void {
		if (timer !== undefined) return;
		timer = setTimeout(() => {
			timer = undefined;
			apply();
		}, SETTLE_MS);
	}

	function apply(): void {
		const client = room.client.value;
		const reports: TileReport[] = [];
		for (const [consumerId, tile] of geometry) {
			const consumer = room.consumers.get(consumerId);
			if (!consumer || consumer.kind !== 'video') continue;
			reports.push({
				consumerId,
				role: consumer.source === 'screen' ? 'screen' : 'camera',
				width: tile.width,
				height: tile.height,
				// A camera that is off has nothing to show either way; pausing it adds nothing.
				visible: tile.visible,
				speaking: room.activeSpeakerId.value === consumer.peerId,
				spatialLayers: consumer.spatialLayers,
				temporalLayers: consumer.temporalLayers,
				topLayerHeight: consumer.topLayerHeight,
				fixedSpatialLayer: fixedSpatialLayer(quality.value),
			});
		}
		const planned = planAll(reports, plans);
		plans = planned.plans;
		for (const command of planned.commands) client?.applyLayerCommand(command);
		for (const plan of plans.values()) {
			const consumer = room.consumers.get(plan.consumerId);
			if (!consumer) continue;
			consumer.localPaused = plan.paused;
			consumer.preferredSpatialLayer = plan.spatialLayer;
			consumer.preferredTemporalLayer = plan.temporalLayer;
		}
	}

	/** A tile's report; undefined when the tile is gone. */
	function report(consumerId: string, tile: TileGeometry | undefined): void {
		const before = geometry.get(consumerId);
		if (!tile) {
			geometry.delete(consumerId);
		} else if (
			before &&
			before.width === tile.width &&
			before.height === tile.height &&
			before.visible === tile.visible
		) {
			return;
		} else {
			geometry.set(consumerId, tile);
		}
		schedule();
	}

	// The active speaker gets a higher priority.
	watch(room.activeSpeakerId, schedule);
	watch(quality, schedule);

	onScopeDispose(() => clearTimeout(timer));

	return { report, quality };
}

export type LayerAdaptation = ReturnType<typeof useLayerAdaptation>;

/**
 * Layer adaptation policy: which spatial/temporal layer each remote video
 * consumer should receive, whether it should be paused, and its priority,
 * given how its tile is shown. Pure: fed by tile reports, returns commands
 * for the server (`setConsumerPreferredLayers`, `pauseConsumer`, …).
 */

export type VideoRole = 'camera' | 'screen';

/** What a remote video tile reports about itself. */
export type TileReport = {
	consumerId: string;
	role: VideoRole;
	/** Rendered size in device pixels (CSS size × devicePixelRatio). */
	width: number;
	height: number;
	/** On screen, page visible, and not minimised by the user. */
	visible: boolean;
	/** Whether the tile's peer is the active speaker. */
	speaking: boolean;
	/** Layers the consumer offers: simulcast streams or SVC spatial layers (1 when neither). */
	spatialLayers: number;
	temporalLayers: number;
	/** Height of the top spatial layer as its sender declared it (producer appData), else undefined. */
	topLayerHeight?: number | undefined;
	/** The viewer chose a quality (not "auto"): this spatial layer (clamped to those offered), whatever the tile's size. */
	fixedSpatialLayer?: number | undefined;
};

/** A viewer's choice of quality: auto follows the tile (the policy here); the others fix a spatial layer. */
export type QualityChoice = 'auto' | 'low' | 'medium' | 'high';

export const qualityChoices: readonly QualityChoice[] = ['auto', 'low', 'medium', 'high'];

/** The spatial layer a fixed choice asks for (undefined: auto); `planConsumer` clamps it to the layers offered. */
export function fixedSpatialLayer(choice: QualityChoice): number | undefined {
	switch (choice) {
		case 'auto':
			return undefined;
		case 'low':
			return 0;
		case 'medium':
			return 1;
		case 'high':
			return 2;
	}
}

/** What the client wants from the server for one consumer. */
export type ConsumerPlan = {
	consumerId: string;
	paused: boolean;
	spatialLayer: number;
	temporalLayer: number;
	/** 1 (lowest) to 255, as mediasoup's `setPriority`. */
	priority: number;
};

export type LayerCommand =
	| { method: 'pauseConsumer'; data: { consumerId: string } }
	| { method: 'resumeConsumer'; data: { consumerId: string } }
	| { method: 'setConsumerPreferredLayers'; data: { consumerId: string; spatialLayer: number; temporalLayer: number } }
	| { method: 'setConsumerPriority'; data: { consumerId: string; priority: number } };

export type LayerPolicyOptions = {
	/** Assumed height of the top layer until a decoded frame says otherwise. */
	defaultTopLayerHeight: number;
	/** A layer fits when its height is at least this fraction of the tile's height (slight upscaling is fine). */
	upscaleTolerance: number;
	/** Tiles below this height (device px) get one temporal layer less: a thumbnail needs no full frame rate. */
	thumbnailHeight: number;
};

export const defaultLayerPolicyOptions: LayerPolicyOptions = {
	defaultTopLayerHeight: 720,
	upscaleTolerance: 0.85,
	thumbnailHeight: 120,
};

export const Priority = { screen: 255, speaker: 200, camera: 100, thumbnail: 50 } as const;

/** Height of spatial layer `layer` when each layer halves the one above (scaleResolutionDownBy 4/2/1). */
export function layerHeight(layer: number, spatialLayers: number, topLayerHeight: number): number {
	return topLayerHeight / 2 ** (spatialLayers - 1 - layer);
}

/**
 * The lowest spatial layer that fills the tile, with hysteresis: going down
 * needs the lower layer to fill the tile without any upscaling, so a tile
 * near a boundary does not flap between two layers.
 */
export function chooseSpatialLayer(
	tileHeight: number,
	spatialLayers: number,
	topLayerHeight: number,
	previousLayer: number | undefined,
	options: LayerPolicyOptions = defaultLayerPolicyOptions,
): number {
	const top = Math.max(spatialLayers, 1) - 1;
	let target = top;
	for (let layer = 0; layer < top; layer++) {
		if (layerHeight(layer, top + 1, topLayerHeight) >= tileHeight * options.upscaleTolerance) {
			target = layer;
			break;
		}
	}
	if (previousLayer === undefined || previousLayer <= target || previousLayer > top) return target;
	// Going down: only to a layer that fills the tile without upscaling.
	for (let layer = target; layer < previousLayer; layer++) {
		if (layerHeight(layer, top + 1, topLayerHeight) >= tileHeight) return layer;
	}
	return previousLayer;
}

export function planConsumer(
	tile: TileReport,
	previous: ConsumerPlan | undefined,
	options: LayerPolicyOptions = defaultLayerPolicyOptions,
): ConsumerPlan {
	const topTemporal = Math.max(tile.temporalLayers, 1) - 1;
	const thumbnail = tile.height > 0 && tile.height < options.thumbnailHeight;
	const topSpatial = Math.max(tile.spatialLayers, 1) - 1;
	const spatialLayer =
		tile.fixedSpatialLayer !== undefined
			? Math.min(Math.max(tile.fixedSpatialLayer, 0), topSpatial)
			: chooseSpatialLayer(tile.height, tile.spatialLayers, tile.topLayerHeight ?? options.defaultTopLayerHeight, previous?.spatialLayer, options);
	let priority: number;
	if (tile.role === 'screen') priority = Priority.screen;
	else if (tile.speaking) priority = Priority.speaker;
	else if (thumbnail) priority = Priority.thumbnail;
	else priority = Priority.camera;
	return {
		consumerId: tile.consumerId,
		// A tile of zero size shows nothing, like one that is off-screen.
		paused: !tile.visible || tile.width <= 0 || tile.height <= 0,
		spatialLayer,
		// A fixed quality gets its full frame rate too.
		temporalLayer: thumbnail && tile.role === 'camera' && tile.fixedSpatialLayer === undefined ? Math.max(topTemporal - 1, 0) : topTemporal,
		priority,
	};
}

/** Commands that take the server from `previous` (undefined: nothing sent yet) to `next`. */
export function planCommands(previous: ConsumerPlan | undefined, next: ConsumerPlan): LayerCommand[] {
	const consumerId = next.consumerId;
	const commands: LayerCommand[] = [];
	// Layers and priority are left alone while paused; they are sent on resume.
	if (next.paused) {
		if (!previous?.paused) commands.push({ method: 'pauseConsumer', data: { consumerId } });
		return commands;
	}
	const resuming = previous?.paused === true;
	const fresh = previous === undefined || resuming;
	if (fresh || previous.spatialLayer !== next.spatialLayer || previous.temporalLayer !== next.temporalLayer) {
		commands.push({
			method: 'setConsumerPreferredLayers',
			data: { consumerId, spatialLayer: next.spatialLayer, temporalLayer: next.temporalLayer },
		});
	}
	if (fresh || previous.priority !== next.priority) {
		commands.push({ method: 'setConsumerPriority', data: { consumerId, priority: next.priority } });
	}
	// Layers first, so the consumer resumes straight into the right layer.
	if (resuming) commands.push({ method: 'resumeConsumer', data: { consumerId } });
	return commands;
}

/**
 * Plans every reported tile. Returns the new plans (keyed by consumer id;
 * consumers without a report are dropped) and the commands to send.
 */
export function planAll(
	tiles: Iterable<TileReport>,
	previous: ReadonlyMap<string, ConsumerPlan>,
	options: LayerPolicyOptions = defaultLayerPolicyOptions,
): { plans: Map<string, ConsumerPlan>; commands: LayerCommand[] } {
	const plans = new Map<string, ConsumerPlan>();
	const commands: LayerCommand[] = [];
	for (const tile of tiles) {
		const before = previous.get(tile.consumerId);
		const plan = planConsumer(tile, before, options);
		plans.set(tile.consumerId, plan);
		commands.push(...planCommands(before, plan));
	}
	return { plans, commands };
}

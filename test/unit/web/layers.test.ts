import { describe, expect, it } from 'vitest';
import {
	chooseSpatialLayer,
	fixedSpatialLayer,
	layerHeight,
	planAll,
	planCommands,
	planConsumer,
	Priority,
	qualityChoices,
	type ConsumerPlan,
	type TileReport,
} from '../../../web/src/lib/layers.js';

const tile = (overrides: Partial<TileReport> = {}): TileReport => ({
	consumerId: 'c1',
	role: 'camera',
	width: 640,
	height: 360,
	visible: true,
	speaking: false,
	spatialLayers: 3,
	temporalLayers: 3,
	topLayerHeight: 720,
	...overrides,
});

describe('layerHeight', () => {
	it('halves per layer below the top (scaleResolutionDownBy 4/2/1)', () => {
		expect([0, 1, 2].map((l) => layerHeight(l, 3, 720))).toEqual([180, 360, 720]);
		expect(layerHeight(0, 1, 480)).toBe(480);
	});
});

describe('chooseSpatialLayer', () => {
	it('picks the lowest layer that fills the tile', () => {
		expect(chooseSpatialLayer(120, 3, 720, undefined)).toBe(0);
		expect(chooseSpatialLayer(180, 3, 720, undefined)).toBe(0);
		expect(chooseSpatialLayer(300, 3, 720, undefined)).toBe(1);
		expect(chooseSpatialLayer(360, 3, 720, undefined)).toBe(1);
		expect(chooseSpatialLayer(500, 3, 720, undefined)).toBe(2);
	});

	it('accepts slight upscaling (15 %) rather than the next layer up', () => {
		// 360 / 0.85 ≈ 423: a 420 px tile still takes the 360p layer.
		expect(chooseSpatialLayer(420, 3, 720, undefined)).toBe(1);
		expect(chooseSpatialLayer(430, 3, 720, undefined)).toBe(2);
	});

	it('takes the top layer when the tile is larger than every layer', () => {
		expect(chooseSpatialLayer(2000, 3, 720, undefined)).toBe(2);
	});

	it('has a single choice without simulcast', () => {
		expect(chooseSpatialLayer(50, 1, 720, undefined)).toBe(0);
		expect(chooseSpatialLayer(5000, 1, 720, undefined)).toBe(0);
	});

	it('goes down only to a layer that fills the tile without upscaling (hysteresis)', () => {
		// From layer 2, a 400 px tile would take layer 1 (upscaled 1.11×) when fresh, but stays.
		expect(chooseSpatialLayer(400, 3, 720, undefined)).toBe(1);
		expect(chooseSpatialLayer(400, 3, 720, 2)).toBe(2);
		// A clearly smaller tile goes down.
		expect(chooseSpatialLayer(350, 3, 720, 2)).toBe(1);
		expect(chooseSpatialLayer(100, 3, 720, 2)).toBe(0);
	});

	it('goes up as soon as the current layer is too small', () => {
		expect(chooseSpatialLayer(500, 3, 720, 0)).toBe(2);
	});

	it('ignores a previous layer that no longer exists', () => {
		expect(chooseSpatialLayer(100, 2, 720, 2)).toBe(0);
	});

	it('uses the real top height: a 480p camera needs its top layer for a 400 px tile', () => {
		expect(chooseSpatialLayer(400, 3, 480, undefined)).toBe(2);
		expect(chooseSpatialLayer(200, 3, 480, undefined)).toBe(1);
	});
});

describe('planConsumer', () => {
	it('pauses tiles that cannot be seen, and tiles of no size', () => {
		expect(planConsumer(tile({ visible: false }), undefined).paused).toBe(true);
		expect(planConsumer(tile({ width: 0, height: 0 }), undefined).paused).toBe(true);
		expect(planConsumer(tile(), undefined).paused).toBe(false);
	});

	it('gives thumbnails one temporal layer less, but not screen shares', () => {
		expect(planConsumer(tile({ height: 90, width: 160 }), undefined).temporalLayer).toBe(1);
		expect(planConsumer(tile({ height: 360 }), undefined).temporalLayer).toBe(2);
		expect(planConsumer(tile({ role: 'screen', height: 90, spatialLayers: 1 }), undefined).temporalLayer).toBe(2);
	});

	it('ranks screen over speaker over camera over thumbnail', () => {
		expect(planConsumer(tile({ role: 'screen' }), undefined).priority).toBe(Priority.screen);
		expect(planConsumer(tile({ speaking: true }), undefined).priority).toBe(Priority.speaker);
		expect(planConsumer(tile(), undefined).priority).toBe(Priority.camera);
		expect(planConsumer(tile({ height: 90 }), undefined).priority).toBe(Priority.thumbnail);
		expect(Priority.screen).toBeLessThanOrEqual(255);
		expect(Priority.thumbnail).toBeGreaterThanOrEqual(1);
	});

	it('assumes a 720p top layer until told otherwise', () => {
		expect(planConsumer(tile({ topLayerHeight: undefined, height: 300 }), undefined).spatialLayer).toBe(1);
	});
});

describe('planCommands', () => {
	const plan = (overrides: Partial<ConsumerPlan> = {}): ConsumerPlan => ({
		consumerId: 'c1',
		paused: false,
		spatialLayer: 1,
		temporalLayer: 2,
		priority: 100,
		...overrides,
	});

	it('sends layers and priority for a new visible consumer (the server resumed it on accept)', () => {
		expect(planCommands(undefined, plan())).toEqual([
			{ method: 'setConsumerPreferredLayers', data: { consumerId: 'c1', spatialLayer: 1, temporalLayer: 2 } },
			{ method: 'setConsumerPriority', data: { consumerId: 'c1', priority: 100 } },
		]);
	});

	it('only pauses a new consumer whose tile is hidden', () => {
		expect(planCommands(undefined, plan({ paused: true }))).toEqual([{ method: 'pauseConsumer', data: { consumerId: 'c1' } }]);
	});

	it('sends nothing when nothing changed', () => {
		expect(planCommands(plan(), plan())).toEqual([]);
		expect(planCommands(plan({ paused: true }), plan({ paused: true, spatialLayer: 2 }))).toEqual([]);
	});

	it('sends only what changed', () => {
		expect(planCommands(plan(), plan({ spatialLayer: 2 }))).toEqual([
			{ method: 'setConsumerPreferredLayers', data: { consumerId: 'c1', spatialLayer: 2, temporalLayer: 2 } },
		]);
		expect(planCommands(plan(), plan({ priority: 200 }))).toEqual([{ method: 'setConsumerPriority', data: { consumerId: 'c1', priority: 200 } }]);
	});

	it('on resume, sets layers and priority before resuming', () => {
		expect(planCommands(plan({ paused: true }), plan()).map((c) => c.method)).toEqual([
			'setConsumerPreferredLayers',
			'setConsumerPriority',
			'resumeConsumer',
		]);
	});
});

describe('planAll', () => {
	it('plans each tile against its previous plan and drops consumers without a report', () => {
		const first = planAll([tile({ consumerId: 'a' }), tile({ consumerId: 'b', visible: false })], new Map());
		expect([...first.plans.keys()]).toEqual(['a', 'b']);
		expect(first.commands.filter((c) => c.method === 'pauseConsumer')).toEqual([{ method: 'pauseConsumer', data: { consumerId: 'b' } }]);

		const second = planAll([tile({ consumerId: 'b', visible: true })], first.plans);
		expect([...second.plans.keys()]).toEqual(['b']);
		expect(second.commands.map((c) => c.method)).toEqual(['setConsumerPreferredLayers', 'setConsumerPriority', 'resumeConsumer']);
	});

	it('is stable: the same reports twice give no commands the second time', () => {
		const reports = [tile({ consumerId: 'a', height: 400 }), tile({ consumerId: 'b', height: 100 })];
		const first = planAll(reports, new Map());
		expect(planAll(reports, first.plans).commands).toEqual([]);
	});
});

describe('a viewer’s fixed quality', () => {
	const fixed = (choice: (typeof qualityChoices)[number]) => fixedSpatialLayer(choice);

	it('auto follows the tile; low, medium and high fix the spatial layer whatever the tile’s size', () => {
		expect(qualityChoices).toEqual(['auto', 'low', 'medium', 'high']);
		expect(fixed('auto')).toBeUndefined();
		// A small tile would get layer 0 on auto; a fixed high gets the top layer.
		expect(planConsumer(tile({ height: 150, width: 266 }), undefined).spatialLayer).toBe(0);
		expect(planConsumer(tile({ height: 150, width: 266, fixedSpatialLayer: fixed('high') }), undefined).spatialLayer).toBe(2);
		// A large tile would get the top layer on auto; a fixed low gets layer 0.
		expect(planConsumer(tile({ height: 1080, width: 1920 }), undefined).spatialLayer).toBe(2);
		expect(planConsumer(tile({ height: 1080, width: 1920, fixedSpatialLayer: fixed('low') }), undefined).spatialLayer).toBe(0);
		expect(planConsumer(tile({ fixedSpatialLayer: fixed('medium') }), undefined).spatialLayer).toBe(1);
	});

	it('is clamped to the layers the consumer offers', () => {
		expect(planConsumer(tile({ spatialLayers: 2, fixedSpatialLayer: fixed('high') }), undefined).spatialLayer).toBe(1);
		expect(planConsumer(tile({ spatialLayers: 1, fixedSpatialLayer: fixed('high') }), undefined).spatialLayer).toBe(0);
	});

	it('still pauses what cannot be seen, and keeps the full frame rate even for a small tile', () => {
		expect(planConsumer(tile({ visible: false, fixedSpatialLayer: 2 }), undefined).paused).toBe(true);
		expect(planConsumer(tile({ height: 90, width: 160, fixedSpatialLayer: 0 }), undefined).temporalLayer).toBe(2);
	});

	it('switching from auto to a fixed layer sends one setConsumerPreferredLayers, and back again', () => {
		const auto = planAll([tile({ height: 1080, width: 1920 })], new Map());
		const low = planAll([tile({ height: 1080, width: 1920, fixedSpatialLayer: 0 })], auto.plans);
		expect(low.commands).toEqual([{ method: 'setConsumerPreferredLayers', data: { consumerId: 'c1', spatialLayer: 0, temporalLayer: 2 } }]);
		const back = planAll([tile({ height: 1080, width: 1920 })], low.plans);
		expect(back.commands).toEqual([{ method: 'setConsumerPreferredLayers', data: { consumerId: 'c1', spatialLayer: 2, temporalLayer: 2 } }]);
	});
});

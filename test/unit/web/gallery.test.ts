import { describe, expect, it } from 'vitest';
import { galleryLayout } from '../../../web/src/lib/gallery.js';

describe('galleryLayout', () => {
	it('one tile fills the box at 16:9', () => {
		expect(galleryLayout(1, 1600, 900, 0)).toEqual({ columns: 1, rows: 1, tileWidth: 1600, tileHeight: 900 });
		expect(galleryLayout(1, 1000, 900, 0)).toMatchObject({ tileWidth: 1000, tileHeight: 562 });
	});

	it('two tiles side by side in a wide box, stacked in a tall one', () => {
		expect(galleryLayout(2, 1600, 600, 0)).toMatchObject({ columns: 2, rows: 1 });
		expect(galleryLayout(2, 600, 1200, 0)).toMatchObject({ columns: 1, rows: 2 });
	});

	it('three and four tiles in a 16:9 box make a 2×2 grid', () => {
		expect(galleryLayout(3, 1280, 720, 8)).toMatchObject({ columns: 2, rows: 2 });
		expect(galleryLayout(4, 1280, 720, 8)).toMatchObject({ columns: 2, rows: 2 });
	});

	it('the tiles and gaps always fit the box', () => {
		for (const count of [1, 2, 3, 5, 7, 10, 16, 25]) {
			for (const [w, h] of [[1280, 600], [390, 700], [1920, 1000]] as const) {
				const { columns, rows, tileWidth, tileHeight } = galleryLayout(count, w, h, 8);
				expect(columns * rows).toBeGreaterThanOrEqual(count);
				expect(columns * tileWidth + (columns - 1) * 8).toBeLessThanOrEqual(w);
				expect(rows * tileHeight + (rows - 1) * 8).toBeLessThanOrEqual(h);
				expect(tileWidth).toBeGreaterThan(0);
			}
		}
	});

	it('an empty or unmeasured box gives empty tiles', () => {
		expect(galleryLayout(0, 100, 100)).toMatchObject({ tileWidth: 0 });
		expect(galleryLayout(3, 0, 0)).toMatchObject({ tileWidth: 0, tileHeight: 0 });
	});
});

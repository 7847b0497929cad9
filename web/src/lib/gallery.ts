/** Gallery layout: how many columns make the largest tiles of a given aspect ratio fit a box. Pure. */

export type GalleryLayout = { columns: number; rows: number; tileWidth: number; tileHeight: number };

export function galleryLayout(count: number, width: number, height: number, gap = 8, aspect = 16 / 9): GalleryLayout {
	if (count <= 0 || width <= 0 || height <= 0) return { columns: 1, rows: 1, tileWidth: 0, tileHeight: 0 };
	let best: GalleryLayout = { columns: 1, rows: count, tileWidth: 0, tileHeight: 0 };
	for (let columns = 1; columns <= count; columns++) {
		const rows = Math.ceil(count / columns);
		const widthPerTile = (width - gap * (columns - 1)) / columns;
		const heightPerTile = (height - gap * (rows - 1)) / rows;
		const tileWidth = Math.max(Math.min(widthPerTile, heightPerTile * aspect), 0);
		// Strictly larger only: with equal tiles, fewer columns leave fewer empty cells.
		if (tileWidth > best.tileWidth) best = { columns, rows, tileWidth, tileHeight: tileWidth / aspect };
	}
	return {
		...best,
		tileWidth: Math.floor(best.tileWidth),
		tileHeight: Math.floor(best.tileHeight),
	};
}

import type { Box } from '../types.js';

/** The four numbers of a VOC `<bndbox>`: 1-based inclusive pixel indices (see src/data/types.ts). */
export interface VocBndbox {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

export function fromVocBndbox(b: VocBndbox): Box {
  return { x0: b.xmin - 1, y0: b.ymin - 1, x1: b.xmax, y1: b.ymax };
}

/**
 * Integer VOC coordinates for writing: box edges rounded to the nearest pixel edge. A box with positive extent
 * that is thinner than a pixel would round to nothing, and VOC's inclusive convention would then write
 * xmin = xmax + 1, which readers take for an empty or swapped box; it is kept one pixel wide instead.
 */
export function toVocBndbox(box: Box): VocBndbox {
  const [x0, x1] = roundEdges(box.x0, box.x1);
  const [y0, y1] = roundEdges(box.y0, box.y1);
  return { xmin: x0 + 1, ymin: y0 + 1, xmax: x1, ymax: y1 };
}

function roundEdges(lo: number, hi: number): [number, number] {
  const a = Math.round(lo);
  const b = Math.round(hi);
  return hi > lo && b <= a ? [a, a + 1] : [a, b];
}

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

/** Integer VOC coordinates for writing: box edges rounded to the nearest pixel edge. */
export function toVocBndbox(box: Box): VocBndbox {
  return {
    xmin: Math.round(box.x0) + 1,
    ymin: Math.round(box.y0) + 1,
    xmax: Math.round(box.x1),
    ymax: Math.round(box.y1),
  };
}

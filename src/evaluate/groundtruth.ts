/**
 * Ground truth of an explained class at the map's resolution: the image's ground-truth boxes of that class,
 * carried into the model's S×S input through the image's placement, and their mask.
 *
 * A source box [x0, x1) maps to [contentX + x0·cw/W, contentX + x1·cw/W) in input pixel edges (the inverse of
 * placement.ts's sampling rule sx = (c − contentX + 0.5)·W/cw), so `boxesToMask`'s "pixel centre inside" rule
 * marks exactly the input pixels whose source sample point lies in the box: the same pixels the training
 * masks use (raster.ts), except that a box too small to hold any sample point stays empty here (a metric
 * should not credit a map for a pixel that does not show the object).
 */
import type { Box } from '../data/types.js';
import { type BinaryMask, boxesToMask } from '../metrics/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { GROUND_TRUTH } from '../store/index.js';
import type { Placement } from '../training/data/placement.js';

/** Boxes in source pixel edges → input pixel edges. */
export function placeBoxes(boxes: readonly Box[], p: Placement): Box[] {
  const sx = p.contentWidth / p.srcWidth;
  const sy = p.contentHeight / p.srcHeight;
  return boxes.map((b) => ({
    x0: p.contentX + b.x0 * sx,
    y0: p.contentY + b.y0 * sy,
    x1: p.contentX + b.x1 * sx,
    y1: p.contentY + b.y1 * sy,
  }));
}

/** The image's ground-truth boxes of objects named `className` (none for a class without objects). */
export function classBoxes(store: Store, image: ImageRecord, className: string): Box[] {
  return store.objects
    .list(image.id, { source: GROUND_TRUTH })
    .filter(({ object }) => object.name === className)
    .map(({ object }) => object.box);
}

export interface GroundTruth {
  /** In input pixel edges. */
  boxes: Box[];
  /** S×S. */
  mask: BinaryMask;
}

export function groundTruth(sourceBoxes: readonly Box[], p: Placement): GroundTruth {
  const boxes = placeBoxes(sourceBoxes, p);
  return { boxes, mask: boxesToMask(boxes, p.size, p.size) };
}

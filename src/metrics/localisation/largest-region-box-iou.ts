/**
 * Box IoU of the largest explained region, XCNN's localisation (Tavanaei, "Embedded encoder-decoder in
 * convolutional networks towards explainable AI", Fig. 6: the heatmap thresholded at 0.5, the largest
 * contour's bounding box). Higher is better.
 *
 * Steps: pixels >= threshold (absolute, or the p-th percentile) → 8-connected regions → the largest by pixel
 * count (ties: the one with more relevance, then the first in raster order) → its bounding box in pixel-edge
 * coordinates → IoU with the ground truth, either the bounding box of all the class's boxes ('union') or the
 * best IoU over the boxes one by one ('best').
 *
 * No pixel on: 0. No ground-truth box: NaN.
 */

import { connectedRegions } from '../core/components.js';
import { defineMetric, requireRange } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';
import { boundingBox, boxIoU } from '../mask.js';
import { THRESHOLD_MODES, thresholdValue } from './common.js';

export type LargestRegionBoxIoUParams = {
  mode: string;
  threshold: number;
  percentile: number;
  groundTruth: string;
  normalise: string;
  abs: boolean;
};

export const largestRegionBoxIoU = defineMetric<LargestRegionBoxIoUParams>({
  name: 'largest-region-box-iou',
  family: 'localisation',
  higherIsBetter: true,
  reference:
    'Tavanaei, "Embedded encoder-decoder in convolutional networks towards explainable AI" (XCNN), Fig. 6',
  defaults: {
    mode: 'absolute',
    threshold: 0.5,
    percentile: 90,
    groundTruth: 'union',
    normalise: 'none',
    abs: false,
  },
  choices: { mode: THRESHOLD_MODES, groundTruth: ['union', 'best'], normalise: NORMALISATIONS },
  requires: ['boxes'],
  validate: (p) => requireRange('largest-region-box-iou', 'percentile', p.percentile, 0, 100),
  compute(input, params) {
    const boxes = input.boxes!;
    if (boxes.length === 0) return { value: Number.NaN, note: 'no ground-truth box of the class' };
    const { width, height } = input.map;
    const values = prepare(
      'largest-region-box-iou',
      input.map.data,
      params.abs,
      params.normalise as Normalisation,
    );
    const t = thresholdValue(values, params.mode, params.threshold, params.percentile);
    const on = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) on[i] = values[i] >= t ? 1 : 0;
    const regions = connectedRegions(on, width, height, values);
    if (regions.length === 0)
      return { value: 0, note: 'no pixel reaches the threshold', details: { threshold: t } };
    const largest = regions.reduce((best, r) =>
      r.size > best.size || (r.size === best.size && r.mass > best.mass) ? r : best,
    );
    const value =
      params.groundTruth === 'union'
        ? boxIoU(largest.box, boundingBox(boxes)!)
        : Math.max(...boxes.map((b) => boxIoU(largest.box, b)));
    return {
      value,
      details: { threshold: t, regionBox: largest.box, regionSize: largest.size, regions: regions.length },
    };
  },
});

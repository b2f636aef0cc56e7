/**
 * IoU of the thresholded map with the ground-truth mask (the union of the class's boxes). Higher is better.
 *
 * The default, an absolute threshold of 0.75 on the map as it is, is the display threshold of Rio-Torto et al.
 * ("Towards a joint approach to produce decisions and explanations using CNNs", IbPRIA 2019), whose explainer
 * outputs values in [0, 1]. mode 'percentile' thresholds at the p-th percentile of the map instead (p = 90:
 * about the top 10 % of pixels), which makes maps on different scales comparable. A pixel is on when its value
 * is >= the threshold.
 *
 * No pixel on: IoU 0 (the explanation localises nothing). Empty mask: NaN.
 */
import { defineMetric, EMPTY_MASK, requireRange } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';
import { checkMask, maskCount } from '../core/validate.js';
import { THRESHOLD_MODES, thresholdValue } from './common.js';

export type ThresholdIoUParams = {
  mode: string;
  threshold: number;
  percentile: number;
  normalise: string;
  abs: boolean;
};

export function maskIoU(on: ArrayLike<number>, mask: ArrayLike<number>): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < mask.length; i++) {
    const a = on[i] !== 0;
    const b = mask[i] !== 0;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union === 0 ? Number.NaN : inter / union;
}

export const thresholdIoU = defineMetric<ThresholdIoUParams>({
  name: 'threshold-iou',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Rio-Torto et al. 2019, IbPRIA (display threshold 0.75)',
  defaults: { mode: 'absolute', threshold: 0.75, percentile: 90, normalise: 'none', abs: false },
  choices: { mode: THRESHOLD_MODES, normalise: NORMALISATIONS },
  requires: ['mask'],
  validate: (p) => requireRange('threshold-iou', 'percentile', p.percentile, 0, 100),
  compute(input, params) {
    const mask = input.mask!;
    checkMask('threshold-iou', mask, input.map);
    if (maskCount(mask) === 0) return EMPTY_MASK;
    const values = prepare('threshold-iou', input.map.data, params.abs, params.normalise as Normalisation);
    const t = thresholdValue(values, params.mode, params.threshold, params.percentile);
    const on = new Uint8Array(values.length);
    let count = 0;
    for (let i = 0; i < values.length; i++) {
      if (values[i] >= t) {
        on[i] = 1;
        count++;
      }
    }
    return { value: maskIoU(on, mask.data), details: { threshold: t, pixelsOn: count } };
  },
});

/**
 * Relevance mass accuracy (Arras et al., "CLEVR-XAI: a benchmark dataset for the ground truth evaluation of
 * neural network explanations", Inf. Fusion 81, 2022), Quantus's `RelevanceMassAccuracy`: the share of the
 * map's total relevance that lies in the mask. Higher is better; 1 = all relevance on the object.
 *
 * - As Quantus's code, raw values by default (abs = false). With negative values the ratio can leave [0, 1];
 *   `positiveOnly` sums only positive relevance inside and in total (the paper's reading, and Quantus's
 *   docstring's), which keeps it in [0, 1].
 * - A map whose (counted) relevance sums to 0 (e.g. all zeros): NaN, note says so. Empty mask: NaN.
 * - Constant non-zero map: |mask| / N.
 */
import { defineMetric, EMPTY_MASK } from '../core/define.js';
import { maskedMap } from './common.js';

export type RelevanceMassAccuracyParams = {
  abs: boolean;
  positiveOnly: boolean;
};

export function relevanceMass(values: ArrayLike<number>, mask: Uint8Array, positiveOnly: boolean): number {
  let within = 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = positiveOnly ? Math.max(0, values[i]) : values[i];
    total += v;
    if (mask[i] !== 0) within += v;
  }
  return total === 0 ? Number.NaN : within / total;
}

export const relevanceMassAccuracy = defineMetric<RelevanceMassAccuracyParams>({
  name: 'relevance-mass-accuracy',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Arras et al. 2022, Inf. Fusion 81:14-40; Quantus RelevanceMassAccuracy',
  defaults: { abs: false, positiveOnly: false },
  requires: ['mask'],
  compute(input, params) {
    const m = maskedMap('relevance-mass-accuracy', input, params.abs);
    if (!m) return EMPTY_MASK;
    const value = relevanceMass(m.values, m.mask, params.positiveOnly);
    return Number.isNaN(value)
      ? { value, note: 'the map has no relevance to share out (sums to 0)' }
      : { value };
  },
});

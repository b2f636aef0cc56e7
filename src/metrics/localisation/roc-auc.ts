/**
 * ROC-AUC of the map as a score of mask membership (Fawcett 2006; Quantus's `AUC`): the probability that a
 * random object pixel has higher relevance than a random background pixel, ties counting one half (exact, by
 * midranks: the same number as the trapezoid through sklearn's roc_curve). Higher is better; 0.5 = chance.
 *
 * Constant map: 0.5. Empty mask, or a mask covering the whole image (no background to rank against): NaN.
 */
import { defineMetric, EMPTY_MASK } from '../core/define.js';
import { rocAuc } from '../core/stats.js';
import { maskedMap } from './common.js';

export type RocAucParams = {
  abs: boolean;
};

export const rocAucMetric = defineMetric<RocAucParams>({
  name: 'roc-auc',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Fawcett 2006, Pattern Recognit. Lett. 27(8):861-874; Quantus AUC',
  defaults: { abs: false },
  requires: ['mask'],
  compute(input, params) {
    const m = maskedMap('roc-auc', input, params.abs);
    if (!m) return EMPTY_MASK;
    if (m.inside === m.values.length) return { value: Number.NaN, note: 'the mask covers the whole image' };
    return { value: rocAuc(m.values, m.mask) };
  },
});

/**
 * Relevance rank accuracy (Arras et al. 2022, CLEVR-XAI), Quantus's `RelevanceRankAccuracy`: with K = |mask|,
 * the share of the K highest-relevance pixels that lie in the mask. Higher is better; 1 = the top-K pixels are
 * exactly the object.
 *
 * Differs from Quantus only on ties at the K-th place, which Quantus leaves to numpy's sort order: here they
 * count by expectation (see core/topk.ts), so a constant map scores |mask| / N, the chance level.
 * Empty mask: NaN.
 */
import { defineMetric, EMPTY_MASK } from '../core/define.js';
import { expectedTopKHits } from '../core/topk.js';
import { maskedMap } from './common.js';

export type RelevanceRankAccuracyParams = {
  abs: boolean;
};

export const relevanceRankAccuracy = defineMetric<RelevanceRankAccuracyParams>({
  name: 'relevance-rank-accuracy',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Arras et al. 2022, Inf. Fusion 81:14-40; Quantus RelevanceRankAccuracy',
  defaults: { abs: false },
  requires: ['mask'],
  compute(input, params) {
    const m = maskedMap('relevance-rank-accuracy', input, params.abs);
    if (!m) return EMPTY_MASK;
    return { value: expectedTopKHits(m.values, m.mask, m.inside) / m.inside };
  },
});

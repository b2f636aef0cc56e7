/**
 * Top-k intersection (Theiner et al., "Interpretable semantic photo geolocation", WACV 2022), Quantus's
 * `TopKIntersection`: the share of the k highest-relevance pixels that lie in the mask. Higher is better.
 *
 * - conceptInfluence (Quantus): multiply by N / |mask|, so 1 means chance level for the object's size.
 * - Ties at the k-th place count by expectation (core/topk.ts), where Quantus follows numpy's sort order.
 * - k larger than the map: refused with a message (Quantus asserts the same). Empty mask: NaN.
 */
import { defineMetric, EMPTY_MASK, requireInteger } from '../core/define.js';
import { expectedTopKHits } from '../core/topk.js';
import { maskedMap } from './common.js';

export type TopKIntersectionParams = {
  k: number;
  conceptInfluence: boolean;
  abs: boolean;
};

export const topKIntersection = defineMetric<TopKIntersectionParams>({
  name: 'top-k-intersection',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Theiner et al. 2022, WACV; Quantus TopKIntersection',
  defaults: { k: 1000, conceptInfluence: false, abs: false },
  requires: ['mask'],
  validate: (p) => requireInteger('top-k-intersection', 'k', p.k, 1),
  compute(input, params) {
    const n = input.map.data.length;
    if (params.k > n) {
      throw new Error(`top-k-intersection: k = ${params.k} exceeds the map's ${n} pixels; choose k <= ${n}`);
    }
    const m = maskedMap('top-k-intersection', input, params.abs);
    if (!m) return EMPTY_MASK;
    let value = expectedTopKHits(m.values, m.mask, params.k) / params.k;
    if (params.conceptInfluence) value *= n / m.inside;
    return { value };
  },
});

/**
 * Complexity (Bhatt, Weller & Moura, "Evaluating and aggregating feature-based model explanations",
 * IJCAI 2020), Quantus's `Complexity`: the Shannon entropy (natural log) of the relevance distribution
 * p_i = |a_i| / Σ|a|. Lower is better: 0 when one pixel holds everything, ln N for a constant map.
 * An all-zero map has no distribution: NaN, with a note.
 */
import { defineMetric } from '../core/define.js';
import { prepare } from '../core/normalise.js';

export type ComplexityParams = {
  abs: boolean;
};

export function entropy(weights: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] < 0) throw new Error('entropy: weights must be >= 0 (use abs)');
    total += weights[i];
  }
  if (total === 0) return Number.NaN;
  let h = 0;
  for (let i = 0; i < weights.length; i++) {
    const p = weights[i] / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

export const complexity = defineMetric<ComplexityParams>({
  name: 'complexity',
  family: 'complexity',
  higherIsBetter: false,
  reference: 'Bhatt et al. 2020, IJCAI (arXiv:2005.00631); Quantus Complexity',
  defaults: { abs: true },
  requires: [],
  compute(input, params) {
    const values = prepare('complexity', input.map.data, params.abs, 'none');
    if (!params.abs && values.some((v) => v < 0)) {
      throw new Error('complexity: the map has negative values; entropy needs abs = true');
    }
    const value = entropy(values);
    return Number.isNaN(value) ? { value, note: 'the map is all zeros: no distribution' } : { value };
  },
});

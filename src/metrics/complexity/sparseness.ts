/**
 * Sparseness (Chalasani et al., "Concise explanations of neural networks using adversarial training",
 * ICML 2020), Quantus's `Sparseness`: the Gini index of |map|,
 *   G = Σ_i (2i − n − 1)·a_(i) / (n · Σ a),   a sorted ascending, i = 1..n,
 * with 1e-7 added to every value first, as Quantus does, so an all-zero map is defined (it scores 0, like a
 * constant one). Higher is better: near 1 when a few pixels hold all the relevance.
 */
import { defineMetric } from '../core/define.js';
import { prepare } from '../core/normalise.js';

export type SparsenessParams = {
  abs: boolean;
};

export function gini(values: ArrayLike<number>): number {
  const a = Float64Array.from(values, (v) => v + 1e-7).sort();
  const n = a.length;
  let weighted = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    weighted += (2 * (i + 1) - n - 1) * a[i];
    total += a[i];
  }
  return weighted / (n * total);
}

export const sparseness = defineMetric<SparsenessParams>({
  name: 'sparseness',
  family: 'complexity',
  higherIsBetter: true,
  reference: 'Chalasani et al. 2020, ICML; Quantus Sparseness',
  defaults: { abs: true },
  requires: [],
  compute(input, params) {
    return { value: gini(prepare('sparseness', input.map.data, params.abs, 'none')) };
  },
});

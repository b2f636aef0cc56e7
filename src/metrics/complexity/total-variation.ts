/**
 * Total variation of the map (Rudin, Osher & Fatemi 1992; the contiguity term of Rio-Torto et al.'s loss, and
 * of src/training/losses.ts): anisotropic, |vertical differences| plus |horizontal differences|.
 * reduction 'mean' (the loss's definition): mean over the vertical pairs plus mean over the horizontal pairs;
 * 'sum': the plain sums. A direction with no pairs (a map one pixel high or wide) contributes 0.
 * Lower is better: a smooth, contiguous explanation.
 */
import { defineMetric } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';

export type TotalVariationParams = {
  reduction: string;
  normalise: string;
  abs: boolean;
};

export function totalVariation(
  values: ArrayLike<number>,
  width: number,
  height: number,
  reduction: string,
): number {
  let down = 0;
  let right = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[y * width + x];
      if (y + 1 < height) down += Math.abs(values[(y + 1) * width + x] - v);
      if (x + 1 < width) right += Math.abs(values[y * width + x + 1] - v);
    }
  }
  if (reduction === 'sum') return down + right;
  const downPairs = (height - 1) * width;
  const rightPairs = height * (width - 1);
  return (downPairs > 0 ? down / downPairs : 0) + (rightPairs > 0 ? right / rightPairs : 0);
}

export const totalVariationMetric = defineMetric<TotalVariationParams>({
  name: 'total-variation',
  family: 'complexity',
  higherIsBetter: false,
  reference: 'Rudin et al. 1992, Physica D 60:259-268; Rio-Torto et al. 2020 (contiguity loss)',
  defaults: { reduction: 'mean', normalise: 'none', abs: false },
  choices: { reduction: ['mean', 'sum'], normalise: NORMALISATIONS },
  requires: [],
  compute(input, params) {
    const { width, height, data } = input.map;
    const values = prepare('total-variation', data, params.abs, params.normalise as Normalisation);
    return { value: totalVariation(values, width, height, params.reduction) };
  },
});

/**
 * Fraction of the image explained: the share of pixels whose value is strictly above `threshold` (after the
 * optional normalisation). Descriptive rather than a quality score; registered as lower-is-better because a
 * smaller share means a more compact explanation (the explanation budget of Rio-Torto et al.'s L1 term).
 * With threshold 0 and a non-negative map it is the share of non-zero pixels.
 */
import { defineMetric } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';

export type FractionExplainedParams = {
  threshold: number;
  normalise: string;
  abs: boolean;
};

export const fractionExplained = defineMetric<FractionExplainedParams>({
  name: 'fraction-explained',
  family: 'complexity',
  higherIsBetter: false,
  reference: 'Rio-Torto et al. 2020, Pattern Recognit. Lett. 133 (explanation budget)',
  defaults: { threshold: 0.5, normalise: 'none', abs: false },
  choices: { normalise: NORMALISATIONS },
  requires: [],
  compute(input, params) {
    const values = prepare(
      'fraction-explained',
      input.map.data,
      params.abs,
      params.normalise as Normalisation,
    );
    let above = 0;
    for (let i = 0; i < values.length; i++) if (values[i] > params.threshold) above++;
    return { value: above / values.length };
  },
});

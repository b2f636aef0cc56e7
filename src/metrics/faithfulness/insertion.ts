/**
 * Insertion (Petsiuk et al., "RISE", BMVC 2018): the area under the target score as the most relevant pixels
 * are put back first onto the baseline (RISE starts from a blurred image; the default here is a box blur of
 * radius 5, close to RISE's 11-pixel Gaussian). Higher is better. Curve details: see pixel-curve.ts.
 */
import { defineMetric } from '../core/define.js';
import { PERTURBATION_CHOICES, validatePerturbation } from './common.js';
import { type PixelCurveParams, pixelCurve, validateStep } from './pixel-curve.js';

export type InsertionParams = PixelCurveParams;

export const insertion = defineMetric<InsertionParams>({
  name: 'insertion',
  family: 'faithfulness',
  higherIsBetter: true,
  reference: 'Petsiuk et al. 2018, BMVC (RISE), insertion metric',
  defaults: {
    stepFraction: 0.01,
    fill: 'blur',
    valueMin: 0,
    valueMax: 1,
    blurRadius: 5,
    seed: 0,
    score: 'probability',
    batchSize: 16,
    abs: false,
  },
  choices: PERTURBATION_CHOICES,
  requires: ['image', 'model', 'target'],
  validate: (p) => {
    validatePerturbation('insertion', p);
    validateStep('insertion', p.stepFraction);
  },
  async compute(input, params, options) {
    const curve = await pixelCurve('insertion', 'insertion', input, params, options);
    return { value: curve.auc, details: { fractions: curve.fractions, scores: curve.scores } };
  },
});

/**
 * Deletion (Petsiuk et al., "RISE: randomized input sampling for explanation of black-box models", BMVC 2018):
 * the area under the target score as the most relevant pixels are removed first (replaced by the fill; RISE
 * uses black). Lower is better: a faithful map names the pixels whose loss kills the score soonest.
 * Curve details: see pixel-curve.ts. A constant map deletes in row-major order.
 */
import { defineMetric } from '../core/define.js';
import { PERTURBATION_CHOICES, validatePerturbation } from './common.js';
import { type PixelCurveParams, pixelCurve, validateStep } from './pixel-curve.js';

export type DeletionParams = PixelCurveParams;

export const deletion = defineMetric<DeletionParams>({
  name: 'deletion',
  family: 'faithfulness',
  higherIsBetter: false,
  reference: 'Petsiuk et al. 2018, BMVC (RISE), deletion metric',
  defaults: {
    stepFraction: 0.01,
    fill: 'black',
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
    validatePerturbation('deletion', p);
    validateStep('deletion', p.stepFraction);
  },
  async compute(input, params, options) {
    const curve = await pixelCurve('deletion', 'deletion', input, params, options);
    return { value: curve.auc, details: { fractions: curve.fractions, scores: curve.scores } };
  },
});

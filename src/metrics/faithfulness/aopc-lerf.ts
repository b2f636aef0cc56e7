/**
 * AOPC, LeRF (Samek et al. 2017, IEEE TNNLS 28(11):2660-2673; Quantus RegionPerturbation with order
 * "lerf"). Least relevant first; lower is better: removing what the map calls irrelevant should barely move the score.
 * Patches, layouts, fills and the formula: see region-perturbation.ts. Details carry the drop curve and the
 * patches perturbed.
 */
import { defineMetric } from '../core/define.js';
import { PERTURBATION_CHOICES, validatePerturbation } from './common.js';
import {
  LAYOUTS,
  REGION_DEFAULTS,
  type RegionPerturbationParams,
  regionPerturbation,
  validateRegions,
} from './region-perturbation.js';

export const aopcLeRF = defineMetric<RegionPerturbationParams>({
  name: 'aopc-lerf',
  family: 'faithfulness',
  higherIsBetter: false,
  reference: 'Samek et al. 2017, IEEE TNNLS 28(11):2660-2673; Quantus RegionPerturbation (order=lerf)',
  defaults: REGION_DEFAULTS,
  choices: { ...PERTURBATION_CHOICES, layout: LAYOUTS },
  requires: ['image', 'model', 'target'],
  validate: (p) => {
    validatePerturbation('aopc-lerf', p);
    validateRegions('aopc-lerf', p);
  },
  async compute(input, params, options) {
    const curve = await regionPerturbation('aopc-lerf', 'lerf', input, params, options);
    return { value: curve.aopc, details: { drops: curve.drops, patches: curve.patches } };
  },
});

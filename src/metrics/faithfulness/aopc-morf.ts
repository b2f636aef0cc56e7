/**
 * AOPC, MoRF (Samek et al. 2017, IEEE TNNLS 28(11):2660-2673; Quantus RegionPerturbation with order
 * "morf"). Most relevant first; higher is better: a faithful map's top patches make the score drop soonest.
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

export const aopcMoRF = defineMetric<RegionPerturbationParams>({
  name: 'aopc-morf',
  family: 'faithfulness',
  higherIsBetter: true,
  reference: 'Samek et al. 2017, IEEE TNNLS 28(11):2660-2673; Quantus RegionPerturbation (order=morf)',
  defaults: REGION_DEFAULTS,
  choices: { ...PERTURBATION_CHOICES, layout: LAYOUTS },
  requires: ['image', 'model', 'target'],
  validate: (p) => {
    validatePerturbation('aopc-morf', p);
    validateRegions('aopc-morf', p);
  },
  async compute(input, params, options) {
    const curve = await regionPerturbation('aopc-morf', 'morf', input, params, options);
    return { value: curve.aopc, details: { drops: curve.drops, patches: curve.patches } };
  },
});

/**
 * Attribution localisation (Kohlbrenner et al., "Towards best practice in explaining neural network decisions
 * with LRP", IJCNN 2020), Quantus's `AttributionLocalisation`: μ = R_in / R_tot, the share of (by default
 * absolute) relevance inside the mask. Higher is better.
 *
 * - weighted: Quantus's variant, μ · |mask| / N. (The paper motivates weighting by object size so that large
 *   objects do not win by chance; Quantus multiplies by the size ratio, and that is what is reproduced here.)
 * - maxSize: images whose mask covers more than this share of the image are skipped (NaN, with a note), as
 *   Quantus does for objects too large to say anything.
 * - R_in / R_tot > 1 (possible with abs = false and negative relevance): NaN with a note, as Quantus.
 * - R_tot = 0 (an all-zero map): NaN. Empty mask: NaN.
 */
import { defineMetric, EMPTY_MASK, requireRange } from '../core/define.js';
import { maskedMap } from './common.js';

export type AttributionLocalisationParams = {
  weighted: boolean;
  maxSize: number;
  abs: boolean;
};

export const attributionLocalisation = defineMetric<AttributionLocalisationParams>({
  name: 'attribution-localisation',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Kohlbrenner et al. 2020, IJCNN (arXiv:1910.09840); Quantus AttributionLocalisation',
  defaults: { weighted: false, maxSize: 1, abs: true },
  requires: ['mask'],
  validate: (p) => requireRange('attribution-localisation', 'maxSize', p.maxSize, 0, 1),
  compute(input, params) {
    const m = maskedMap('attribution-localisation', input, params.abs);
    if (!m) return EMPTY_MASK;
    const ratio = m.inside / m.values.length;
    if (ratio > params.maxSize) {
      return { value: Number.NaN, note: `the mask covers ${ratio.toFixed(3)} of the image, above maxSize` };
    }
    let inside = 0;
    let total = 0;
    for (let i = 0; i < m.values.length; i++) {
      total += m.values[i];
      if (m.mask[i] !== 0) inside += m.values[i];
    }
    if (total === 0) return { value: Number.NaN, note: 'the map has no relevance (sums to 0)' };
    const mu = inside / total;
    if (mu > 1)
      return { value: Number.NaN, note: 'inside relevance exceeds the total (negative relevance outside)' };
    return { value: params.weighted ? mu * ratio : mu };
  },
});

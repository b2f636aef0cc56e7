/**
 * POMPOM, "Percentage of Meaningful Pixels Outside the Mask" (Rio-Torto, Fernandes & Teixeira, "Understanding
 * the decisions of CNNs: an in-model approach", Pattern Recognit. Lett. 133, 2020; defined in the authors' code
 * README, github.com/icrto/xML): among the pixels outside the ground-truth mask, the share whose explanation
 * value exceeds ε ("meaningful"). Lower is better; 0 = nothing explained outside the object.
 *
 * The authors write Σ[(1 − z)·ẑ > ε] / (Σ[(1 − z) > ε] + ε) with ε ≈ 1e-6 guarding the division; here the
 * share is exact and a mask covering the whole image (no pixel outside) gives 0, which is what their formula
 * tends to. `epsilon` is the activation threshold. Empty mask: NaN (no object to be outside of).
 */
import { defineMetric, EMPTY_MASK } from '../core/define.js';
import { maskedMap } from './common.js';

export type PompomParams = {
  epsilon: number;
  abs: boolean;
};

export const pompom = defineMetric<PompomParams>({
  name: 'pompom',
  family: 'localisation',
  higherIsBetter: false,
  reference: 'Rio-Torto et al. 2020, Pattern Recognit. Lett. 133:373-380; github.com/icrto/xML README',
  defaults: { epsilon: 1e-6, abs: false },
  requires: ['mask'],
  compute(input, params) {
    const m = maskedMap('pompom', input, params.abs);
    if (!m) return EMPTY_MASK;
    const outside = m.values.length - m.inside;
    if (outside === 0) return { value: 0, note: 'the mask covers the whole image' };
    let meaningful = 0;
    for (let i = 0; i < m.values.length; i++)
      if (m.mask[i] === 0 && m.values[i] > params.epsilon) meaningful++;
    return { value: meaningful / outside };
  },
});

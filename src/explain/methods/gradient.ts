/**
 * Plain gradient methods: saliency (Simonyan et al. 2014) and input × gradient (Shrikumar et al. 2016). The
 * gradient is taken through the whole model w.r.t. the image (see index.ts for what that means per kind).
 */
import { tf } from '../../engine/tf.js';
import { checkOneOf } from '../checks.js';
import { defineMethod } from '../run.js';
import { inputGradient, oneHotRows, REDUCTIONS, type Reduction, reduceChannels } from '../tensor.js';

export const GRADIENT_MODES = ['abs', 'signed'] as const;
export type GradientMode = (typeof GRADIENT_MODES)[number];

/** |g| or g, then the channel reduction. */
export function finishGradient(g: tf.Tensor4D, mode: GradientMode, reduce: Reduction): tf.Tensor3D {
  return reduceChannels(mode === 'abs' ? tf.abs(g) : g, reduce);
}

export const gradient = defineMethod({
  name: 'gradient',
  family: 'gradient',
  description: 'saliency: |∂score/∂x| (or signed), max over channels by default (Simonyan et al. 2014)',
  classSpecific: true,
  defaults: { mode: 'abs' as GradientMode, reduce: 'max' as Reduction },
  check: (p, where) => {
    checkOneOf(p.mode, 'mode', where, GRADIENT_MODES);
    checkOneOf(p.reduce, 'reduce', where, REDUCTIONS);
  },
  async run({ model, x, classes, params }) {
    const map = tf.tidy(() =>
      finishGradient(inputGradient(model, x, oneHotRows(classes, model.classes)), params.mode, params.reduce),
    );
    return { map };
  },
});

export const inputTimesGradient = defineMethod({
  name: 'input_x_gradient',
  family: 'gradient',
  description: 'input × gradient, summed over channels by default (Shrikumar et al. 2016)',
  classSpecific: true,
  defaults: { reduce: 'sum' as Reduction },
  check: (p, where) => checkOneOf(p.reduce, 'reduce', where, REDUCTIONS),
  async run({ model, x, classes, params }) {
    const map = tf.tidy(() =>
      reduceChannels(tf.mul(x, inputGradient(model, x, oneHotRows(classes, model.classes))), params.reduce),
    );
    return { map };
  },
});

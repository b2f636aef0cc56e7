/**
 * Diffusion d_k (Rieger, "Separable explanations of neural network decisions", NIPS 2017 workshop, eq. 7):
 *   d_k = 1/N Σ_n ‖R_{n,c1} − R_{n,c2}‖_F,
 * c1 and c2 the classes with the highest and second-highest output for image n. This metric returns the
 * per-image term ‖R_c1 − R_c2‖_F; its mean over images (summarise(values).mean) IS d_k — the paper's d_k and
 * "the mean Frobenius norm between the maps of the two top classes" are the same quantity. Higher is better:
 * the two classes' explanations differ (less diffusion).
 *
 * The top two classes come from one model call on the image (raw outputs: softmax keeps the order); equal
 * scores keep the lower class index first. The maps are compared as the explainer returns them (the paper
 * does not normalise); `normalise` makes methods with different scales comparable. `input.map` is reused
 * when the target is one of the two classes.
 */
import { defineMetric } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';
import { checkImage, checkSameSize } from '../core/validate.js';
import type { ScalarMap } from '../types.js';

export type DiffusionParams = {
  normalise: string;
  abs: boolean;
};

export function frobeniusDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`frobeniusDistance: sizes differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

export const diffusion = defineMetric<DiffusionParams>({
  name: 'diffusion',
  family: 'separability',
  higherIsBetter: true,
  reference: 'Rieger 2017, "Separable explanations of neural network decisions", eq. 7',
  defaults: { normalise: 'none', abs: false },
  choices: { normalise: NORMALISATIONS },
  requires: ['image', 'model', 'explain'],
  async compute(input, params, options) {
    const metric = 'diffusion';
    const image = input.image!;
    checkImage(metric, image, input.map);
    options.signal?.throwIfAborted();
    const [scores] = await input.model!.predict([image.data], image.width, image.height, image.channels);
    if (!(scores instanceof Float32Array) || scores.length < 2) {
      throw new Error(
        `${metric}: the model must return at least 2 class scores, got ${scores?.length ?? 'none'}`,
      );
    }
    const ranked = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
    const [c1, c2] = ranked;
    const mapOf = async (c: number): Promise<ScalarMap> => {
      if (c === input.target) return input.map;
      const m = await input.explain!(image, c, options.signal);
      checkSameSize(metric, input.map, m, `the explanation of class ${c}`);
      return m;
    };
    const r1 = await mapOf(c1);
    const r2 = await mapOf(c2);
    const norm = params.normalise as Normalisation;
    const value = frobeniusDistance(
      prepare(metric, r1.data, params.abs, norm),
      prepare(metric, r2.data, params.abs, norm),
    );
    return { value, details: { classes: [c1, c2] } };
  },
});

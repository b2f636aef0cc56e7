/**
 * Random logit (Sixt, Granz & Landgraf, "When explanations lie: why many modified BP attributions fail",
 * ICML 2020), Quantus's `RandomLogit`: the similarity between the explanation of the target class and the
 * explanation of a randomly chosen other class of the same image. Lower is better: an explanation that looks
 * the same whatever class it is asked about is not class-sensitive.
 *
 * Defaults as Quantus: SSIM (core/ssim.ts) of maps normalised by max |v|, seed 42. The other class is drawn
 * uniformly from the classes other than the target with the seeded generator (with two classes it is simply
 * the other one); it is returned in the details.
 */
import { Random } from '../../util/random.js';
import { defineMetric } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';
import { SIMILARITIES, type Similarity, similarity } from '../core/similarity.js';
import { checkClass, checkImage, checkSameSize } from '../core/validate.js';

export type RandomLogitParams = {
  similarity: string;
  seed: number;
  abs: boolean;
  normalise: string;
};

export const randomLogit = defineMetric<RandomLogitParams>({
  name: 'random-logit',
  family: 'randomisation',
  higherIsBetter: false,
  reference: 'Sixt et al. 2020, ICML; Quantus RandomLogit',
  defaults: { similarity: 'ssim', seed: 42, abs: false, normalise: 'max-abs' },
  choices: { similarity: SIMILARITIES, normalise: NORMALISATIONS },
  requires: ['image', 'target', 'explain', 'numClasses'],
  validate: (p) => {
    if (!Number.isSafeInteger(p.seed))
      throw new Error(`random-logit: parameter "seed" must be a safe integer, got ${p.seed}`);
  },
  async compute(input, params, options) {
    const metric = 'random-logit';
    const numClasses = input.numClasses!;
    const target = input.target!;
    if (!Number.isInteger(numClasses) || numClasses < 2) {
      throw new Error(`${metric}: needs at least 2 classes, got numClasses = ${numClasses}`);
    }
    checkClass(metric, target, numClasses);
    checkImage(metric, input.image!, input.map);
    const others = Array.from({ length: numClasses - 1 }, (_, i) => (i < target ? i : i + 1));
    const otherClass = new Random(params.seed).pick(others);
    const other = await input.explain!(input.image!, otherClass, options.signal);
    checkSameSize(metric, input.map, other, `the explanation of class ${otherClass}`);
    const norm = params.normalise as Normalisation;
    const a = prepare(metric, input.map.data, params.abs, norm);
    const b = prepare(metric, other.data, params.abs, norm);
    const value = similarity(params.similarity as Similarity, a, b, input.map.width, input.map.height);
    const details = { otherClass };
    return Number.isNaN(value)
      ? { value, details, note: 'similarity undefined: one of the maps is constant' }
      : { value, details };
  },
});

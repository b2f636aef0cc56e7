/**
 * Faithfulness correlation (Bhatt, Weller & Moura, "Evaluating and aggregating feature-based model
 * explanations", IJCAI 2020), Quantus's `FaithfulnessCorrelation`: over `runs` random subsets of `subsetSize`
 * pixels, the Pearson correlation between the relevance summed over the subset and the score drop
 * f(x) − f(x with the subset replaced by the fill). Higher is better (up to 1).
 *
 * - Subsets: drawn without replacement from the seeded generator (src/util/random.ts), so a run is repeatable.
 * - The 'noise' fill draws ONE noise image per run of the metric (Quantus draws fresh noise per perturbation),
 *   so the only randomness between subsets is which pixels are chosen.
 * - Defaults as Quantus: 100 runs, 224 pixels, black, raw scores (Quantus's softmax=False).
 * - NaN when the drops or the sums do not vary (e.g. a model that ignores the pixels, or a constant map):
 *   the correlation is undefined there; the note says which.
 */
import { Random } from '../../util/random.js';
import { defineMetric, requireInteger } from '../core/define.js';
import { scoreImages } from '../core/model.js';
import { prepare } from '../core/normalise.js';
import { baselineImage, replacePixels } from '../core/perturb.js';
import { pearson } from '../core/stats.js';
import { modelSetup, PERTURBATION_CHOICES, type PerturbationParams, validatePerturbation } from './common.js';

export type FaithfulnessCorrelationParams = PerturbationParams & {
  runs: number;
  subsetSize: number;
};

/** `count` distinct indices in [0, n), by a partial Fisher-Yates shuffle of a scratch array. */
function drawSubset(rng: Random, scratch: Uint32Array, count: number): Uint32Array {
  for (let i = 0; i < count; i++) {
    const j = rng.int(i, scratch.length - 1);
    const t = scratch[i];
    scratch[i] = scratch[j];
    scratch[j] = t;
  }
  return scratch.slice(0, count);
}

export const faithfulnessCorrelation = defineMetric<FaithfulnessCorrelationParams>({
  name: 'faithfulness-correlation',
  family: 'faithfulness',
  higherIsBetter: true,
  reference: 'Bhatt et al. 2020, IJCAI (arXiv:2005.00631); Quantus FaithfulnessCorrelation',
  defaults: {
    runs: 100,
    subsetSize: 224,
    fill: 'black',
    valueMin: 0,
    valueMax: 1,
    blurRadius: 5,
    seed: 0,
    score: 'raw',
    batchSize: 16,
    abs: false,
  },
  choices: PERTURBATION_CHOICES,
  requires: ['image', 'model', 'target'],
  validate: (p) => {
    validatePerturbation('faithfulness-correlation', p);
    requireInteger('faithfulness-correlation', 'runs', p.runs, 2);
    requireInteger('faithfulness-correlation', 'subsetSize', p.subsetSize, 1);
  },
  async compute(input, params, options) {
    const metric = 'faithfulness-correlation';
    const setup = modelSetup(metric, input, params, options);
    const { image } = setup;
    const n = image.width * image.height;
    if (params.subsetSize > n) {
      throw new Error(
        `${metric}: subsetSize ${params.subsetSize} exceeds the map's ${n} pixels; choose a smaller one`,
      );
    }
    const values = prepare(metric, input.map.data, params.abs, 'none');
    const rng = new Random(params.seed).fork('subsets');
    const scratch = new Uint32Array(n);
    for (let i = 0; i < n; i++) scratch[i] = i;
    const subsets = Array.from({ length: params.runs }, () => drawSubset(rng, scratch, params.subsetSize));
    const baseline = baselineImage(image, setup.fill, setup.fillOptions);
    // Image 0 is the unperturbed input, images 1..runs the perturbed ones.
    const scores = await scoreImages(setup.request(params.runs + 1), params.runs + 1, (k) => {
      const x = Float32Array.from(image.data);
      if (k > 0) replacePixels(x, baseline, subsets[k - 1], 0, params.subsetSize, image.channels);
      return x;
    });
    const drops = subsets.map((_, r) => scores[0] - scores[r + 1]);
    const sums = subsets.map((s) => s.reduce((acc, i) => acc + values[i], 0));
    const value = pearson(sums, drops);
    const details = { drops, sums };
    if (!Number.isNaN(value)) return { value, details };
    const flat = new Set(drops).size === 1 ? 'the score drops do not vary' : 'the relevance sums do not vary';
    return { value, note: `${flat}: the correlation is undefined`, details };
  },
});

/**
 * Layer-wise relevance propagation (Bach et al. 2015) with Zennit-style composites, on the graph with batch
 * normalisation folded into the convolutions first. Relevance starts at the class logit, so a conserving
 * composite (ε → 0, no biases) splits exactly the logit over the pixels. See lrp/propagate.ts for how each
 * layer type is treated, including the expclass gate (the explanation map is a fixed gate).
 *
 * Every LRP map reports its conservation (debug.conservation, per image: Σ relevance ÷ explained logit), as
 * Zennit and iNNvestigate users check it: z+ and α-β leave out biases, so on a batch-norm network (BN folded
 * into biases) part of the logit never reaches the pixels, and the map is read differently when it does not.
 */
import { tf } from '../../engine/tf.js';
import { checkNumber, checkOneOf, checkRange } from '../checks.js';
import { buildGraph } from '../graph/build.js';
import { foldBatchNorm } from '../graph/canonize.js';
import { COMPOSITE_NAMES, COMPOSITES, type CompositeName } from '../lrp/composites.js';
import { propagateRelevance } from '../lrp/propagate.js';
import { defineMethod } from '../run.js';
import { oneHotRows, REDUCTIONS, type Reduction, reduceChannels } from '../tensor.js';

/**
 * The fraction of the explained logit that reaches the input: Σ relevance ÷ logit (1 for a conserving
 * composite; NaN for a zero logit). Computed over all channels, whatever `reduce` the map uses.
 */
export function conservation(relevanceSum: number, logit: number): number {
  return logit === 0 ? Number.NaN : relevanceSum / logit;
}

function lrpMethod(name: string, composite: CompositeName, description: string) {
  return defineMethod({
    name,
    family: 'relevance',
    description,
    classSpecific: true,
    defaults: {
      composite,
      epsilon: 1e-6,
      /** The z^B box: the range the input pixels live in (xwb's data layer delivers [0, 1]). */
      bounds: [0, 1] as readonly number[],
      reduce: 'sum' as Reduction,
    },
    check: (p, where) => {
      checkOneOf(p.composite, 'composite', where, COMPOSITE_NAMES);
      checkNumber(p.epsilon, 'epsilon', where, 0, Infinity, true);
      checkRange(p.bounds, 'bounds', where);
      checkOneOf(p.reduce, 'reduce', where, REDUCTIONS);
    },
    async run({ model, x, classes, params }) {
      const graph = buildGraph(model);
      const folded = foldBatchNorm(graph);
      try {
        const [map, total, score] = tf.tidy((): tf.Tensor[] => {
          const { relevance, score } = propagateRelevance(folded, x, oneHotRows(classes, model.classes), {
            composite: COMPOSITES[params.composite],
            epsilon: params.epsilon,
            bounds: checkRange(params.bounds, 'bounds', name),
          });
          return [reduceChannels(relevance, params.reduce), tf.sum(relevance, [1, 2, 3]), score];
        });
        try {
          const sums = Array.from(await total.data());
          const logits = await score.data();
          return { map, debug: { conservation: sums.map((v, i) => conservation(v, logits[i])) } };
        } finally {
          tf.dispose([total, score]);
        }
      } finally {
        folded.dispose();
        graph.dispose();
      }
    },
  });
}

export const lrp = lrpMethod('lrp', 'epsilon_plus', 'LRP with a chosen composite (Bach et al. 2015)');
export const lrpEpsilon = lrpMethod('lrp_epsilon', 'epsilon', 'LRP-ε on every layer (Bach et al. 2015)');
export const lrpEpsilonPlus = lrpMethod(
  'lrp_epsilon_plus',
  'epsilon_plus',
  'LRP: ε on dense, z+ on convolutions (Kohlbrenner et al. 2020)',
);
export const lrpEpsilonPlusFlat = lrpMethod(
  'lrp_epsilon_plus_flat',
  'epsilon_plus_flat',
  'LRP: epsilon_plus with a flat first layer (Kohlbrenner et al. 2020)',
);
export const lrpAlpha2Beta1 = lrpMethod(
  'lrp_alpha2beta1',
  'alpha2beta1',
  'LRP: ε on dense, α2β1 on convolutions (Bach et al. 2015)',
);
export const deepTaylor = lrpMethod(
  'deep_taylor',
  'deep_taylor',
  'deep Taylor decomposition: z+ inside, z^B at the input (Montavon et al. 2017; as used by Rieger et al.)',
);

/**
 * Cascading model-parameter randomisation (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018),
 * Quantus's `ModelParameterRandomisation` (MPRT): the layers are randomised top-down, one more at each stage,
 * and the explanation after each stage is compared with the original. Lower similarity is better: an
 * explanation that survives the destruction of the model's weights does not explain the model.
 *
 * The metric does not randomise anything itself: `input.randomised` yields, stage by stage, the explanation of
 * the same image and class by the progressively randomised model (the caller owns the model and its copies).
 * Defaults as Quantus: Spearman rank correlation of |maps|, normalised by max |v| (irrelevant for Spearman,
 * relevant for SSIM). `summary` picks the number reported: the last stage (all layers randomised) or the mean
 * over stages; every stage's similarity is in the details. A stage whose map is constant has an undefined
 * correlation (NaN; the note names the layers).
 */
import { defineMetric } from '../core/define.js';
import { NORMALISATIONS, type Normalisation, prepare } from '../core/normalise.js';
import { SIMILARITIES, type Similarity, similarity } from '../core/similarity.js';
import { checkSameSize } from '../core/validate.js';

export type ModelParameterRandomisationParams = {
  similarity: string;
  abs: boolean;
  normalise: string;
  summary: string;
};

export const modelParameterRandomisation = defineMetric<ModelParameterRandomisationParams>({
  name: 'model-parameter-randomisation',
  family: 'randomisation',
  higherIsBetter: false,
  reference: 'Adebayo et al. 2018, NeurIPS (sanity checks); Quantus ModelParameterRandomisation',
  defaults: { similarity: 'spearman', abs: true, normalise: 'max-abs', summary: 'last' },
  choices: { similarity: SIMILARITIES, normalise: NORMALISATIONS, summary: ['last', 'mean'] },
  requires: ['randomised'],
  async compute(input, params, options) {
    const metric = 'model-parameter-randomisation';
    const { width, height } = input.map;
    const norm = params.normalise as Normalisation;
    const original = prepare(metric, input.map.data, params.abs, norm);
    const layers: string[] = [];
    const similarities: number[] = [];
    for await (const stage of input.randomised!(options.signal)) {
      options.signal?.throwIfAborted();
      checkSameSize(metric, input.map, stage.map, `the explanation after randomising "${stage.layer}"`);
      const randomised = prepare(metric, stage.map.data, params.abs, norm);
      layers.push(stage.layer);
      similarities.push(similarity(params.similarity as Similarity, original, randomised, width, height));
      options.onProgress?.(layers.length, 0);
    }
    if (layers.length === 0)
      throw new Error(`${metric}: the randomisation yielded no stage; it must yield one per layer`);
    const value =
      params.summary === 'last'
        ? similarities[similarities.length - 1]
        : similarities.reduce((a, b) => a + b, 0) / similarities.length;
    const undefinedAt = layers.filter((_, i) => Number.isNaN(similarities[i]));
    const details = { layers, similarities };
    if (undefinedAt.length === 0) return { value, details };
    return { value, details, note: `similarity undefined (a constant map) after ${undefinedAt.join(', ')}` };
  },
});

/**
 * Cascading model-parameter randomisation (Adebayo et al. 2018) for a batch of images: the layers of an
 * independent copy of the model are randomised top-down, one more per stage, and the images are explained
 * after each stage. The metric (model-parameter-randomisation) then compares each image's stages with its map.
 *
 * How a layer is randomised: every weight array of the layer (kernels, biases, batch-norm parameters and
 * statistics) is replaced by a seeded shuffle of its own values. That keeps each array's distribution (scale,
 * sign balance, a positive variance stays positive) and destroys what training arranged, the intent of both
 * Adebayo's re-initialisation and Quantus's TensorFlow permutation (which shuffles the first axis only; for a
 * 3×3 kernel that merely swaps rows, so the whole array is shuffled here). "Top-down": the classifier's layers
 * from the logits to the input, then the explainer's (it feeds the classifier).
 */
import { tf } from '../engine/tf.js';
import { explainPixels } from '../explain/run-model.js';
import type { ExplainMethod, Params } from '../explain/types.js';
import type { RandomisationStage } from '../metrics/index.js';
import type { XwbModel } from '../models/index.js';
import { Random } from '../util/random.js';

/** Layers with weights, top-down, named "<part>/<layer>". */
export function layersTopDown(model: XwbModel): { name: string; layer: tf.layers.Layer }[] {
  const parts: [string, tf.LayersModel | null][] = [
    ['classifier', model.parts.classifier],
    ['explainer', model.parts.explainer],
  ];
  const out: { name: string; layer: tf.layers.Layer }[] = [];
  for (const [part, m] of parts) {
    if (m === null) continue;
    for (const layer of [...m.layers].reverse()) {
      if (layer.getWeights().length > 0) out.push({ name: `${part}/${layer.name}`, layer });
    }
  }
  return out;
}

export function shuffleLayer(layer: tf.layers.Layer, rng: Random): void {
  const weights = layer.getWeights();
  const replaced = weights.map((w) => {
    const values = Array.from(w.dataSync());
    rng.shuffle(values);
    return tf.tensor(values, w.shape, w.dtype);
  });
  layer.setWeights(replaced);
  for (const t of replaced) t.dispose();
}

/**
 * Per image, the maps after each randomisation stage ([image][stage]). `copy` is randomised in place and must
 * be a model nobody else uses; the caller disposes it.
 */
export async function randomisationStages(
  copy: XwbModel,
  method: ExplainMethod,
  pixels: readonly Float32Array[],
  classes: readonly number[],
  params: Partial<Params>,
  seed: number,
  signal?: AbortSignal,
): Promise<RandomisationStage[][]> {
  const rng = new Random(seed);
  const s = copy.inputSize;
  const out: RandomisationStage[][] = pixels.map(() => []);
  for (const { name, layer } of layersTopDown(copy)) {
    signal?.throwIfAborted();
    shuffleLayer(layer, rng.fork(name));
    const maps = await explainPixels(copy, method, pixels, classes, params, { signal });
    for (const [i, data] of maps.entries()) out[i].push({ layer: name, map: { data, width: s, height: s } });
  }
  return out;
}

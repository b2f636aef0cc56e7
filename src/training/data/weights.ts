/**
 * Class weights for imbalanced sets: inverse class frequency, scaled so the weights average 1 over the classes.
 * Averaging to 1 keeps the loss on the same scale as unweighted training, so learning rates carry over.
 * The weights are proportional to scikit-learn's "balanced" weights n / (k · n_c), which the reference code uses.
 */
import type { ImageSetData } from './load.js';

/**
 * `labels` are class indices in [0, numClasses); -1 (unlabelled) is ignored. A class with no image gets weight
 * 1 (it never appears in the loss, and the losses want every weight positive); the present classes are
 * normalised among themselves, so the overall mean is 1 too.
 */
export function classWeights(labels: readonly number[], numClasses: number): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`classWeights: numClasses must be an integer >= 1, got ${numClasses}`);
  }
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) {
    if (l === -1) continue;
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new Error(`classWeights: label ${l} is not a class index in [0, ${numClasses})`);
    }
    counts[l]++;
  }
  const present = counts.filter((c) => c > 0);
  if (present.length === 0) throw new Error('classWeights: no labelled images, so no class frequencies');
  const meanInverse = present.reduce((s, c) => s + 1 / c, 0) / present.length;
  return counts.map((c) => (c > 0 ? 1 / c / meanInverse : 1));
}

export function classWeightsOf(data: ImageSetData): number[] {
  return classWeights(
    data.items.map((i) => i.label),
    data.classes.length,
  );
}

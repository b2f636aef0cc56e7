/**
 * Rieger's block-diagonal L1 ("Separable explanations of neural network decisions", eq. 6):
 *
 *   S(W) = Σ_l Σ_i Σ_j max(0, wˡᵢⱼ) · [block(i) ≠ block(j)]
 *
 * Each dense layer's units are split into as many contiguous blocks as there are classes; weights linking the
 * k-th block of one layer to the k-th block of the next (the diagonal blocks) are free, and only POSITIVE
 * weights outside them are penalised, because only positive weights carry relevance under the z⁺ rule of Deep
 * Taylor decomposition. The paper phrases the block test as "integer division with the number of classes", but
 * it also says there are as many blocks as classes; block(i) = ⌊i·C/n⌋ gives exactly C blocks for any layer
 * width n ≥ C (and each output unit its own block in the last layer), so that is the reading used here.
 *
 * Kernels are [in, out] as tfjs dense layers store them: wᵢⱼ links input unit i to output unit j.
 */
import { tf } from '../engine/tf.js';

function blockOf(unit: number, units: number, classes: number): number {
  return Math.floor((unit * classes) / units);
}

/** 1 where a weight lies outside the diagonal blocks (and is thus regularised), 0 inside. */
export function blockDiagonalMask(inUnits: number, outUnits: number, classes: number): tf.Tensor2D {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`blockDiagonalMask: classes must be ≥ 1`);
  if (!Number.isInteger(inUnits) || !Number.isInteger(outUnits) || inUnits < classes || outUnits < classes) {
    throw new Error(
      `blockDiagonalMask: a [${inUnits}, ${outUnits}] layer cannot hold ${classes} blocks (each side needs ≥ ${classes} units)`,
    );
  }
  const values = new Float32Array(inUnits * outUnits);
  for (let i = 0; i < inUnits; i++) {
    const bi = blockOf(i, inUnits, classes);
    for (let j = 0; j < outUnits; j++)
      values[i * outUnits + j] = bi === blockOf(j, outUnits, classes) ? 0 : 1;
  }
  return tf.tensor2d(values, [inUnits, outUnits]);
}

/** S(W) summed over the given dense kernels (not yet multiplied by λ). */
export function blockDiagonalL1(kernels: readonly tf.Tensor[], classes: number): tf.Scalar {
  kernels.forEach((k, l) => {
    if (k.rank !== 2)
      throw new Error(`blockDiagonalL1: kernel ${l} must be [in, out], got [${k.shape.join(', ')}]`);
  });
  return tf.tidy(() => {
    const terms = kernels.map((k) => {
      const [inUnits, outUnits] = k.shape as [number, number];
      return tf.sum(tf.mul(tf.relu(k), blockDiagonalMask(inUnits, outUnits, classes)));
    });
    return (terms.length === 0 ? tf.scalar(0) : tf.addN(terms)) as tf.Scalar;
  });
}

/** λ·S(W): the term to add to the loss (eq. 5). */
export function blockDiagonalPenalty(
  kernels: readonly tf.Tensor[],
  classes: number,
  lambda: number,
): tf.Scalar {
  if (!(lambda >= 0) || !Number.isFinite(lambda))
    throw new Error(`blockDiagonalPenalty: λ must be finite and ≥ 0`);
  return tf.tidy(() => tf.mul(lambda, blockDiagonalL1(kernels, classes)));
}

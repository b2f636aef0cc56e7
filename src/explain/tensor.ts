/**
 * Small tensor helpers the methods share: channel reduction, class scores, resizing a map to the input size.
 * All are pure (no disposal of their arguments) and meant to run inside tf.tidy.
 */
import { tf } from '../engine/tf.js';
import type { XwbModel } from '../models/types.js';

/**
 * How a multi-channel attribution [N, H, W, C] becomes one map [N, H, W]:
 * - sum: signed sum over channels (iNNvestigate's and Captum's usual choice; keeps LRP conservation and IG
 *   completeness);
 * - mean: signed mean;
 * - max: maximum (Simonyan et al.'s saliency takes the maximum of |gradient| over colours);
 * - maxabs: the channel value with the largest magnitude, sign kept;
 * - abssum: sum of magnitudes;
 * - l2: Euclidean norm over channels.
 */
export const REDUCTIONS = ['sum', 'mean', 'max', 'maxabs', 'abssum', 'l2'] as const;
export type Reduction = (typeof REDUCTIONS)[number];

export function reduceChannels(a: tf.Tensor4D, how: Reduction): tf.Tensor3D {
  switch (how) {
    case 'sum':
      return tf.sum(a, 3);
    case 'mean':
      return tf.mean(a, 3);
    case 'max':
      return tf.max(a, 3) as tf.Tensor3D;
    case 'abssum':
      return tf.sum(tf.abs(a), 3) as tf.Tensor3D;
    case 'l2':
      return tf.sqrt(tf.sum(tf.square(a), 3)) as tf.Tensor3D;
    case 'maxabs': {
      const pos = tf.max(a, 3);
      const neg = tf.min(a, 3);
      return tf.where(tf.greaterEqual(tf.abs(pos), tf.abs(neg)), pos, neg) as tf.Tensor3D;
    }
  }
}

/** One-hot rows [N, classes] selecting each image's class. */
export function oneHotRows(classes: readonly number[], count: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(classes as number[], 'int32'), count).toFloat() as tf.Tensor2D);
}

export type ScoreKind = 'logit' | 'probability';

/** Each image's score for its class [N]: the logit, or the softmax probability. */
export function classScores(logits: tf.Tensor2D, oneHot: tf.Tensor2D, kind: ScoreKind): tf.Tensor1D {
  const z = kind === 'probability' ? tf.softmax(logits) : logits;
  return tf.sum(tf.mul(z, oneHot), 1);
}

/** The model's logits in inference mode (dropout off, batch-norm moving statistics). */
export function logitsOf(model: XwbModel, x: tf.Tensor4D): tf.Tensor2D {
  const { logits, explanation } = model.predict(x, { training: false });
  explanation.dispose();
  return logits;
}

/**
 * d(score of each image's class)/d(image) through the whole model (see index.ts for what that means per
 * kind). Images do not interact in inference mode, so the gradient of the summed scores is each image's own.
 */
export function inputGradient(model: XwbModel, x: tf.Tensor4D, oneHot: tf.Tensor2D): tf.Tensor4D {
  return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(logitsOf(model, xx as tf.Tensor4D), oneHot)))(
    x,
  ) as tf.Tensor4D;
}

/** Bilinear resize of maps [N, h, w] or [N, h, w, 1] to [N, size, size] (pixel centres aligned). */
export function resizeMap(map: tf.Tensor, size: number): tf.Tensor3D {
  const m4 = (map.rank === 3 ? tf.expandDims(map, 3) : map) as tf.Tensor4D;
  if (m4.shape[1] === size && m4.shape[2] === size) return tf.squeeze(m4, [3]);
  return tf.squeeze(tf.image.resizeBilinear(m4, [size, size], false, true), [3]);
}

/** Repeats a [k] or [1, ...] tensor along a new leading axis: the same image k times for internal batches. */
export function repeatImage(x1: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.tile(x1, [k, 1, 1, 1]);
}

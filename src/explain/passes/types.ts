/**
 * The repeated model passes of the many-pass methods (integrated gradients, SmoothGrad and its variants,
 * occlusion), behind one interface so the same method code runs them on this thread or split across worker
 * replicas (pool.ts). Whoever runs them, each image's result is its own: images do not interact in inference
 * mode, so splitting a batch changes no value beyond float rounding.
 */
import type { tf } from '../../engine/tf.js';
import type { XwbModel } from '../../models/types.js';

export interface Passes {
  /** The model these passes run; the driver refuses passes made for another model. */
  readonly model: XwbModel;
  /** Replicas the passes are split across (1: this thread only); methods size their chunks by it. */
  readonly replicas: number;
  /** ∂(logit of each image's class)/∂image, [n, S, S, C]; `x` stays the caller's, the result is the caller's. */
  inputGradients(x: tf.Tensor4D, classes: readonly number[]): Promise<tf.Tensor4D>;
  /** Logits [n, classes] in inference mode; the result is the caller's. */
  logits(x: tf.Tensor4D): Promise<tf.Tensor2D>;
}

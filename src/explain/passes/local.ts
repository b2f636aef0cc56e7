/**
 * The passes on this thread. Gradients go through the model's graph (plain convolutions, graph/forward.ts)
 * rather than XwbModel.predict: tfjs fuses a linear convolution with its bias even inside tf.grad, and the
 * fused op's gradient computes the filter gradient too (one custom gradient for all its inputs), which an input
 * gradient throws away. Through the plain ops the tape prunes it: at 64 px that was ~40 % of the kernel time.
 * The graph's forward pass equals predict in inference mode (test/explain/graph.test.ts).
 */
import { tf } from '../../engine/tf.js';
import type { XwbModel } from '../../models/types.js';
import { buildGraph } from '../graph/build.js';
import { forwardLogits } from '../graph/forward.js';
import type { ModelGraph } from '../graph/types.js';
import { logitsOf, oneHotRows } from '../tensor.js';
import type { Passes } from './types.js';

/** ∂(score of each image's class)/∂x through the graph (call inside tf.tidy). */
export function graphInputGradient(graph: ModelGraph, x: tf.Tensor4D, oneHot: tf.Tensor2D): tf.Tensor4D {
  return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(forwardLogits(graph, xx as tf.Tensor4D), oneHot)))(
    x,
  ) as tf.Tensor4D;
}

/** Input gradients in passes of at most `limit` images (the wasm heap bound), concatenated. */
export function chunkedInputGradient(
  graph: ModelGraph,
  model: XwbModel,
  x: tf.Tensor4D,
  classes: readonly number[],
  limit: number,
): tf.Tensor4D {
  const n = x.shape[0];
  if (n <= limit) {
    return tf.tidy(() => graphInputGradient(graph, x, oneHotRows(classes, model.classes)));
  }
  const parts: tf.Tensor4D[] = [];
  try {
    for (let a = 0; a < n; a += limit) {
      const b = Math.min(n, a + limit);
      parts.push(
        tf.tidy(() =>
          graphInputGradient(
            graph,
            tf.slice(x, [a, 0, 0, 0], [b - a, -1, -1, -1]),
            oneHotRows(classes.slice(a, b), model.classes),
          ),
        ),
      );
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}

/** Passes on this thread; the graph is built at the first gradient and freed by `dispose`. */
export class LocalPasses implements Passes {
  readonly replicas = 1;
  private graph: ModelGraph | null = null;

  constructor(
    readonly model: XwbModel,
    /** Most images of one backward pass (Infinity: no bound). */
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {}

  async inputGradients(x: tf.Tensor4D, classes: readonly number[]): Promise<tf.Tensor4D> {
    this.graph ??= buildGraph(this.model);
    return chunkedInputGradient(this.graph, this.model, x, classes, this.limit);
  }

  async logits(x: tf.Tensor4D): Promise<tf.Tensor2D> {
    return tf.tidy(() => logitsOf(this.model, x));
  }

  dispose(): void {
    this.graph?.dispose();
    this.graph = null;
  }
}

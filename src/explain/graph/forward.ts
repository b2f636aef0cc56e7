/**
 * The forward pass of a ModelGraph with plain tf ops. It must equal XwbModel.predict in inference mode (a test
 * checks it); the hooks let methods swap an activation's implementation or pin a node's value.
 */
import { tf } from '../../engine/tf.js';
import type { ActivationFn, GraphNode, LinearOp, LinearParams, ModelGraph } from './types.js';

/** A linear layer with the given (possibly rule-modified) parameters. */
export function applyLinear(op: LinearOp, x: tf.Tensor, params: LinearParams): tf.Tensor {
  let y: tf.Tensor;
  if (op.kind === 'dense') {
    if (x.rank !== 2) throw new Error(`dense layer expects [N, features], got [${x.shape.join(', ')}]`);
    y = tf.matMul(x as tf.Tensor2D, params.kernel as tf.Tensor2D);
  } else if (op.kind === 'conv') {
    y = tf.conv2d(
      x as tf.Tensor4D,
      params.kernel as tf.Tensor4D,
      op.strides,
      op.padding,
      'NHWC',
      op.dilation,
    );
  } else {
    const [n, h, w] = x.shape;
    const k = params.kernel.shape as number[];
    const [sh, sw] = op.strides;
    // The output side of a transposed convolution (tfjs-layers' deconvLength).
    const oh = op.padding === 'same' ? h * sh : h * sh + Math.max(k[0] - sh, 0);
    const ow = op.padding === 'same' ? w * sw : w * sw + Math.max(k[1] - sw, 0);
    y = tf.conv2dTranspose(
      x as tf.Tensor4D,
      params.kernel as tf.Tensor4D,
      [n, oh, ow, k[2]],
      op.strides,
      op.padding,
    );
  }
  return params.bias ? tf.add(y, params.bias) : y;
}

export function applyActivation(fn: ActivationFn, x: tf.Tensor): tf.Tensor {
  if (fn === 'relu') return tf.relu(x);
  if (fn === 'sigmoid') return tf.sigmoid(x);
  return tf.tanh(x);
}

export interface ForwardHooks {
  /** Computes an activation node instead of the plain function (e.g. a ReLU with a custom gradient). */
  activation?: (fn: ActivationFn, x: tf.Tensor, node: GraphNode) => tf.Tensor;
  /** Node values to use as they are instead of computing them. */
  given?: ReadonlyMap<string, tf.Tensor>;
}

/** One node's output from its inputs' values. */
export function applyNode(
  node: GraphNode,
  inputs: tf.Tensor[],
  image: tf.Tensor,
  hooks: ForwardHooks = {},
): tf.Tensor {
  const op = node.op;
  const x = inputs[0];
  switch (op.type) {
    case 'input':
      return image;
    case 'ones':
      return tf.ones([image.shape[0], image.shape[1] as number, image.shape[2] as number, 1]);
    case 'linear':
      return applyLinear(op, x, op.params);
    case 'affine':
      return tf.add(tf.mul(x, op.scale), op.offset);
    case 'activation':
      return hooks.activation ? hooks.activation(op.fn, x, node) : applyActivation(op.fn, x);
    case 'pool':
      return op.mode === 'max'
        ? tf.maxPool(x as tf.Tensor4D, op.size, op.strides, op.padding)
        : tf.avgPool(x as tf.Tensor4D, op.size, op.strides, op.padding);
    case 'globalPool':
      return op.mode === 'max' ? tf.max(x, [1, 2]) : tf.mean(x, [1, 2]);
    case 'upsample': {
      const size: [number, number] = [
        (x.shape[1] as number) * op.size[0],
        (x.shape[2] as number) * op.size[1],
      ];
      // tfjs-layers' UpSampling2D calls the resize ops with their default corner handling; so do we.
      return op.interpolation === 'bilinear'
        ? tf.image.resizeBilinear(x as tf.Tensor4D, size)
        : tf.image.resizeNearestNeighbor(x as tf.Tensor4D, size);
    }
    case 'add':
      return inputs.reduce((a, b) => tf.add(a, b));
    case 'multiply':
      return inputs.reduce((a, b) => tf.mul(a, b));
    case 'concat':
      return tf.concat(inputs, op.axis);
    case 'flatten':
      return tf.reshape(x, [x.shape[0], -1]);
    case 'identity':
      return x;
  }
}

/**
 * Runs the graph on `image` and returns every node's value (call inside tf.tidy, or dispose them). Nodes in
 * `hooks.given` keep the given value; nodes that nothing needs are still computed (the graphs are small).
 */
export function forward(
  graph: ModelGraph,
  image: tf.Tensor4D,
  hooks: ForwardHooks = {},
): Map<string, tf.Tensor> {
  const values = new Map<string, tf.Tensor>();
  for (const node of graph.nodes) {
    const pinned = hooks.given?.get(node.id);
    if (pinned) {
      values.set(node.id, pinned);
      continue;
    }
    const inputs = node.inputs.map((id) => values.get(id) as tf.Tensor);
    values.set(node.id, applyNode(node, inputs, image, hooks));
  }
  return values;
}

/** The logits [N, classes] of the graph. */
export function forwardLogits(graph: ModelGraph, image: tf.Tensor4D, hooks: ForwardHooks = {}): tf.Tensor2D {
  return forward(graph, image, hooks).get(graph.output) as tf.Tensor2D;
}

/** Ids of the nodes whose value depends on `from` (itself included). */
export function downstreamOf(graph: ModelGraph, from: string): Set<string> {
  const out = new Set<string>([from]);
  for (const node of graph.nodes) {
    if (node.inputs.some((i) => out.has(i))) out.add(node.id);
  }
  return out;
}

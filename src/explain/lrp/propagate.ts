/**
 * The relevance backward pass over a (canonized) ModelGraph. Relevance starts at the chosen class's logit
 * (R = logit · one-hot, so a conserving composite distributes exactly the class score) and walks the nodes in
 * reverse order. Per node type:
 * - linear layers (conv, transposed conv, dense): the composite's rule;
 * - other linear maps (affine batch norm that could not be folded, average pooling, upsampling, sums): ε with
 *   the method's ε, i.e. relevance in proportion to each input's contribution;
 * - max pooling and global max pooling: winner-take-all (the max's gradient routes the relevance);
 * - ReLU, sigmoid, tanh: relevance passes through unchanged (for the sigmoid dense layers of xwb's classifier
 *   this is a choice, not a derivation: the rule below them sees the pre-activation contributions);
 * - the gate product features × explanation map: all relevance goes to the features; the map is treated as a
 *   fixed gate (as LRP for LSTMs treats gates), so nothing flows into the explainer of an expclass model;
 * - concatenation: split by channels; flatten/dropout: reshaped.
 */
import { tf } from '../../engine/tf.js';
import { firstLinearNodes } from '../graph/first.js';
import { applyLinear, applyNode, forward } from '../graph/forward.js';
import type { GraphNode, ModelGraph } from '../graph/types.js';
import { INPUT_ID } from '../graph/types.js';
import type { Composite } from './composites.js';
import { applyRule, type RuleContext, stabilize } from './rules.js';

export interface LrpOptions {
  composite: Composite;
  epsilon: number;
  bounds: [number, number];
}

/** ε-rule for any linear node without parameters: R_i = x_i · (∂z/∂x_i)ᵀ (R / stab z). */
function epsilonThrough(
  node: GraphNode,
  inputs: tf.Tensor[],
  image: tf.Tensor,
  r: tf.Tensor,
  eps: number,
): tf.Tensor[] {
  const z = applyNode(node, inputs, image);
  const s = tf.div(r, stabilize(z, eps));
  const grads = tf.grads((...xs: tf.Tensor[]) => applyNode(node, xs, image))(inputs, s);
  return inputs.map((x, k) => tf.mul(x, grads[k]));
}

function relevanceOf(
  node: GraphNode,
  inputs: tf.Tensor[],
  image: tf.Tensor,
  r: tf.Tensor,
  first: boolean,
  o: LrpOptions,
  ctx: RuleContext,
): (tf.Tensor | null)[] {
  const op = node.op;
  switch (op.type) {
    case 'input':
    case 'ones':
      return [];
    case 'linear': {
      const rule = o.composite.rule(op.kind, first, o.epsilon);
      return [applyRule(rule, (x, p) => applyLinear(op, x, p), inputs[0], op.params, r, ctx)];
    }
    case 'pool':
    case 'globalPool':
      if (op.mode === 'max') return [tf.grad((x: tf.Tensor) => applyNode(node, [x], image))(inputs[0], r)];
      return epsilonThrough(node, inputs, image, r, o.epsilon);
    case 'affine':
    case 'upsample':
    case 'add':
      return epsilonThrough(node, inputs, image, r, o.epsilon);
    case 'activation':
      return [r];
    case 'identity':
    case 'flatten':
      return [tf.reshape(r, inputs[0].shape)];
    case 'multiply':
      return [r, ...inputs.slice(1).map(() => null)];
    case 'concat': {
      const sizes = inputs.map((x) => x.shape[op.axis] as number);
      return tf.split(r, sizes, op.axis);
    }
  }
}

export interface Relevance {
  /** Relevance of every input pixel and channel [N, S, S, C]. */
  relevance: tf.Tensor4D;
  /** The explained score per image [N]: the class logit the backward pass started from. */
  score: tf.Tensor1D;
}

/** Relevance of every input pixel and channel for each image's class (call inside tf.tidy). */
export function propagateRelevance(
  graph: ModelGraph,
  image: tf.Tensor4D,
  oneHot: tf.Tensor2D,
  o: LrpOptions,
): Relevance {
  const values = forward(graph, image);
  const relevance = new Map<string, tf.Tensor>();
  const start = tf.mul(values.get(graph.output) as tf.Tensor, oneHot);
  relevance.set(graph.output, start);
  const ctx: RuleContext = { bounds: o.bounds };
  const firstLayers = firstLinearNodes(graph);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    const r = relevance.get(node.id);
    if (!r || node.inputs.length === 0) continue;
    const inputs = node.inputs.map((id) => values.get(id) as tf.Tensor);
    const first = firstLayers.has(node.id);
    const parts = relevanceOf(node, inputs, image, r, first, o, ctx);
    node.inputs.forEach((id, k) => {
      const part = parts[k];
      if (!part) return;
      const prev = relevance.get(id);
      relevance.set(id, prev ? tf.add(prev, part) : part);
    });
  }
  return {
    relevance: (relevance.get(INPUT_ID) ?? tf.zerosLike(image)) as tf.Tensor4D,
    score: tf.sum(start, 1) as tf.Tensor1D,
  };
}

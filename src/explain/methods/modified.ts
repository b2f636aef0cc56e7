/**
 * Modified backpropagation: the gradient of the class score with the ReLUs' backward rule replaced
 * (tf.customGrad on the graph's re-stated forward pass; other activations keep their gradient).
 * - guided backprop (Springenberg et al. 2015): pass only positive gradient where the ReLU's input was positive;
 * - deconvnet (Zeiler & Fergus 2014): pass the positive part of the gradient, whatever the input was.
 * For expclass and xcnn the modified gradient runs through the explainer too, like the plain gradient.
 */
import { tf } from '../../engine/tf.js';
import type { XwbModel } from '../../models/types.js';
import { checkOneOf } from '../checks.js';
import { buildGraph } from '../graph/build.js';
import { applyActivation, type ForwardHooks, forwardLogits } from '../graph/forward.js';
import type { ModelGraph } from '../graph/types.js';
import { defineMethod } from '../run.js';
import { oneHotRows, REDUCTIONS, type Reduction, reduceChannels } from '../tensor.js';

export type ReluBackward = 'guided' | 'deconvnet';

function modifiedRelu(kind: ReluBackward): (x: tf.Tensor) => tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      value: tf.relu(x),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const up = tf.relu(dy);
        return kind === 'guided' ? tf.mul(up, tf.step(saved[0])) : up;
      },
    };
  });
  return (x) => f(x);
}

export function reluHooks(kind: ReluBackward): ForwardHooks {
  const relu = modifiedRelu(kind);
  return { activation: (fn, x) => (fn === 'relu' ? relu(x) : applyActivation(fn, x)) };
}

/** ∂score/∂x [N, S, S, C] with the ReLU backward rule replaced (call inside tf.tidy). */
export function modifiedGradient(
  graph: ModelGraph,
  x: tf.Tensor4D,
  oneHot: tf.Tensor2D,
  kind: ReluBackward,
): tf.Tensor4D {
  const hooks = reluHooks(kind);
  return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(forwardLogits(graph, xx as tf.Tensor4D, hooks), oneHot)))(
    x,
  ) as tf.Tensor4D;
}

/** Builds the graph, runs `fn` in a tidy, frees the graph. */
export function withGraph<T extends tf.TensorContainer>(model: XwbModel, fn: (g: ModelGraph) => T): T {
  const graph = buildGraph(model);
  try {
    return tf.tidy(() => fn(graph));
  } finally {
    graph.dispose();
  }
}

function modifiedMethod(name: string, kind: ReluBackward, description: string) {
  return defineMethod({
    name,
    family: 'modified-backprop',
    description,
    classSpecific: true,
    defaults: { reduce: 'sum' as Reduction },
    check: (p, where) => checkOneOf(p.reduce, 'reduce', where, REDUCTIONS),
    async run({ model, x, classes, params }) {
      const map = withGraph(model, (g) =>
        reduceChannels(modifiedGradient(g, x, oneHotRows(classes, model.classes), kind), params.reduce),
      );
      return { map };
    },
  });
}

export const guidedBackprop = modifiedMethod(
  'guided_backprop',
  'guided',
  'guided backpropagation (Springenberg et al. 2015)',
);
export const deconvnet = modifiedMethod('deconvnet', 'deconvnet', 'deconvnet (Zeiler & Fergus 2014)');

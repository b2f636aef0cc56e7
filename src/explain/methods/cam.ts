/**
 * Class activation maps on a convolutional layer's output A [N, h, w, K] and the gradient G of the class score
 * w.r.t. it, upsampled bilinearly to the input size:
 * - Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k mean(G_k) · A_k);
 * - Grad-CAM++ (Chattopadhay et al. 2018): weights Σ α·ReLU(G) with α = G² / (2G² + ΣA·G³), the closed form
 *   the paper derives for an exponential score, applied (as its reference code does) to the raw gradients;
 * - Guided Grad-CAM: guided backprop × the upsampled Grad-CAM, then the channel reduction.
 * The layer is the last convolution of the classifier followed through its batch norm and ReLU (the rectified
 * features of the last block), or any layer named by `layer`.
 */
import { tf } from '../../engine/tf.js';
import { checkBool, checkOneOf } from '../checks.js';
import { downstreamOf, forward, forwardLogits } from '../graph/forward.js';
import type { ModelGraph } from '../graph/types.js';
import { defineMethod } from '../run.js';
import { oneHotRows, REDUCTIONS, type Reduction, reduceChannels, resizeMap } from '../tensor.js';
import { modifiedGradient, withGraph } from './modified.js';

/** The node of `layer` (its output, after any fused activation) or, by default, the last conv block's features. */
export function camLayer(graph: ModelGraph, layer: string | null, where: string): string {
  if (layer !== null) {
    const nodes = graph.nodes.filter((n) => n.layer === layer);
    if (nodes.length === 0) {
      const names = [...new Set(graph.nodes.filter((n) => n.part !== 'input').map((n) => n.layer))];
      throw new Error(`${where}: the model has no layer '${layer}'; layers: ${names.join(', ')}`);
    }
    return nodes[nodes.length - 1].id;
  }
  const convs = graph.nodes.filter(
    (n) => n.part === 'classifier' && n.op.type === 'linear' && n.op.kind === 'conv',
  );
  if (convs.length === 0) throw new Error(`${where}: the classifier has no convolution; name a layer`);
  let id = convs[convs.length - 1].id;
  for (;;) {
    const next = graph.nodes.filter((n) => n.inputs.includes(id));
    if (next.length !== 1 || (next[0].op.type !== 'affine' && next[0].op.type !== 'activation')) return id;
    id = next[0].id;
  }
}

/** The layer's activations and the gradient of each image's class score w.r.t. them (inside tf.tidy). */
export function activationsAndGradient(
  graph: ModelGraph,
  x: tf.Tensor4D,
  oneHot: tf.Tensor2D,
  layerId: string,
  where: string,
): { a: tf.Tensor4D; g: tf.Tensor4D } {
  const values = forward(graph, x);
  const a = values.get(layerId) as tf.Tensor;
  if (a.rank !== 4) {
    throw new Error(
      `${where}: layer ${layerId} outputs [${a.shape.join(', ')}], not a spatial map [N, h, w, K]`,
    );
  }
  const down = downstreamOf(graph, layerId);
  const given = new Map([...values].filter(([id]) => !down.has(id)));
  const score = (features: tf.Tensor) => {
    const pinned = new Map(given).set(layerId, features);
    return tf.sum(tf.mul(forwardLogits(graph, x, { given: pinned }), oneHot));
  };
  return { a: a as tf.Tensor4D, g: tf.grad(score)(a) as tf.Tensor4D };
}

export function gradCamMap(a: tf.Tensor4D, g: tf.Tensor4D, relu: boolean): tf.Tensor3D {
  const cam = tf.sum(tf.mul(a, tf.mean(g, [1, 2], true)), 3) as tf.Tensor3D;
  return relu ? tf.relu(cam) : cam;
}

export function gradCamPlusPlusMap(a: tf.Tensor4D, g: tf.Tensor4D, relu: boolean): tf.Tensor3D {
  const g2 = tf.square(g);
  const g3 = tf.mul(g2, g);
  const denom = tf.add(tf.mul(g2, 2), tf.mul(tf.sum(a, [1, 2], true), g3));
  // Where the denominator vanishes the gradient does too; α = 0 there, as in the reference implementation.
  const safe = tf.where(tf.notEqual(denom, 0), denom, tf.onesLike(denom));
  const alpha = tf.div(g2, safe);
  const weights = tf.sum(tf.mul(alpha, tf.relu(g)), [1, 2], true);
  const cam = tf.sum(tf.mul(a, weights), 3) as tf.Tensor3D;
  return relu ? tf.relu(cam) : cam;
}

type CamKind = 'gradcam' | 'gradcampp';

function camMethod(name: string, kind: CamKind, description: string) {
  return defineMethod({
    name,
    family: 'class-activation',
    description,
    classSpecific: true,
    defaults: { layer: null as string | null, relu: true },
    check: (p, where) => {
      if (p.layer !== null && (typeof p.layer !== 'string' || p.layer === '')) {
        throw new Error(`${where}: parameter layer must be a layer name or null (the last convolution)`);
      }
      checkBool(p.relu, 'relu', where);
    },
    async run({ model, x, classes, params }) {
      const where = `explain ${name}`;
      const map = withGraph(model, (graph) => {
        const id = camLayer(graph, params.layer, where);
        const { a, g } = activationsAndGradient(graph, x, oneHotRows(classes, model.classes), id, where);
        const cam =
          kind === 'gradcam' ? gradCamMap(a, g, params.relu) : gradCamPlusPlusMap(a, g, params.relu);
        return resizeMap(cam, model.inputSize);
      });
      return { map };
    },
  });
}

export const gradCam = camMethod('gradcam', 'gradcam', 'Grad-CAM (Selvaraju et al. 2017)');
export const gradCamPlusPlus = camMethod('gradcampp', 'gradcampp', 'Grad-CAM++ (Chattopadhay et al. 2018)');

export const guidedGradCam = defineMethod({
  name: 'guided_gradcam',
  family: 'class-activation',
  description: 'guided Grad-CAM: guided backprop × upsampled Grad-CAM (Selvaraju et al. 2017)',
  classSpecific: true,
  defaults: { layer: null as string | null, reduce: 'sum' as Reduction },
  check: (p, where) => {
    if (p.layer !== null && (typeof p.layer !== 'string' || p.layer === '')) {
      throw new Error(`${where}: parameter layer must be a layer name or null (the last convolution)`);
    }
    checkOneOf(p.reduce, 'reduce', where, REDUCTIONS);
  },
  async run({ model, x, classes, params }) {
    const where = 'explain guided_gradcam';
    const map = withGraph(model, (graph) => {
      const oneHot = oneHotRows(classes, model.classes);
      const id = camLayer(graph, params.layer, where);
      const { a, g } = activationsAndGradient(graph, x, oneHot, id, where);
      const cam = resizeMap(gradCamMap(a, g, true), model.inputSize);
      const guided = modifiedGradient(graph, x, oneHot, 'guided');
      return reduceChannels(tf.mul(guided, tf.expandDims(cam, 3)) as tf.Tensor4D, params.reduce);
    });
    return { map };
  },
});

/**
 * Reads an XwbModel's tfjs layers into a ModelGraph. Only the layer types the xwb architectures use (and a few
 * neighbours test models need) are understood; any other layer is an Error naming it, never a silent guess.
 */
import { tf } from '../../engine/tf.js';
import type { XwbModel } from '../../models/types.js';
import type { ActivationFn, GraphNode, GraphOp, LinearParams, ModelGraph, Padding } from './types.js';
import { INPUT_ID } from './types.js';

const IMAGE_LAYER = 'image';
const MAP_LAYER = 'explanation';
const ONES_ID = 'white_map';

type Config = Record<string, unknown>;

function pair(v: unknown, what: string, layer: string): [number, number] {
  const a = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(a) || a.length !== 2 || !a.every((e) => typeof e === 'number')) {
    throw new Error(`layer ${layer}: cannot read ${what} ${JSON.stringify(v)}`);
  }
  return [a[0], a[1]];
}

function padding(v: unknown, layer: string): Padding {
  if (v === 'same' || v === 'valid') return v;
  throw new Error(`layer ${layer}: padding ${JSON.stringify(v)} is not supported (only same and valid)`);
}

function activationFn(v: unknown, layer: string): ActivationFn | null {
  if (v === undefined || v === null || v === 'linear') return null;
  if (v === 'relu' || v === 'sigmoid' || v === 'tanh') return v;
  throw new Error(
    `layer ${layer}: activation ${JSON.stringify(v)} is not supported (relu, sigmoid, tanh, linear)`,
  );
}

function weight(layer: tf.layers.Layer, suffix: string): tf.Tensor | null {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`));
  return w ? w.read() : null;
}

function requireWeight(layer: tf.layers.Layer, suffix: string): tf.Tensor {
  const w = weight(layer, suffix);
  if (!w) throw new Error(`layer ${layer.name}: weight ${suffix} not found`);
  return w;
}

function linearParams(layer: tf.layers.Layer): LinearParams {
  return { kernel: requireWeight(layer, 'kernel'), bias: weight(layer, 'bias') as tf.Tensor1D | null };
}

function channelsLast(config: Config, layer: string): void {
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
    throw new Error(`layer ${layer}: only channelsLast data is supported, got ${String(config.dataFormat)}`);
  }
}

/** The op of one layer, plus the activation fused into it (split into its own node by the caller). */
function opOf(layer: tf.layers.Layer, owned: tf.Tensor[]): { op: GraphOp; activation: ActivationFn | null } {
  const c = layer.getConfig() as Config;
  const name = layer.name;
  switch (layer.getClassName()) {
    case 'Conv2D':
      channelsLast(c, name);
      return {
        op: {
          type: 'linear',
          kind: 'conv',
          params: linearParams(layer),
          strides: pair(c.strides, 'strides', name),
          padding: padding(c.padding, name),
          dilation: pair(c.dilationRate ?? 1, 'dilationRate', name),
        },
        activation: activationFn(c.activation, name),
      };
    case 'Conv2DTranspose':
      channelsLast(c, name);
      return {
        op: {
          type: 'linear',
          kind: 'convTranspose',
          params: linearParams(layer),
          strides: pair(c.strides, 'strides', name),
          padding: padding(c.padding, name),
        },
        activation: activationFn(c.activation, name),
      };
    case 'Dense':
      return {
        op: { type: 'linear', kind: 'dense', params: linearParams(layer) },
        activation: activationFn(c.activation, name),
      };
    case 'BatchNormalization': {
      if (c.axis !== -1 && c.axis !== 3 && c.axis !== 1) {
        throw new Error(`layer ${name}: batch normalisation over axis ${String(c.axis)} is not supported`);
      }
      const eps = typeof c.epsilon === 'number' ? c.epsilon : 1e-3;
      const mean = requireWeight(layer, 'moving_mean');
      const variance = requireWeight(layer, 'moving_variance');
      const gamma = weight(layer, 'gamma');
      const beta = weight(layer, 'beta');
      // Inference-mode BN is the affine map (x − mean)·γ/√(var+ε) + β.
      const [scale, offset] = tf.tidy(() => {
        const s = tf.div(gamma ?? tf.onesLike(mean), tf.sqrt(tf.add(variance, eps)));
        const o = tf.sub(beta ?? tf.zerosLike(mean), tf.mul(mean, s));
        return [s as tf.Tensor1D, o as tf.Tensor1D];
      });
      owned.push(scale, offset);
      return { op: { type: 'affine', scale, offset }, activation: null };
    }
    case 'Activation':
      return {
        op: { type: 'identity' },
        activation: activationFn(c.activation, name) ?? null,
      };
    case 'ReLU':
      if (c.maxValue != null) throw new Error(`layer ${name}: a capped ReLU is not supported`);
      return { op: { type: 'identity' }, activation: 'relu' };
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      channelsLast(c, name);
      const size = pair(c.poolSize, 'poolSize', name);
      return {
        op: {
          type: 'pool',
          mode: layer.getClassName() === 'MaxPooling2D' ? 'max' : 'avg',
          size,
          strides: pair(c.strides ?? size, 'strides', name),
          padding: padding(c.padding ?? 'valid', name),
        },
        activation: null,
      };
    }
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D':
      channelsLast(c, name);
      return {
        op: { type: 'globalPool', mode: layer.getClassName() === 'GlobalMaxPooling2D' ? 'max' : 'avg' },
        activation: null,
      };
    case 'UpSampling2D': {
      const interpolation = c.interpolation ?? 'nearest';
      if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
        throw new Error(`layer ${name}: interpolation ${String(interpolation)} is not supported`);
      }
      return {
        op: { type: 'upsample', size: pair(c.size, 'size', name), interpolation },
        activation: null,
      };
    }
    case 'Add':
      return { op: { type: 'add' }, activation: null };
    case 'Multiply':
      return { op: { type: 'multiply' }, activation: null };
    case 'Concatenate': {
      const axis = c.axis ?? -1;
      if (axis !== -1 && axis !== 3)
        throw new Error(`layer ${name}: only channel concatenation is supported`);
      return { op: { type: 'concat', axis: 3 }, activation: null };
    }
    case 'Flatten':
      return { op: { type: 'flatten' }, activation: null };
    case 'Dropout':
    case 'XwbSeededDropout':
      return { op: { type: 'identity' }, activation: null };
    default:
      throw new Error(
        `layer ${name}: ${layer.getClassName()} is not supported by xwb's explanation graph; ` +
          'only the layer types of the xwb architectures are',
      );
  }
}

/** The names of the layers feeding `layer` inside its model. */
function inboundNames(layer: tf.layers.Layer): string[] {
  if (layer.inboundNodes.length !== 1) {
    throw new Error(
      `layer ${layer.name} is used ${layer.inboundNodes.length} times; shared layers are not supported`,
    );
  }
  return layer.inboundNodes[0].inboundLayers.map((l) => l.name);
}

function addPart(
  model: tf.LayersModel,
  part: 'explainer' | 'classifier',
  mapSource: string,
  nodes: GraphNode[],
  owned: tf.Tensor[],
): string {
  // Which node each layer's output is (the activation node when one was split off).
  const outputOf = new Map<string, string>([
    [IMAGE_LAYER, INPUT_ID],
    [MAP_LAYER, mapSource],
  ]);
  const taken = new Set(nodes.map((n) => n.id));
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') {
      if (layer.name !== IMAGE_LAYER && layer.name !== MAP_LAYER) {
        throw new Error(
          `${part} part: unexpected input "${layer.name}" (expected "${IMAGE_LAYER}" or "${MAP_LAYER}")`,
        );
      }
      continue;
    }
    if (taken.has(layer.name)) throw new Error(`layer name ${layer.name} appears twice in the model`);
    const inputs = inboundNames(layer).map((n) => {
      const id = outputOf.get(n);
      if (!id) throw new Error(`layer ${layer.name}: input ${n} is not computed before it`);
      return id;
    });
    const { op, activation } = opOf(layer, owned);
    let id = layer.name;
    if (op.type !== 'identity' || activation === null) {
      nodes.push({ id, layer: layer.name, part, op, inputs });
    } else {
      id = inputs[0]; // a bare Activation layer: only its activation node is needed
    }
    if (activation) {
      const actId = op.type === 'identity' ? layer.name : `${layer.name}/${activation}`;
      nodes.push({
        id: actId,
        layer: layer.name,
        part,
        op: { type: 'activation', fn: activation },
        inputs: [id],
      });
      id = actId;
    }
    outputOf.set(layer.name, id);
  }
  if (model.outputLayers.length !== 1) throw new Error(`${part} part must have exactly one output`);
  const out = outputOf.get(model.outputLayers[0].name);
  if (!out) throw new Error(`${part} part: output layer not found`);
  return out;
}

/**
 * The graph of the whole model: image → [explainer → map] → classifier → logits. For the `classifier` kind the
 * map input is a constant white map, as in XwbModel.predict.
 */
export function buildGraph(model: XwbModel): ModelGraph {
  const nodes: GraphNode[] = [
    { id: INPUT_ID, layer: IMAGE_LAYER, part: 'input', op: { type: 'input' }, inputs: [] },
  ];
  const owned: tf.Tensor[] = [];
  try {
    let mapOutput: string | null = null;
    if (model.parts.explainer) {
      mapOutput = addPart(model.parts.explainer, 'explainer', ONES_ID, nodes, owned);
    } else if (model.parts.classifier.inputNames.includes(MAP_LAYER)) {
      nodes.push({ id: ONES_ID, layer: MAP_LAYER, part: 'input', op: { type: 'ones' }, inputs: [] });
    }
    const output = addPart(model.parts.classifier, 'classifier', mapOutput ?? ONES_ID, nodes, owned);
    return {
      nodes,
      byId: new Map(nodes.map((n) => [n.id, n])),
      output,
      mapOutput,
      owned,
      dispose: () => tf.dispose(owned),
    };
  } catch (err) {
    tf.dispose(owned);
    throw err;
  }
}

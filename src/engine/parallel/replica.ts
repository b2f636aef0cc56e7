/**
 * What every replica does, master and workers alike, so their arithmetic is identical: build the model from its
 * spec, read/write weights through flat Float32Arrays, and compute one shard's gradients.
 */
import { buildClassifier, buildExpClass, buildXcnn } from '../../models/model.js';
import type { ModelSpec, XwbModel } from '../../models/types.js';
import { xwbLoss } from '../../training/losses.js';
import { tf } from '../tf.js';
import type { LossValues, PartName, ShardData, StepConfig } from './protocol.js';

export function buildFromSpec(spec: ModelSpec): XwbModel {
  switch (spec.kind) {
    case 'expclass':
      return buildExpClass(spec.options);
    case 'xcnn':
      return buildXcnn(spec.options);
    case 'classifier':
      return buildClassifier(spec.options);
  }
}

/** Every weight of the model (trainable first within each layer, as tfjs lists them), explainer part first. */
export function allWeights(model: XwbModel): tf.LayerVariable[] {
  return [...(model.parts.explainer?.weights ?? []), ...model.parts.classifier.weights];
}

export function nonTrainableWeights(model: XwbModel): tf.LayerVariable[] {
  return [
    ...(model.parts.explainer?.nonTrainableWeights ?? []),
    ...model.parts.classifier.nonTrainableWeights,
  ];
}

/** Trainable variables of both parts in model order: the layout of a gradient buffer. */
export function trainableVariables(model: XwbModel): tf.Variable[] {
  return [...model.variables.explainer, ...model.variables.classifier];
}

export function sizeOf(vars: readonly { shape: number[] }[]): number {
  return vars.reduce((n, v) => n + v.shape.reduce((a, b) => a * b, 1), 0);
}

/** Copies the tensors' values one after another into `out`. */
export function readInto(tensors: readonly tf.Tensor[], out: Float32Array): void {
  let o = 0;
  for (const v of tensors) {
    const data = v.dataSync() as Float32Array;
    out.set(data, o);
    o += data.length;
  }
  if (o !== out.length) throw new Error(`internal: ${o} weights read into a buffer of ${out.length}`);
}

/** Assigns consecutive slices of `flat` to the variables. */
export function writeFrom(vars: readonly tf.Variable[], flat: Float32Array): void {
  let o = 0;
  for (const v of vars) {
    const n = v.size;
    tf.tidy(() => v.assign(tf.tensor(flat.subarray(o, o + n), v.shape, 'float32')));
    o += n;
  }
  if (o !== flat.length) throw new Error(`internal: ${o} weights written from a buffer of ${flat.length}`);
}

export function variablesOf(layerVars: readonly tf.LayerVariable[]): tf.Variable[] {
  return layerVars.map((w) => w.read() as tf.Variable);
}

/** Shard arrays → tensors (the caller disposes them). */
export function shardTensors(shard: ShardData): {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
  masks?: { mask: tf.Tensor4D; present: tf.Tensor1D };
} {
  const images = tf.tensor4d(shard.images, shard.shape);
  const labels = tf.tensor1d(shard.labels, 'int32');
  if (!shard.mask) return { images, labels };
  const [n, h, w] = shard.shape;
  if (!shard.present || shard.present.length !== n) {
    throw new Error(`a shard with masks needs 'present' for each of its ${n} images`);
  }
  return {
    images,
    labels,
    masks: {
      mask: tf.tensor4d(shard.mask, [n, h, w, 1]),
      present: tf.tensor1d(Array.from(shard.present)),
    },
  };
}

/** Images [start, start + count) of a shard, as views (no copy). */
export function subShard(shard: ShardData, start: number, count: number): ShardData {
  const [, h, w, c] = shard.shape;
  const px = h * w;
  const out: ShardData = {
    images: shard.images.subarray(start * px * c, (start + count) * px * c),
    shape: [count, h, w, c],
    labels: shard.labels.subarray(start, start + count),
  };
  if (shard.mask) out.mask = shard.mask.subarray(start * px, (start + count) * px);
  if (shard.present) out.present = shard.present.subarray(start, start + count);
  return out;
}

/**
 * Gradients of share·L(shard) w.r.t. the trainable variables of both parts, in model order (zeros for a
 * part that is not trained, so every gradient buffer has one layout). Summing the replicas' results gives the
 * gradient of Σ share_s·L_s.
 *
 * `microBatch` bounds the images of one forward/backward pass: tfjs keeps every activation of the pass on its
 * tape, ~640 MB per 224 px image here, and the wasm heap ends at 4 GB. A shard larger than that is processed in
 * chunks whose gradients are summed (each chunk weighted by its share; batch norm then normalises per chunk).
 */
export function shardGradients(
  model: XwbModel,
  shard: ShardData,
  share: number,
  config: StepConfig,
  microBatch = Number.POSITIVE_INFINITY,
): { grads: tf.Tensor[]; losses: LossValues } {
  const n = shard.shape[0];
  if (!(microBatch >= 1)) throw new Error(`microBatch must be ≥ 1, got ${microBatch}`);
  let total: { grads: tf.Tensor[]; losses: LossValues } | undefined;
  try {
    for (let start = 0; start < n; start += microBatch) {
      const k = Math.min(microBatch, n - start);
      const part = passGradients(model, k === n ? shard : subShard(shard, start, k), (share * k) / n, config);
      if (!total) {
        total = part;
        continue;
      }
      const previous = total.grads;
      total.grads = tf.tidy(() => previous.map((g, i) => tf.add(g, part.grads[i])));
      tf.dispose([...previous, ...part.grads]);
      for (const key of Object.keys(total.losses) as (keyof LossValues)[])
        total.losses[key] += part.losses[key];
    }
  } catch (err) {
    if (total) tf.dispose(total.grads);
    throw err;
  }
  if (!total) throw new Error('a shard must hold at least one image');
  return total;
}

/** One forward/backward pass over all images of `shard`. */
function passGradients(
  model: XwbModel,
  shard: ShardData,
  share: number,
  config: StepConfig,
): { grads: tf.Tensor[]; losses: LossValues } {
  const vars = trainableVariables(model);
  const trained = new Set<tf.Variable>(config.parts.flatMap((p: PartName) => model.variables[p]));
  const active = vars.filter((v) => trained.has(v));
  if (active.length === 0) throw new Error(`a step must train at least one part, got [${config.parts}]`);
  let losses: LossValues | undefined;
  const grads = tf.tidy(() => {
    const t = shardTensors(shard);
    let parts: Record<keyof LossValues, tf.Scalar> | undefined;
    const { grads } = tf.variableGrads(() => {
      const out = model.predict(t.images, {
        training: config.training,
        whiteExplanation: config.whiteExplanation,
        deletion: config.deletion === true,
      });
      const p = xwbLoss(
        {
          logits: out.logits,
          labels: t.labels,
          explanation: out.explanation,
          masks: t.masks,
          ...(out.deletedLogits ? { deletedLogits: out.deletedLogits } : {}),
        },
        config.loss,
      );
      const hits = tf.cast(tf.equal(tf.argMax(out.logits, 1), t.labels), 'float32');
      parts = {
        total: tf.keep(tf.mul(p.total, share)),
        ce: tf.keep(tf.mul(p.ce, share)),
        expl: tf.keep(tf.mul(p.expl, share)),
        l1: tf.keep(tf.mul(p.l1, share)),
        tv: tf.keep(tf.mul(p.tv, share)),
        hybrid: tf.keep(tf.mul(p.hybrid, share)),
        acc: tf.keep(tf.mul(tf.mean(hits), share)),
        map: tf.keep(tf.mul(tf.mean(out.explanation), share)),
      };
      return parts.total;
    }, active);
    if (!parts) throw new Error('internal: the loss was not computed');
    const p = parts;
    // One read-back for all scalars: each dataSync is a synchronisation point.
    const keys = Object.keys(p) as (keyof LossValues)[];
    const values = tf.stack(keys.map((k) => p[k])).dataSync();
    losses = Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as LossValues;
    tf.dispose(Object.values(p));
    const ordered = vars.map((v) => (trained.has(v) ? grads[v.name] : tf.zerosLike(v)));
    for (const g of ordered) if (!g) throw new Error('internal: a trained variable got no gradient');
    return ordered;
  });
  if (!losses) throw new Error('internal: the loss was not read');
  return { grads, losses };
}

/**
 * Two tiny networks built twice: as tfjs models (what the methods explain) and as float64 reference nets
 * (reference.ts) from the same float32 weights, so a method's map can be checked against the formula.
 * - `bnNet`: image 6×6×2 → conv 3×3 (bias) → batch norm → ReLU → max pool 2 → flatten → dense 4 ReLU → dense 2,
 *   the layer pattern of xwb's default classifier (batch norm folded into the convolution gives it a bias).
 * - `flatNet`: image 3×3×2 → flatten → dense 4 ReLU → dense 2: the first layer with weights is a dense layer
 *   behind a flatten.
 */
import { tf } from '../../src/engine/tf.js';
import type { XwbModel } from '../../src/models/types.js';
import { seeded, toyModel } from './helpers.js';
import { convMatrix, denseMatrix, foldBn, maxPool2, type RefNet } from './reference.js';

export interface TwinNet {
  model: XwbModel;
  ref: RefNet;
  size: number;
  channels: number;
}

const BN_EPSILON = 1e-3;

export function bnNet(seed: number): TwinNet {
  const k1 = seeded(3 * 3 * 2 * 3, seed + 1, -0.8, 0.8);
  const b1 = seeded(3, seed + 2, -0.3, 0.3);
  const bn = {
    gamma: seeded(3, seed + 3, 0.5, 1.5),
    beta: seeded(3, seed + 4, -0.4, 0.4),
    mean: seeded(3, seed + 5, -0.3, 0.3),
    variance: seeded(3, seed + 6, 0.5, 2),
  };
  const k2 = seeded(27 * 4, seed + 7, -0.6, 0.6);
  const b2 = seeded(4, seed + 8, -0.2, 0.2);
  const k3 = seeded(4 * 2, seed + 9, -1, 1);
  const b3 = seeded(2, seed + 10, -0.2, 0.2);

  const input = tf.input({ name: 'image', shape: [6, 6, 2] });
  const conv = tf.layers.conv2d({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same' });
  const norm = tf.layers.batchNormalization({ name: 'bn1', epsilon: BN_EPSILON });
  const d1 = tf.layers.dense({ name: 'd1', units: 4, activation: 'relu' });
  const d2 = tf.layers.dense({ name: 'd2', units: 2 });
  let y = conv.apply(input) as tf.SymbolicTensor;
  y = norm.apply(y) as tf.SymbolicTensor;
  y = tf.layers.activation({ name: 'r1', activation: 'relu' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ name: 'p1', poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten({ name: 'f1' }).apply(y) as tf.SymbolicTensor;
  y = d2.apply(d1.apply(y)) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: y });
  conv.setWeights([tf.tensor4d(k1, [3, 3, 2, 3]), tf.tensor1d(b1)]);
  norm.setWeights([bn.gamma, bn.beta, bn.mean, bn.variance].map((v) => tf.tensor1d(v)));
  d1.setWeights([tf.tensor2d(k2, [27, 4]), tf.tensor1d(b2)]);
  d2.setWeights([tf.tensor2d(k3, [4, 2]), tf.tensor1d(b3)]);

  const ref: RefNet = [
    foldBn(convMatrix(k1, [3, 3, 2, 3], b1, 6, 6), 3, bn, BN_EPSILON),
    { type: 'relu' },
    maxPool2(6, 6, 3),
    denseMatrix(k2, 27, 4, b2),
    { type: 'relu' },
    denseMatrix(k3, 4, 2, b3),
  ];
  return { model: toyModel(m, 6, 2, 2), ref, size: 6, channels: 2 };
}

export function flatNet(seed: number): TwinNet {
  const k1 = seeded(18 * 4, seed + 1, -0.7, 0.7);
  const b1 = seeded(4, seed + 2, -0.3, 0.3);
  const k2 = seeded(4 * 2, seed + 3, -1, 1);
  const b2 = seeded(2, seed + 4, -0.2, 0.2);
  const input = tf.input({ name: 'image', shape: [3, 3, 2] });
  const d1 = tf.layers.dense({ name: 'd1', units: 4, activation: 'relu' });
  const d2 = tf.layers.dense({ name: 'd2', units: 2 });
  const flat = tf.layers.flatten({ name: 'f1' }).apply(input) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: d2.apply(d1.apply(flat)) as tf.SymbolicTensor });
  d1.setWeights([tf.tensor2d(k1, [18, 4]), tf.tensor1d(b1)]);
  d2.setWeights([tf.tensor2d(k2, [4, 2]), tf.tensor1d(b2)]);
  const ref: RefNet = [denseMatrix(k1, 18, 4, b1), { type: 'relu' }, denseMatrix(k2, 4, 2, b2)];
  return { model: toyModel(m, 3, 2, 2), ref, size: 3, channels: 2 };
}

/** Relative closeness: every |got − want| ≤ tol · max |want| (the scale of the map). */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`lengths differ: ${got.length} vs ${want.length}`);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return scale === 0 ? err : err / scale;
}

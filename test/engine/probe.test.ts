/**
 * Probe: forward + backward of every op a small conv net's training step uses, on wasm against cpu, and a
 * check that every kernel those steps dispatch is registered for wasm. This is how the list of kernels xwb
 * must provide was established (only Conv2DBackpropFilter was missing; see the engine report).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { assertWasmMatchesCpu, seeded } from './helpers.js';

before(async () => {
  await initEngine({ prefer: 'wasm', logger: () => {} });
});

const t4 = (shape: [number, number, number, number], seed: number) =>
  tf.tensor(seeded(shape[0] * shape[1] * shape[2] * shape[3], seed), shape) as tf.Tensor4D;
const t2 = (shape: [number, number], seed: number) =>
  tf.tensor(seeded(shape[0] * shape[1], seed), shape) as tf.Tensor2D;

/** Gradient of ⟨f(inputs), r⟩ with a fixed random r, so every output element weighs differently. */
function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor[] {
  const y = f(...inputs);
  const r = tf.tensor(seeded(y.size, 99), y.shape);
  return [y, ...tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs)];
}

/** Values of a variable after a few optimiser steps on a small quadratic. */
function optimiserSteps(make: () => tf.Optimizer): tf.Tensor[] {
  const v = tf.variable(tf.tensor(seeded(12, 11), [3, 4]));
  const target = tf.tensor(seeded(12, 12), [3, 4]);
  const opt = make();
  for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(tf.square(tf.sub(v, target))) as tf.Scalar);
  const out = tf.clone(v);
  v.dispose();
  opt.dispose();
  return [out];
}

const OPS: Record<string, () => tf.Tensor[]> = {
  conv2d: () =>
    gradsOf(
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
      [t4([2, 6, 6, 3], 1), t4([3, 3, 3, 4], 2)],
    ),
  conv2dStrided: () =>
    gradsOf(
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
      [t4([2, 6, 6, 3], 1), t4([3, 3, 3, 4], 2)],
    ),
  conv2dTranspose: () =>
    gradsOf(
      (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same'),
      [t4([2, 4, 4, 4], 3), t4([3, 3, 3, 4], 4)],
    ),
  // Window maxima of both signs: wasm's own MaxPoolGrad dropped the all-negative windows.
  maxPool2x2: () => gradsOf((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), [t4([2, 6, 6, 3], 5)]),
  avgPool2x2: () => gradsOf((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [t4([2, 6, 6, 3], 6)]),
  batchNorm: () =>
    gradsOf(
      (x, offset, scale) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
      },
      [t4([2, 4, 4, 3], 7), tf.tensor(seeded(3, 8)), tf.add(tf.tensor(seeded(3, 9)), 2)],
    ),
  relu: () => gradsOf((x) => tf.relu(x), [t4([2, 3, 3, 2], 10)]),
  tanh: () => gradsOf((x) => tf.tanh(x), [t4([2, 3, 3, 2], 11)]),
  sigmoid: () => gradsOf((x) => tf.sigmoid(x), [t4([2, 3, 3, 2], 12)]),
  dense: () =>
    gradsOf(
      (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
      [t2([4, 6], 13), t2([6, 3], 14), tf.tensor(seeded(3, 15))],
    ),
  dropout: () => gradsOf((x) => tf.dropout(x, 0.5, undefined, 7), [t4([2, 4, 4, 2], 16)]),
  softmaxCrossEntropy: () => {
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);
    return gradsOf((logits) => tf.losses.softmaxCrossEntropy(labels, logits), [t2([4, 3], 17)]);
  },
  sigmoidCrossEntropy: () => {
    const labels = tf.tensor2d([[1], [0], [1], [0]]);
    return gradsOf((logits) => tf.losses.sigmoidCrossEntropy(labels, logits), [t2([4, 1], 18)]);
  },
  globalMaxPool: () => gradsOf((x) => tf.max(x, [1, 2]), [t4([2, 5, 5, 3], 19)]),
  globalAvgPool: () => gradsOf((x) => tf.mean(x, [1, 2]), [t4([2, 5, 5, 3], 20)]),
  resizeBilinear: () =>
    gradsOf((x) => tf.image.resizeBilinear(x as tf.Tensor4D, [7, 9]), [t4([2, 5, 5, 3], 21)]),
  l1AndClip: () => gradsOf((x) => tf.clipByValue(tf.abs(x), 0.1, 0.8), [t4([2, 3, 3, 2], 23)]),
  adam: () => optimiserSteps(() => tf.train.adam(0.01)),
  sgdMomentum: () => optimiserSteps(() => tf.train.momentum(0.01, 0.9)),
  sgd: () => optimiserSteps(() => tf.train.sgd(0.01)),
};

for (const [name, run] of Object.entries(OPS)) {
  test(`probe ${name}: forward and gradients on wasm match cpu`, async () => {
    await assertWasmMatchesCpu(name, run);
  });
}

test('resizeBilinear gradient on wasm is the adjoint of the resize for non-square images', async () => {
  // The cpu backend cannot be the reference here: its ResizeBilinearGrad swaps height and width when they
  // differ. halfPixelCenters is left out: both backends' gradients ignore it (see the engine report). The resize is linear, so its gradient g = Aᵀr must satisfy ⟨A x, r⟩ = ⟨x, g⟩ for any x.
  await tf.setBackend('wasm');
  for (const alignCorners of [false, true]) {
    const [lhs, rhs] = tf.tidy(() => {
      const x = t4([2, 4, 5, 3], 24);
      const resize = (a: tf.Tensor) => tf.image.resizeBilinear(a as tf.Tensor4D, [7, 9], alignCorners);
      const r = tf.tensor(seeded(2 * 7 * 9 * 3, 25), [2, 7, 9, 3]);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(resize(a), r)))(x);
      assert.deepEqual(g.shape, x.shape);
      return [tf.sum(tf.mul(resize(x), r)).dataSync()[0], tf.sum(tf.mul(x, g)).dataSync()[0]];
    });
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.max(1, Math.abs(lhs)), `⟨Ax,r⟩=${lhs} ⟨x,Aᵀr⟩=${rhs}`);
  }
});

/** A layers model with every block the explainer and classifier use, as the trainers will build it. */
function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 3] });
  let h = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.averagePooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalMaxPooling2d({}).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dropout({ rate: 0.3 }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

test('every kernel a layers training step dispatches is registered for wasm, and the step runs there', async () => {
  await tf.setBackend('cpu');
  const used = new Set<string>();
  const record = async (f: () => Promise<unknown> | unknown) => {
    const info = await tf.profile(async () => {
      await f();
      return tf.scalar(0);
    });
    for (const k of info.kernelNames) used.add(k);
  };
  for (const run of Object.values(OPS)) await record(() => tf.dispose(run()));
  const x = t4([4, 16, 16, 3], 30);
  const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2);
  const cpuModel = smallModel();
  await record(() => cpuModel.trainOnBatch(x, y));
  cpuModel.dispose();
  assert.ok(
    used.has('Conv2DBackpropFilter') && used.has('MaxPoolGrad') && used.has('FusedBatchNorm'),
    'profile saw the training kernels',
  );
  // The profile also lists custom-gradient scopes (e.g. 'fusedMatMul__op'); only real cpu kernels count.
  const missing = [...used].filter((k) => tf.getKernel(k, 'cpu') && !tf.getKernel(k, 'wasm'));
  assert.deepEqual(missing, [], `kernels missing on wasm: ${missing.join(', ')}`);

  await tf.setBackend('wasm');
  const model = smallModel();
  // The first step creates Adam's moment variables; later steps must not add tensors.
  const losses: number[] = [Number(await model.trainOnBatch(x, y))];
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) losses.push(Number(await model.trainOnBatch(x, y)));
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.equal(tf.memory().numTensors, before, 'training steps leaked tensors');
  model.dispose();
  tf.dispose([x, y]);
});

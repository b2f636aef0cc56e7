/** Shared helpers of the explanation tests: toy models with hand-set weights, seeded data, leak checks. */
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { composeModel } from '../../src/models/index.js';
import type { XwbModel } from '../../src/models/types.js';

/** Wraps a hand-built tfjs model (input named 'image') as an XwbModel of kind 'classifier'. */
export function toyModel(
  classifier: tf.LayersModel,
  inputSize: number,
  channels: number,
  classes: number,
): XwbModel {
  return composeModel(
    {
      kind: 'classifier',
      options: { inputSize, classes, channels, base: 1, batchNorm: false, dropout: 0 },
    },
    { explainer: null, classifier },
  );
}

/** Deterministic pseudo-random floats in [lo, hi) (mulberry32). */
export function seeded(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 2 ** 32);
  }
  return out;
}

export function images(n: number, size: number, channels: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(seeded(n * size * size * channels, seed), [n, size, size, channels]);
}

/** Runs `fn` and checks that it leaves no tensor behind. */
export async function noLeak<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  assert.equal(tf.memory().numTensors, before, `${label}: tensors leaked`);
  return out;
}

export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  label: string,
): void {
  assert.equal(got.length, want.length, `${label}: lengths differ`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    assert.ok(err <= tol * Math.max(1, scale), `${label}[${i}]: got ${got[i]}, want ${want[i]} (tol ${tol})`);
  }
}

/** Gives every batch-norm layer non-trivial moving statistics so inference differs from the identity. */
export function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  let k = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    layer.setWeights(
      ws.map((w, i) => {
        const v = seeded(w.size, k++, i === 3 ? 0.5 : -0.5, i === 3 ? 2 : 0.5);
        return tf.tensor(i === 0 ? v.map((e) => e + 1) : v, w.shape);
      }),
    );
  }
}

/** A linear 4×4×1 model without bias: logit 0 = Σ w·x, logit 1 = −Σ w·x. */
export function linearModel(): { linear: XwbModel; w: number[] } {
  const w = Array.from({ length: 16 }, (_, i) => (i % 5) - 2 + i / 10);
  const input = tf.input({ name: 'image', shape: [4, 4, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, useBias: false, name: 'lin' });
  const m = tf.model({ inputs: input, outputs: dense.apply(flat) as tf.SymbolicTensor });
  dense.setWeights([
    tf.tensor2d(
      w.flatMap((v) => [v, -v]),
      [16, 2],
    ),
  ]);
  return { linear: toyModel(m, 4, 1, 2), w };
}

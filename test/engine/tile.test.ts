import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { isXwbKernel } from '../../src/engine/kernels/register.js';
import { tileInto } from '../../src/engine/kernels/tile.js';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { assertWasmMatchesCpu, onBackend, seeded } from './helpers.js';

before(async () => {
  const info = await initEngine({ prefer: 'wasm', logger: () => {} });
  assert.equal(info.backend, 'wasm');
});

/** The definition: out[i] = x[i mod shape] along every axis. */
function naiveTile(x: Float32Array, shape: number[], reps: number[]): Float32Array {
  const outShape = shape.map((s, i) => s * reps[i]);
  const out = new Float32Array(outShape.reduce((a, b) => a * b, 1));
  for (let flat = 0; flat < out.length; flat++) {
    let rest = flat;
    let src = 0;
    let inStride = 1;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const idx = rest % outShape[axis];
      rest = Math.floor(rest / outShape[axis]);
      src += (idx % shape[axis]) * inStride;
      inStride *= shape[axis];
    }
    out[flat] = x[src];
  }
  return out;
}

test('tileInto matches the definition for ranks 1-5 and assorted reps (including 1 and odd counts)', () => {
  const r = seeded(500, 3);
  let k = 0;
  const pick = (n: number) => 1 + Math.floor(((r[k++ % r.length] + 1) / 2) * n);
  for (let rank = 1; rank <= 5; rank++) {
    for (let trial = 0; trial < 6; trial++) {
      const shape = Array.from({ length: rank }, () => pick(4));
      const reps = Array.from({ length: rank }, () => pick(5));
      const x = seeded(
        shape.reduce((a, b) => a * b, 1),
        10 * rank + trial,
      );
      const want = naiveTile(x, shape, reps);
      const got = new Float32Array(want.length);
      tileInto(x, shape, reps, got);
      assert.deepEqual(got, want, `shape [${shape}] reps [${reps}]`);
    }
  }
});

test('tileInto handles scalars and zero reps', () => {
  const out = new Float32Array(1);
  tileInto(Float32Array.of(7), [], [], out);
  assert.equal(out[0], 7);
  const empty = new Float32Array(0);
  tileInto(Float32Array.of(1, 2), [2], [0], empty);
  assert.throws(() => tileInto(Float32Array.of(1, 2), [2], [1, 1], new Float32Array(2)), /reps/);
});

test('Tile on wasm is xwb’s and matches cpu for float32, int32 and bool', async () => {
  assert.ok(isXwbKernel('Tile'));
  const x = seeded(2 * 3 * 4, 5);
  await assertWasmMatchesCpu('float32', () => tf.tile(tf.tensor(x, [2, 3, 4]), [3, 1, 2]));
  // The batch-norm gradient's case: a per-channel vector over a whole activation.
  await assertWasmMatchesCpu('bn broadcast', () =>
    tf.tile(tf.tensor(seeded(32, 6), [1, 1, 1, 32]), [4, 8, 8, 1]),
  );
  for (const dtype of ['int32', 'bool'] as const) {
    const fn = () => tf.cast(tf.tile(tf.tensor([[1, 0, 3]], [1, 3], dtype), [2, 3]), 'float32');
    const [cpu] = await onBackend('cpu', fn);
    const [wasm] = await onBackend('wasm', fn);
    assert.deepEqual(wasm, cpu, dtype);
  }
});

test('batch-norm gradients on wasm match cpu', async () => {
  const x = seeded(2 * 5 * 5 * 6, 8);
  const dy = seeded(2 * 5 * 5 * 6, 9);
  await assertWasmMatchesCpu('batchNorm grads', () => {
    const input = tf.tensor(x, [2, 5, 5, 6]) as tf.Tensor4D;
    const r = tf.tensor(dy, [2, 5, 5, 6]);
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b, g, 1e-5), r));
    };
    return tf.grads(f)([input, tf.tensor(seeded(6, 10)), tf.tensor(seeded(6, 11))]);
  });
});

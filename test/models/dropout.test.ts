import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { SeededDropout } from '../../src/models/dropout.js';

await tf.setBackend('cpu');

function masks(seed: number | undefined, calls: number): number[][] {
  const layer = new SeededDropout({ rate: 0.5, seed });
  const x = tf.ones([1, 64]);
  const out: number[][] = [];
  for (let i = 0; i < calls; i++) {
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    out.push(Array.from(y.dataSync()).map((v) => (v === 0 ? 0 : 1)));
    y.dispose();
  }
  x.dispose();
  return out;
}

test('seeded dropout draws a fresh mask on every training call (tfjs layers.dropout repeats one)', () => {
  const [a, b, c] = masks(11, 3);
  assert.notDeepEqual(a, b);
  assert.notDeepEqual(b, c);
  // Roughly half the units dropped.
  const dropped = a.filter((v) => v === 0).length;
  assert.ok(dropped > 16 && dropped < 48, `dropped ${dropped} of 64`);
});

test('the same seed repeats the same sequence of masks', () => {
  assert.deepEqual(masks(11, 3), masks(11, 3));
  assert.notDeepEqual(masks(11, 1), masks(12, 1));
});

test('inference passes values through unchanged and scales nothing', () => {
  const layer = new SeededDropout({ rate: 0.3, seed: 1 });
  const x = tf.tensor2d([[1, 2, 3]]);
  const y = layer.apply(x, { training: false }) as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  tf.dispose([x, y]);
});

test('training scales kept units by 1/(1-rate)', () => {
  const layer = new SeededDropout({ rate: 0.5, seed: 3 });
  const x = tf.ones([1, 32]);
  const y = layer.apply(x, { training: true }) as tf.Tensor;
  for (const v of y.dataSync()) assert.ok(v === 0 || Math.abs(v - 2) < 1e-6);
  tf.dispose([x, y]);
});

test('bad rates are refused', () => {
  assert.throws(() => new SeededDropout({ rate: 1 }), /\[0, 1\)/);
});

/**
 * The cpu backend's ResizeNearestNeighborGrad is xwb's (src/engine/kernels/resize_nearest_grad_cpu.ts): tfjs
 * 4.22's read the wrong dy pixels for every image after the first of a batch. Checked against the hand-computed
 * gradient of a ×2 upsampling (each source pixel receives the sum of its 2×2 block) and against finite
 * differences of an odd-size resize with and without alignCorners / halfPixelCenters.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';

before(async () => {
  await tf.setBackend('cpu');
});

test('×2 nearest upsampling: the gradient of every image of a batch is the sum of its 2×2 blocks', () => {
  const x = tf.randomUniform([3, 4, 5, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomUniform([3, 8, 10, 2], -1, 1, 'float32', 2);
  const g = tf.grad((xx: tf.Tensor) =>
    tf.sum(tf.mul(tf.image.resizeNearestNeighbor(xx as tf.Tensor4D, [8, 10]), w)),
  )(x);
  const wd = w.arraySync() as number[][][][];
  const gd = g.arraySync() as number[][][][];
  let worst = 0;
  for (let b = 0; b < 3; b++)
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 5; j++)
        for (let c = 0; c < 2; c++) {
          const want =
            wd[b][2 * i][2 * j][c] +
            wd[b][2 * i + 1][2 * j][c] +
            wd[b][2 * i][2 * j + 1][c] +
            wd[b][2 * i + 1][2 * j + 1][c];
          worst = Math.max(worst, Math.abs(want - gd[b][i][j][c]));
        }
  assert.ok(worst < 1e-5, `largest error ${worst}`);
  tf.dispose([x, w, g]);
});

test('odd sizes, alignCorners and halfPixelCenters: the gradient matches finite differences', () => {
  for (const [alignCorners, halfPixelCenters] of [
    [false, false],
    [true, false],
    [false, true],
  ] as const) {
    const x = tf.randomUniform([2, 5, 3, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomUniform([2, 7, 8, 1], -1, 1, 'float32', 4);
    const f = (xx: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.image.resizeNearestNeighbor(xx as tf.Tensor4D, [7, 8], alignCorners, halfPixelCenters), w),
      );
    const g = tf.grad(f)(x).dataSync();
    const base = x.dataSync();
    for (let k = 0; k < base.length; k++) {
      const p = base.slice();
      p[k] += 1;
      // The resize is linear in x: one unit step gives the exact derivative.
      const up = tf.tidy(() => f(tf.tensor(p, x.shape)).dataSync()[0] - f(x).dataSync()[0]);
      assert.ok(Math.abs(up - g[k]) < 1e-4, `${alignCorners}/${halfPixelCenters} [${k}]: ${g[k]} vs ${up}`);
    }
    tf.dispose([x, w]);
  }
});

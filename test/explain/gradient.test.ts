import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { getMethod } from '../../src/explain/index.js';
import { trapezoidWeights } from '../../src/explain/methods/integrated.js';
import { buildClassifier } from '../../src/models/index.js';
import { assertClose, images, linearModel, noLeak, seeded } from './helpers.js';

before(async () => {
  // wasm with xwb's kernels: integrated gradients' ~70 gradient passes take seconds there, not tens of seconds.
  await initEngine({ prefer: 'wasm', logger: () => {} });
});

const model = buildClassifier({ inputSize: 16, classes: 3, base: 2, seed: 11, batchNorm: false });

test('gradient matches central finite differences along the gradient and a random direction', async () => {
  // One channel, so the signed map is the full gradient; directional differences have a signal well above
  // float32 rounding, where single-pixel differences of an untrained net would not.
  const grey = buildClassifier({
    inputSize: 16,
    classes: 2,
    base: 2,
    seed: 12,
    batchNorm: false,
    channels: 1,
  });
  const x = images(1, 16, 1, 21);
  const data = Float32Array.from(x.dataSync());
  const g = (await getMethod('gradient').explain(grey, x, 1, { mode: 'signed', reduce: 'sum' })).maps;
  const norm = Math.hypot(...g);
  const random = seeded(256, 99, -1, 1);
  const rnorm = Math.hypot(...random);
  const f = (v: Float32Array) =>
    tf.tidy(() => grey.predict(tf.tensor4d(v, [1, 16, 16, 1])).logits.dataSync()[1]);
  for (const [label, dir] of [
    ['gradient', g.map((v) => v / norm)],
    ['random', random.map((v) => v / rnorm)],
  ] as const) {
    // Curvature (ReLU and max-pool switches) grows fast with h along the steepest direction; rounding
    // (|logit| ≈ 0.1 · 6e-8 / h) stays below 1e-4 of |g| at h = 1e-3.
    const h = 1e-3;
    const numeric = (f(data.map((v, i) => v + h * dir[i])) - f(data.map((v, i) => v - h * dir[i]))) / (2 * h);
    const analytic = g.reduce((s, v, i) => s + v * dir[i], 0);
    assert.ok(
      Math.abs(numeric - analytic) < 3e-2 * norm,
      `${label}: analytic ${analytic}, numeric ${numeric}, |g| ${norm}`,
    );
  }
  x.dispose();
  grey.dispose();
});

test('input × gradient equals x · gradient, summed over channels', async () => {
  const x = images(2, 16, 3, 22);
  const ixg = await getMethod('input_x_gradient').explain(model, x, [0, 1]);
  const g = tf.tidy(() =>
    tf.grad((xx: tf.Tensor) =>
      tf.sum(
        tf.mul(
          model.predict(xx as tf.Tensor4D).logits,
          tf.tensor2d([
            [1, 0, 0],
            [0, 1, 0],
          ]),
        ),
      ),
    )(x),
  );
  const want = tf.tidy(() => tf.sum(tf.mul(x, g), 3).dataSync());
  assertClose(ixg.maps, want, 1e-5, 'x·g');
  tf.dispose([x, g]);
});

test('trapezoid weights integrate a line exactly', () => {
  const w = trapezoidWeights(4);
  assert.deepEqual(w, [0.125, 0.25, 0.25, 0.25, 0.125]);
  const integral = w.reduce((s, wk, k) => s + wk * (3 * (k / 4) + 1), 0);
  assert.ok(Math.abs(integral - 2.5) < 1e-12);
});

test('integrated gradients: completeness error shrinks with steps and is small', async () => {
  const x = images(2, 16, 3, 23);
  const errors: number[] = [];
  for (const steps of [2, 8, 64]) {
    const res = await getMethod('integrated_gradients').explain(model, x, 1, { steps, internalBatch: 32 });
    const delta = res.debug?.scoreDelta ?? [];
    const err = res.debug?.completenessError ?? [];
    // The summed map is Σ attributions (reduce 'sum'), so completeness is checkable from the map itself.
    for (let i = 0; i < 2; i++) {
      let total = 0;
      for (let k = i * 256; k < (i + 1) * 256; k++) total += res.maps[k];
      assert.ok(Math.abs(Math.abs(total - delta[i]) - err[i]) < 1e-3, 'debug matches the map');
    }
    errors.push(Math.max(...err) / Math.max(...delta.map(Math.abs)));
  }
  assert.ok(errors[2] < errors[0], `error shrinks: ${errors.join(', ')}`);
  assert.ok(errors[2] < 0.02, `64 steps: relative completeness error ${errors[2]}`);
  x.dispose();
});

test('integrated gradients on a linear model is exact with one step, for every baseline', async () => {
  const { linear, w } = linearModel();
  const x = images(1, 4, 1, 24);
  for (const baseline of ['black', 'white', 'mean']) {
    const res = await getMethod('integrated_gradients').explain(linear, x, 0, { steps: 1, baseline });
    const xs = Float32Array.from(x.dataSync());
    const b = baseline === 'black' ? 0 : baseline === 'white' ? 1 : xs.reduce((s, v) => s + v, 0) / 16;
    assertClose(
      res.maps,
      Array.from(xs, (v, i) => (v - b) * w[i]),
      1e-5,
      baseline,
    );
    assert.ok((res.debug?.completenessError[0] ?? 1) < 1e-4);
  }
  x.dispose();
  linear.dispose();
});

test('SmoothGrad with zero noise is the gradient; VarGrad is non-negative; seeds reproduce', async () => {
  const x = images(2, 16, 3, 25);
  const grad = await getMethod('gradient').explain(model, x, 0);
  const sg = await getMethod('smoothgrad').explain(model, x, 0, { noise: 0, samples: 3 });
  assertClose(sg.maps, grad.maps, 1e-5, 'smoothgrad σ=0');
  const vg = await getMethod('vargrad').explain(model, x, 0, { samples: 6, noise: 0.3, internalBatch: 4 });
  assert.ok(vg.maps.every((v) => v >= 0 && Number.isFinite(v)));
  assert.ok(
    vg.maps.some((v) => v > 0),
    'noise makes the gradient vary',
  );
  const vg1 = await getMethod('vargrad').explain(model, x, 0, {
    samples: 6,
    noise: 0.3,
    internalBatch: 4,
    batchSize: 1,
  });
  assertClose(vg1.maps, vg.maps, 1e-6, 'independent of the batch size');
  const sq = await getMethod('squaregrad').explain(model, x, 0, { samples: 6, noise: 0.3, internalBatch: 4 });
  // E[g²] ≥ Var[g] pixelwise, and both are ≥ 0.
  assert.ok(sq.maps.every((v, i) => v >= vg.maps[i] - 1e-9));
  x.dispose();
});

test('gradient methods leave no tensors behind', async () => {
  const x = images(3, 16, 3, 26);
  for (const name of ['gradient', 'input_x_gradient', 'smoothgrad', 'integrated_gradients']) {
    await noLeak(name, () =>
      getMethod(name).explain(model, x, 1, {
        batchSize: 2,
        ...(name === 'integrated_gradients' ? { steps: 4 } : name === 'smoothgrad' ? { samples: 3 } : {}),
      }),
    );
  }
  x.dispose();
});

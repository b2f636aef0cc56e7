import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { getMethod } from '../../src/explain/index.js';
import { windowStarts } from '../../src/explain/methods/occlusion.js';
import { assertClose, images, linearModel, seeded, toyModel } from './helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** image 2×2×1 → dense 3 (ReLU) → dense 2: small enough to backpropagate by hand. */
function oneLayerRelu() {
  const w1 = [
    [1, -2, 0.5],
    [-1, 1, 2],
    [0.5, 0.5, -1],
    [2, -1, 1],
  ];
  const b1 = [0.1, -0.2, 0.3];
  const w2 = [
    [1, -1],
    [-2, 1],
    [0.5, 3],
  ];
  const input = tf.input({ name: 'image', shape: [2, 2, 1] });
  const hidden = tf.layers.dense({ units: 3, activation: 'relu', name: 'hidden' });
  const out = tf.layers.dense({ units: 2, useBias: false, name: 'out' });
  const y = out.apply(hidden.apply(tf.layers.flatten().apply(input))) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: y });
  hidden.setWeights([tf.tensor2d(w1), tf.tensor1d(b1)]);
  out.setWeights([tf.tensor2d(w2)]);
  return { model: toyModel(m, 2, 1, 2), w1, b1, w2 };
}

test('guided backprop and deconvnet on a one-layer ReLU model equal the hand-computed maps', async () => {
  const { model, w1, b1, w2 } = oneLayerRelu();
  const xs = [0.9, 0.2, 0.4, 0.7];
  const x = tf.tensor4d(xs, [1, 2, 2, 1]);
  const z = [0, 1, 2].map((j) => b1[j] + xs.reduce((s, v, i) => s + v * w1[i][j], 0));
  for (const c of [0, 1]) {
    const guidedHidden = [0, 1, 2].map((j) => (z[j] > 0 ? Math.max(0, w2[j][c]) : 0));
    const deconvHidden = [0, 1, 2].map((j) => Math.max(0, w2[j][c]));
    const back = (h: number[]) => w1.map((row) => row.reduce((s, v, j) => s + v * h[j], 0));
    const guided = await getMethod('guided_backprop').explain(model, x, c);
    assertClose(guided.maps, back(guidedHidden), 1e-6, `guided class ${c}`);
    const deconv = await getMethod('deconvnet').explain(model, x, c);
    assertClose(deconv.maps, back(deconvHidden), 1e-6, `deconvnet class ${c}`);
    // The plain gradient differs from both: it passes negative gradient too.
    const plain = await getMethod('gradient').explain(model, x, c, { mode: 'signed', reduce: 'sum' });
    assertClose(
      plain.maps,
      back([0, 1, 2].map((j) => (z[j] > 0 ? w2[j][c] : 0))),
      1e-6,
      `gradient class ${c}`,
    );
  }
  assert.ok(z.some((v) => v <= 0) && z.some((v) => v > 0), 'the case has active and inactive units');
  x.dispose();
  model.dispose();
});

/** image 4×4×2 → conv 1×1 'feat' (identity) → ReLU → global average pooling → dense 2 with weights W. */
function camModel(w: number[][]) {
  const input = tf.input({ name: 'image', shape: [4, 4, 2] });
  const conv = tf.layers.conv2d({ name: 'feat', filters: 2, kernelSize: 1, useBias: false });
  const relu = tf.layers.activation({ name: 'feat_relu', activation: 'relu' });
  const dense = tf.layers.dense({ name: 'out', units: 2, useBias: false });
  const y = dense.apply(
    tf.layers.globalAveragePooling2d({}).apply(relu.apply(conv.apply(input))),
  ) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: y });
  conv.setWeights([tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2])]);
  dense.setWeights([tf.tensor2d(w)]);
  return toyModel(m, 4, 2, 2);
}

test('Grad-CAM and Grad-CAM++ on hand-set activations equal the formulas', async () => {
  const w = [
    [2, -1],
    [-0.5, 1.5],
  ];
  const model = camModel(w);
  const a = seeded(32, 7, 0, 1); // the activations are the input itself (identity conv, positive input)
  const x = tf.tensor4d(a, [1, 4, 4, 2]);
  for (const c of [0, 1]) {
    const g = [w[0][c] / 16, w[1][c] / 16]; // d(mean)/dA is 1/16 at every position
    const cam = Array.from({ length: 16 }, (_, p) => Math.max(0, g[0] * a[2 * p] + g[1] * a[2 * p + 1]));
    const res = await getMethod('gradcam').explain(model, x, c);
    assertClose(res.maps, cam, 1e-6, `gradcam class ${c}`);
    const named = await getMethod('gradcam').explain(model, x, c, { layer: 'feat_relu' });
    assertClose(named.maps, cam, 1e-6, 'named layer');
    const sumA = [0, 1].map((k) => a.filter((_, i) => i % 2 === k).reduce((s, v) => s + v, 0));
    const wpp = [0, 1].map((k) => {
      const alpha = g[k] ** 2 / (2 * g[k] ** 2 + sumA[k] * g[k] ** 3);
      return 16 * alpha * Math.max(0, g[k]);
    });
    const campp = Array.from({ length: 16 }, (_, p) =>
      Math.max(0, wpp[0] * a[2 * p] + wpp[1] * a[2 * p + 1]),
    );
    const pp = await getMethod('gradcampp').explain(model, x, c);
    assertClose(pp.maps, campp, 1e-5, `gradcampp class ${c}`);
  }
  await assert.rejects(getMethod('gradcam').explain(model, x, 0, { layer: 'nope' }), /has no layer 'nope'/);
  await assert.rejects(getMethod('gradcam').explain(model, x, 0, { layer: 'out' }), /not a spatial map/);
  x.dispose();
  model.dispose();
});

test('occlusion on a linear model equals the hand-computed mean drop', async () => {
  const { linear, w } = linearModel();
  const xs = seeded(16, 3);
  const x = tf.tensor4d(xs, [1, 4, 4, 1]);
  const window = 2;
  const stride = 1;
  const fill = 0.5;
  const starts = windowStarts(4, window, stride);
  const sum = new Array(16).fill(0);
  const count = new Array(16).fill(0);
  for (const y0 of starts) {
    for (const x0 of starts) {
      let drop = 0;
      for (let r = y0; r < y0 + window; r++)
        for (let c = x0; c < x0 + window; c++) drop += w[r * 4 + c] * (xs[r * 4 + c] - fill);
      for (let r = y0; r < y0 + window; r++) {
        for (let c = x0; c < x0 + window; c++) {
          sum[r * 4 + c] += drop;
          count[r * 4 + c] += 1;
        }
      }
    }
  }
  const res = await getMethod('occlusion').explain(linear, x, 0, { window, stride, fill, internalBatch: 4 });
  assertClose(
    res.maps,
    sum.map((s, i) => s / count[i]),
    1e-5,
    'occlusion',
  );
  // Class 1 is the negated logit: the drop map flips sign.
  const neg = await getMethod('occlusion').explain(linear, x, 1, { window, stride, fill });
  assertClose(
    neg.maps,
    sum.map((s, i) => -s / count[i]),
    1e-5,
    'occlusion class 1',
  );
  x.dispose();
  linear.dispose();
});

test('window origins cover the border', () => {
  assert.deepEqual(windowStarts(10, 4, 3), [0, 3, 6]);
  assert.deepEqual(windowStarts(10, 4, 4), [0, 4, 6]);
  assert.deepEqual(windowStarts(4, 4, 2), [0]);
});

test('RISE on a linear model ranks pixels by weight and reproduces with its seed', async () => {
  // For a linear score, E[f(x⊙M)·M_p]/p = w_p x_p·E[M_p²]/p + Σ_q≠p w_q x_q E[M_q M_p]/p: positive weights
  // should come out on top; a loose sanity check of the estimator's sign and scale.
  const { linear, w } = linearModel();
  const x = tf.tensor4d(new Float32Array(16).fill(1), [1, 4, 4, 1]);
  const res = await getMethod('rise').explain(linear, x, 0, { masks: 400, cell: 2, score: 'logit', seed: 5 });
  const pairs = [...res.maps].map((v, i) => [v, w[i]] as const);
  const best = pairs.reduce((a, b) => (b[0] > a[0] ? b : a));
  const worst = pairs.reduce((a, b) => (b[0] < a[0] ? b : a));
  assert.ok(best[1] > worst[1], `highest saliency at weight ${best[1]}, lowest at ${worst[1]}`);
  const again = await getMethod('rise').explain(linear, x, 0, {
    masks: 400,
    cell: 2,
    score: 'logit',
    seed: 5,
  });
  assert.deepEqual(again.maps, res.maps, 'seeded');
  x.dispose();
  linear.dispose();
});

test('guided Grad-CAM is guided backprop times the Grad-CAM', async () => {
  const model = camModel([
    [1, -1],
    [1, 2],
  ]);
  const x = images(2, 4, 2, 9);
  const gg = await getMethod('guided_gradcam').explain(model, x, 1, { reduce: 'sum' });
  const cam = await getMethod('gradcam').explain(model, x, 1);
  const guided = await getMethod('guided_backprop').explain(model, x, 1, { reduce: 'sum' });
  assertClose(
    gg.maps,
    guided.maps.map((v, i) => v * cam.maps[i]),
    1e-6,
    'guided gradcam',
  );
  x.dispose();
  model.dispose();
});

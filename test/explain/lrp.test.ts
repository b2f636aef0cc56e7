import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { getMethod } from '../../src/explain/index.js';
import {
  alphaBetaRule,
  applyRule,
  epsilonRule,
  flatRule,
  zBoxRule,
  zPlusRule,
} from '../../src/explain/lrp/rules.js';
import { buildClassifier } from '../../src/models/index.js';
import { assertClose, images, noLeak, randomizeBatchNorm, toyModel } from './helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** image 6×6×2 → conv3×3 ReLU → max pool → conv3×3 ReLU → flatten → dense 5 ReLU → dense 3; no biases. */
function tinyNet(seed: number) {
  const input = tf.input({ name: 'image', shape: [6, 6, 2] });
  const init = (k: number) => tf.initializers.randomNormal({ mean: 0, stddev: 0.6, seed: seed + k });
  let y = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      useBias: false,
      kernelInitializer: init(1),
    })
    .apply(input) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .conv2d({
      filters: 3,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      useBias: false,
      kernelInitializer: init(2),
    })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten().apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .dense({ units: 5, activation: 'relu', useBias: false, kernelInitializer: init(3) })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 3, useBias: false, kernelInitializer: init(4) }).apply(y) as tf.SymbolicTensor;
  return toyModel(tf.model({ inputs: input, outputs: y }), 6, 2, 3);
}

function logits(model: ReturnType<typeof tinyNet>, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => model.predict(x).logits.dataSync() as Float32Array);
}

function perImageSums(maps: Float32Array, n: number): number[] {
  const per = maps.length / n;
  return Array.from({ length: n }, (_, i) => maps.slice(i * per, (i + 1) * per).reduce((s, v) => s + v, 0));
}

test('LRP-ε conserves the logit (ε → 0, no biases) and equals input × gradient on a ReLU net', async () => {
  const model = tinyNet(1);
  const x = images(3, 6, 2, 31);
  const z = logits(model, x);
  for (const c of [0, 2]) {
    const res = await getMethod('lrp_epsilon').explain(model, x, c, { epsilon: 1e-9 });
    const sums = perImageSums(res.maps, 3);
    for (let i = 0; i < 3; i++)
      assert.ok(Math.abs(sums[i] - z[i * 3 + c]) < 1e-4, `image ${i}: ${sums[i]} vs ${z[i * 3 + c]}`);
    const ixg = await getMethod('input_x_gradient').explain(model, x, c);
    assertClose(res.maps, ixg.maps, 1e-4, 'LRP-0 = x·grad');
  }
  for (const composite of ['epsilon_plus', 'zplus']) {
    const res = await getMethod('lrp').explain(model, x, 1, { composite, epsilon: 1e-9 });
    const sums = perImageSums(res.maps, 3);
    for (let i = 0; i < 3; i++)
      assert.ok(
        Math.abs(sums[i] - z[i * 3 + 1]) < 1e-3 * Math.max(1, Math.abs(z[i * 3 + 1])),
        `${composite} image ${i}`,
      );
  }
  x.dispose();
  model.dispose();
});

test('z+ relevance has the sign of the class score everywhere (also on a BN classifier)', async () => {
  const tiny = tinyNet(2);
  const real = buildClassifier({ inputSize: 16, classes: 2, base: 2, seed: 5 });
  randomizeBatchNorm(real.parts.classifier, 3);
  for (const [model, x] of [
    [tiny, images(2, 6, 2, 32)],
    [real, images(2, 16, 3, 33)],
  ] as const) {
    const z = tf.tidy(() => model.predict(x).logits.dataSync());
    for (let c = 0; c < model.classes; c++) {
      const res = await getMethod('lrp').explain(model, x, c, { composite: 'zplus', reduce: 'sum' });
      const per = res.maps.length / 2;
      for (let i = 0; i < 2; i++) {
        const sign = Math.sign(z[i * model.classes + c]);
        const maps = res.maps.slice(i * per, (i + 1) * per);
        assert.ok(
          maps.every((v) => v * sign >= -1e-7),
          `class ${c} image ${i}: relevance against the score's sign`,
        );
        assert.ok(
          maps.some((v) => v !== 0),
          'some relevance',
        );
      }
    }
    x.dispose();
  }
  tiny.dispose();
  real.dispose();
});

const layer = (x: tf.Tensor, p: { kernel: tf.Tensor; bias: tf.Tensor1D | null }) => {
  const y = tf.matMul(x as tf.Tensor2D, p.kernel as tf.Tensor2D);
  return p.bias ? tf.add(y, p.bias) : y;
};

test('rules on one dense layer equal their formulas', () => {
  const xs = [0.5, -1, 2];
  const w = [
    [1, -0.5],
    [2, 1],
    [-1, 0.25],
  ];
  const b = [0.2, -0.1];
  const r = [1.5, -0.7];
  const ctx = { bounds: [-1, 3] as [number, number] };
  const run = (rule: Parameters<typeof applyRule>[0]) =>
    tf.tidy(() =>
      Array.from(
        applyRule(
          rule,
          layer,
          tf.tensor2d([xs]),
          { kernel: tf.tensor2d(w), bias: tf.tensor1d(b) },
          tf.tensor2d([r]),
          ctx,
        ).dataSync(),
      ),
    );
  const pos = (v: number) => Math.max(0, v);
  const neg = (v: number) => Math.min(0, v);
  const sumOver = (f: (i: number, j: number) => number, j: number) =>
    [0, 1, 2].reduce((s, i) => s + f(i, j), 0);
  const expect = (num: (i: number, j: number) => number, den: (j: number) => number) =>
    xs.map((_, i) => [0, 1].reduce((s, j) => s + (num(i, j) / den(j)) * r[j], 0));
  // ε (bias in the denominator)
  const eps = 0.1;
  const zj = (j: number) => sumOver((i, jj) => xs[i] * w[i][jj], j) + b[j];
  assertClose(
    run(epsilonRule(eps)),
    expect(
      (i, j) => xs[i] * w[i][j],
      (j) => zj(j) + eps * (zj(j) >= 0 ? 1 : -1),
    ),
    1e-5,
    'epsilon',
  );
  // z+: x⁺w⁺ + x⁻w⁻ over its sum, no bias
  const zp = (i: number, j: number) => pos(xs[i]) * pos(w[i][j]) + neg(xs[i]) * neg(w[i][j]);
  assertClose(
    run(zPlusRule),
    expect(zp, (j) => sumOver(zp, j) + 1e-6),
    1e-5,
    'zplus',
  );
  // α2β1: positive part with positive bias, negative part with negative bias
  const zn = (i: number, j: number) => pos(xs[i]) * neg(w[i][j]) + neg(xs[i]) * pos(w[i][j]);
  const plus = expect(zp, (j) => sumOver(zp, j) + pos(b[j]) + 1e-6);
  const minus = expect(zn, (j) => sumOver(zn, j) + neg(b[j]) - 1e-6);
  assertClose(
    run(alphaBetaRule(2, 1)),
    plus.map((v, i) => 2 * v - minus[i]),
    1e-5,
    'alpha2beta1',
  );
  // z^B with box [-1, 3] (Montavon et al. 2017, eq. for z^B; Zennit's ZBox): the bias is in neither the
  // numerator nor the denominator, so the layer passes on exactly Σ_j R_j although it has a bias.
  const zb = (i: number, j: number) => xs[i] * w[i][j] - -1 * pos(w[i][j]) - 3 * neg(w[i][j]);
  const box = run(zBoxRule);
  assertClose(
    box,
    expect(zb, (j) => sumOver(zb, j) + 1e-6),
    1e-5,
    'zbox',
  );
  const total = box.reduce((a, v) => a + v, 0);
  assert.ok(Math.abs(total - (r[0] + r[1])) < 1e-5, `zbox conserves: ${total} vs ${r[0] + r[1]}`);
  // flat: every input gets an equal share of each output
  assertClose(
    run(flatRule),
    xs.map(() => (r[0] + r[1]) / 3),
    1e-5,
    'flat',
  );
});

test('on a real BN classifier each LRP map reports its conservation: Σ map ÷ the logit from predict', async () => {
  const model = buildClassifier({ inputSize: 16, classes: 2, base: 2, seed: 8 });
  randomizeBatchNorm(model.parts.classifier, 4);
  const x = images(2, 16, 3, 34);
  const z = tf.tidy(() => model.predict(x).logits.dataSync());
  for (const name of [
    'deep_taylor',
    'lrp_epsilon_plus_flat',
    'lrp_alpha2beta1',
    'lrp_epsilon_plus',
    'lrp_epsilon',
  ]) {
    const res = await noLeak(name, () => getMethod(name).explain(model, x, [0, 1]));
    const sums = perImageSums(res.maps, 2);
    const reported = res.debug?.conservation ?? [];
    for (let i = 0; i < 2; i++) {
      const want = sums[i] / z[i * 2 + i];
      assert.ok(
        Math.abs(reported[i] - want) < 1e-4 * Math.max(1, Math.abs(want)),
        `${name} image ${i}: reported ${reported[i]}, Σ map / logit ${want}`,
      );
    }
  }
  // Only channel-summed maps keep the total; the conservation is taken before the reduction all the same.
  const abs = await getMethod('deep_taylor').explain(model, x, [0, 1], { reduce: 'abssum' });
  const plain = await getMethod('deep_taylor').explain(model, x, [0, 1]);
  assert.deepEqual(abs.debug?.conservation, plain.debug?.conservation);
  x.dispose();
  model.dispose();
});

/**
 * The gradient family against the float64 reference (reference.ts) on the conv + batch norm + ReLU + pool +
 * dense net: the chain rule written out by hand, not tfjs's autodiff. Tolerance 1e-6 of the map's scale
 * (float32 arithmetic on a net this small stays well inside it).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { getMethod } from '../../src/explain/index.js';
import { images, linearModel } from './helpers.js';
import { bnNet, relativeError } from './nets.js';
import { gradient, integratedGradients, sumChannels } from './reference.js';

before(async () => {
  await tf.setBackend('cpu');
});

const N = 3;
const PER = 6 * 6 * 2;

function perImage(x: tf.Tensor4D): number[][] {
  const all = Array.from(x.dataSync());
  return Array.from({ length: N }, (_, i) => all.slice(i * PER, (i + 1) * PER));
}

function mapOf(maps: Float32Array, i: number): Float32Array {
  return maps.slice(i * 36, (i + 1) * 36);
}

test('gradient, input × gradient and guided backprop equal the hand-written chain rule to 1e-6', async () => {
  const net = bnNet(520);
  const x = images(N, 6, 2, 81);
  const xs = perImage(x);
  for (const c of [0, 1]) {
    const signed = await getMethod('gradient').explain(net.model, x, c, { mode: 'signed', reduce: 'sum' });
    const max = await getMethod('gradient').explain(net.model, x, c, { mode: 'abs', reduce: 'max' });
    const ixg = await getMethod('input_x_gradient').explain(net.model, x, c);
    const guided = await getMethod('guided_backprop').explain(net.model, x, c);
    for (let i = 0; i < N; i++) {
      const g = gradient(net.ref, xs[i], c);
      const checks: [string, Float32Array, number[]][] = [
        ['gradient (signed, Σ channels)', signed.maps, sumChannels(g, 2)],
        [
          'gradient (|g|, max over channels)',
          max.maps,
          Array.from({ length: 36 }, (_, p) => Math.max(Math.abs(g[2 * p]), Math.abs(g[2 * p + 1]))),
        ],
        [
          'input × gradient',
          ixg.maps,
          sumChannels(
            g.map((v, k) => v * xs[i][k]),
            2,
          ),
        ],
        ['guided backprop', guided.maps, sumChannels(gradient(net.ref, xs[i], c, 'guided'), 2)],
      ];
      for (const [label, got, want] of checks) {
        assert.ok(
          want.some((v) => v !== 0),
          `${label}: the reference is not all zero`,
        );
        const err = relativeError(mapOf(got, i), want);
        assert.ok(err < 1e-6, `${label} class ${c} image ${i}: relative error ${err}`);
      }
    }
  }
  x.dispose();
  net.model.dispose();
});

test('integrated gradients equal the float64 trapezoid sum of hand-computed gradients to 1e-6', async () => {
  const net = bnNet(520);
  const x = images(N, 6, 2, 82);
  const xs = perImage(x);
  for (const [baseline, b] of [
    ['black', 0],
    ['white', 1],
  ] as const) {
    const res = await getMethod('integrated_gradients').explain(net.model, x, 1, { steps: 16, baseline });
    for (let i = 0; i < N; i++) {
      const want = sumChannels(integratedGradients(net.ref, xs[i], 1, new Array(PER).fill(b), 16), 2);
      const err = relativeError(mapOf(res.maps, i), want);
      assert.ok(err < 1e-6, `IG ${baseline} image ${i}: relative error ${err}`);
    }
  }
  x.dispose();
  net.model.dispose();
});

test('SmoothGrad, SquareGrad and VarGrad on a linear model: the gradient is constant, so w, w² and 0', async () => {
  const { linear, w } = linearModel();
  const x = images(2, 4, 1, 83);
  const noisy = { noise: 0.3, samples: 5, internalBatch: 5 };
  const sg = await getMethod('smoothgrad').explain(linear, x, 0, { ...noisy, mode: 'signed' });
  const sq = await getMethod('squaregrad').explain(linear, x, 0, noisy);
  const vg = await getMethod('vargrad').explain(linear, x, 0, noisy);
  const both = (f: (v: number) => number) => [...w.map(f), ...w.map(f)];
  assert.ok(
    relativeError(
      sg.maps,
      both((v) => v),
    ) < 1e-6,
    'SmoothGrad = w',
  );
  assert.ok(
    relativeError(
      sq.maps,
      both((v) => v * v),
    ) < 1e-6,
    'SquareGrad = w²',
  );
  const scale = Math.max(...w.map((v) => v * v));
  assert.ok(
    vg.maps.every((v) => Math.abs(v) <= 1e-6 * scale),
    'VarGrad = 0',
  );
  // Class 1 is −Σ w·x: the signed SmoothGrad flips, the squares do not.
  const sg1 = await getMethod('smoothgrad').explain(linear, x, 1, { ...noisy, mode: 'signed' });
  assert.ok(
    relativeError(
      sg1.maps,
      both((v) => -v),
    ) < 1e-6,
    'SmoothGrad of class 1 = −w',
  );
  x.dispose();
  linear.dispose();
});

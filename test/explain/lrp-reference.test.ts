/**
 * Every LRP composite against the float64 reference (reference.ts) on two tiny networks: one with the
 * conv + batch norm + ReLU + pool + dense pattern of xwb's classifier, one whose first layer with weights is a
 * dense layer behind a flatten. Maps must agree to 5e-6 of the map's scale (measured: below 5e-7 for ε and α2β1, 1.6e-6 for z+ on one
 * image, float32 rounding), conservation to 1e-5.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { getMethod } from '../../src/explain/index.js';
import { images } from './helpers.js';
import { bnNet, flatNet, relativeError, type TwinNet } from './nets.js';
import { forward, lrp, REF_COMPOSITES, sum, sumChannels } from './reference.js';

before(async () => {
  await tf.setBackend('cpu');
});

const METHODS: [string, string][] = [
  ['lrp_epsilon', 'epsilon'],
  ['lrp_epsilon_plus', 'epsilon_plus'],
  ['lrp_epsilon_plus_flat', 'epsilon_plus_flat'],
  ['lrp_alpha2beta1', 'alpha2beta1'],
  ['deep_taylor', 'deep_taylor'],
];
const COMPOSITE_ONLY = ['epsilon_plus_box', 'zplus'];

async function check(net: TwinNet, label: string): Promise<void> {
  const n = 3;
  const x = images(n, net.size, net.channels, 71);
  const pixels = Array.from(x.dataSync());
  const per = net.size * net.size * net.channels;
  const runs: [string, Record<string, string>, string][] = [
    ...METHODS.map(([m, c]): [string, Record<string, string>, string] => [m, {}, c]),
    ...COMPOSITE_ONLY.map((c): [string, Record<string, string>, string] => ['lrp', { composite: c }, c]),
  ];
  for (const [method, params, composite] of runs) {
    for (const c of [0, 1]) {
      const res = await getMethod(method).explain(net.model, x, c, params);
      const conservation = res.debug?.conservation;
      assert.ok(conservation && conservation.length === n, `${label} ${method}: conservation per image`);
      for (let i = 0; i < n; i++) {
        const xi = pixels.slice(i * per, (i + 1) * per);
        const rs = lrp(net.ref, xi, c, REF_COMPOSITES[composite]);
        const want = sumChannels(rs[0], net.channels);
        const got = res.maps.slice(i * net.size ** 2, (i + 1) * net.size ** 2);
        const err = relativeError(got, want);
        assert.ok(err < 5e-6, `${label} ${composite} class ${c} image ${i}: relative error ${err}`);
        const logit = forward(net.ref, xi).at(-1)![c];
        const expected = sum(rs[0]) / logit;
        assert.ok(
          Math.abs(conservation[i] - expected) < 1e-5 * Math.max(1, Math.abs(expected)),
          `${label} ${composite}: conservation ${conservation[i]} vs ${expected}`,
        );
      }
    }
  }
  x.dispose();
}

test('every LRP composite equals the float64 reference on a conv + batch norm + ReLU + dense net', async () => {
  const net = bnNet(500);
  await check(net, 'bn net');
  net.model.dispose();
});

test('the first-layer rule follows the first layer with weights: a dense layer behind a flatten', async () => {
  const net = flatNet(620);
  await check(net, 'flat net');
  // The rule really is the first-layer one: z^B differs from z+ here (inputs in [0, 1], mixed-sign weights).
  const x = images(1, 3, 2, 72);
  const xi = Array.from(x.dataSync());
  const box = sumChannels(lrp(net.ref, xi, 0, REF_COMPOSITES.deep_taylor)[0], 2);
  const plus = sumChannels(lrp(net.ref, xi, 0, REF_COMPOSITES.zplus)[0], 2);
  assert.ok(relativeError(plus, box) > 1e-2, 'z^B and z+ give different maps on this net');
  const got = (await getMethod('deep_taylor').explain(net.model, x, 0)).maps;
  assert.ok(relativeError(got, box) < 1e-5, 'deep Taylor uses z^B on the dense first layer');
  x.dispose();
  net.model.dispose();
});

test('deep Taylor conserves the relevance through z^B even though batch norm gave the first layer a bias', async () => {
  const net = bnNet(520);
  const x = images(2, 6, 2, 73);
  const xs = Array.from(x.dataSync());
  const res = await getMethod('deep_taylor').explain(net.model, x, 1);
  for (let i = 0; i < 2; i++) {
    const xi = xs.slice(i * 72, (i + 1) * 72);
    const rs = lrp(net.ref, xi, 1, REF_COMPOSITES.deep_taylor);
    // rs[1]: the relevance reaching the first convolution's output; rs[0]: what z^B passes to the pixels.
    assert.ok(Math.abs(sum(rs[0]) - sum(rs[1])) < 1e-5 * Math.abs(sum(rs[1])), 'z^B conserves');
    assert.ok(net.ref[0].type === 'linear' && net.ref[0].b.some((b) => Math.abs(b) > 0.05), 'a real bias');
    const map = res.maps.slice(i * 36, (i + 1) * 36);
    assert.ok(Math.abs(sum(map) - sum(rs[1])) < 1e-5 * Math.abs(sum(rs[1])), 'the map sums to what arrived');
  }
  x.dispose();
  net.model.dispose();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { complexity } from '../../src/metrics/complexity/complexity.js';
import { fractionExplained } from '../../src/metrics/complexity/fraction-explained.js';
import { sparseness } from '../../src/metrics/complexity/sparseness.js';
import { totalVariationMetric } from '../../src/metrics/complexity/total-variation.js';
import { assertClose, mapOf } from './helpers.js';

const values = (width: number, height: number, v: number[]) =>
  mapOf(width, height, (x, y) => v[y * width + x]);

test('sparseness: Gini of |map| as Quantus (divided by the max, then its 1e-7 offset)', async () => {
  // scipy/numpy on [0, 0, 0, 1] + 1e-7: 0.74999970000012.
  assertClose((await sparseness.run({ map: values(2, 2, [0, 0, 0, -1]) })).value, 0.74999970000012, 1e-12);
  // A map peaking at 2e-5 (integrated gradients' scale) scores as its max-normalised self [0, 0, 0.5, 1]:
  // Σ(2i − n − 1)(a + 1e-7) / (n Σ(a + 1e-7)) = 0.5833331777778192 (float64 by hand); with the offset on the
  // raw map it would be 0.576, the offset being no longer small next to the values.
  assertClose(
    (await sparseness.run({ map: values(2, 2, [0, 1e-5, 0, -2e-5]) })).value,
    0.5833331777778192,
    1e-9,
  );
  const raw = await sparseness.run({ map: values(2, 2, [0, 1e-5, 0, -2e-5]) }, { normalise: 'none' });
  assert.ok(Math.abs(raw.value - 0.5756578947368421) < 1e-6, `without the normalisation: ${raw.value}`);
  assertClose((await sparseness.run({ map: mapOf(4, 4, () => 0.3) })).value, 0, 1e-12);
  assertClose((await sparseness.run({ map: mapOf(4, 4, () => 0) })).value, 0, 1e-12);
});

test('complexity: entropy of the normalised |map|', async () => {
  assertClose((await complexity.run({ map: values(2, 2, [1, 2, 3, 4]) })).value, 1.2798542258336676, 1e-12);
  assert.equal((await complexity.run({ map: values(2, 2, [0, 0, 5, 0]) })).value, 0);
  assertClose((await complexity.run({ map: mapOf(4, 4, () => 2) })).value, Math.log(16), 1e-12);
  const zeros = await complexity.run({ map: mapOf(4, 4, () => 0) });
  assert.ok(Number.isNaN(zeros.value) && /all zeros/.test(zeros.note ?? ''));
  await assert.rejects(
    complexity.run({ map: values(2, 2, [1, -1, 0, 0]) }, { abs: false }),
    /needs abs = true/,
  );
});

test('total variation: mean (the loss definition) and sum', async () => {
  // Rows [0 1 3] / [2 2 2]: vertical |2| + |1| + |1| = 4 over 3 pairs; horizontal 1 + 2 + 0 + 0 = 3 over 4.
  const map = values(3, 2, [0, 1, 3, 2, 2, 2]);
  assertClose((await totalVariationMetric.run({ map })).value, 4 / 3 + 3 / 4);
  assert.equal((await totalVariationMetric.run({ map }, { reduction: 'sum' })).value, 7);
  assert.equal((await totalVariationMetric.run({ map: values(3, 1, [0, 2, 1]) })).value, 1.5);
  assert.equal((await totalVariationMetric.run({ map: mapOf(5, 5, () => 1) })).value, 0);
});

test('fraction explained: strictly above the threshold', async () => {
  const map = mapOf(4, 4, (x, y) => (y === 0 && x < 3 ? 0.9 : x === 3 && y === 3 ? 0.5 : 0));
  assert.equal((await fractionExplained.run({ map })).value, 3 / 16);
  assert.equal((await fractionExplained.run({ map }, { threshold: 0 })).value, 4 / 16);
  assert.equal((await fractionExplained.run({ map: mapOf(4, 4, () => 0.7) })).value, 1);
  // min-max on a constant map: all zeros, nothing explained.
  assert.equal(
    (await fractionExplained.run({ map: mapOf(4, 4, () => 0.7) }, { normalise: 'min-max' })).value,
    0,
  );
});

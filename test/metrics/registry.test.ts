import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getMetric, METRICS, metricNames, selectMetrics } from '../../src/metrics/registry.js';

test('every metric is registered once, with a family, a reference and defaults that resolve', async () => {
  assert.equal(METRICS.size, 21);
  for (const [name, m] of METRICS) {
    assert.equal(m.name, name);
    assert.ok(m.reference.length > 10, `${name} cites its source`);
    assert.equal(typeof m.higherIsBetter, 'boolean');
    for (const [key, allowed] of Object.entries(m.choices)) {
      assert.ok(
        (allowed as readonly string[]).includes(m.defaults[key] as string),
        `${name}.${key} default is a choice`,
      );
    }
  }
  assert.throws(() => getMetric('pointing'), /unknown metric "pointing"; known metrics: pointing-game/);
});

test('selectMetrics understands all, families and names, in registry order', () => {
  assert.equal(selectMetrics('all').length, 21);
  assert.deepEqual(
    selectMetrics('complexity').map((m) => m.name),
    ['sparseness', 'complexity', 'total-variation', 'fraction-explained'],
  );
  assert.deepEqual(
    selectMetrics('pompom, pointing-game,pompom').map((m) => m.name),
    ['pointing-game', 'pompom'],
  );
  assert.deepEqual(metricNames('separability'), ['diffusion']);
  assert.throws(() => selectMetrics(' , '), /no metric selected/);
});

test('shape metrics run through the registry on a bare map', async () => {
  const map = { data: new Float32Array([0, 1, 0, 0]), width: 2, height: 2 };
  for (const m of selectMetrics('complexity')) {
    const r = await m.run({ map });
    assert.ok(Number.isFinite(r.value), m.name);
    assert.deepEqual(r.params, m.defaults);
  }
});

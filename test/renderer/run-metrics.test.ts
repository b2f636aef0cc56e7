import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runMetricsTable } from '../../src/api/service.js';

test('runs.metrics: means per method and metric, NaN skipped, different params kept apart', () => {
  const t = runMetricsTable(3, [
    { method: 'gradcam', metrics: [{ metric: 'iou', paramsHash: 'aaaaaaaa', value: 0.2 }] },
    { method: 'gradcam', metrics: [{ metric: 'iou', paramsHash: 'aaaaaaaa', value: 0.4 }] },
    { method: 'lrp', metrics: [{ metric: 'iou', paramsHash: 'aaaaaaaa', value: Number.NaN }] },
    {
      method: 'explainer',
      metrics: [
        { metric: 'deletion', paramsHash: 'h1h1h1h1', value: 0.1 },
        { metric: 'deletion', paramsHash: 'h2h2h2h2', value: 0.3 },
      ],
    },
    { method: 'saliency', metrics: [] },
  ]);
  assert.deepEqual(t.metrics, ['deletion[h1h1h1]', 'deletion[h2h2h2]', 'iou']);
  const by = Object.fromEntries(t.methods.map((m) => [m.method, m]));
  assert.deepEqual(
    Object.keys(by),
    ['explainer', 'gradcam', 'lrp'],
    'methods with no measurements are left out',
  );
  assert.ok(Math.abs((by.gradcam.means[2] ?? 0) - 0.3) < 1e-12);
  assert.deepEqual(by.gradcam.counts, [0, 0, 2]);
  assert.equal(by.lrp.means[2], null, 'only NaN measured: no mean');
  assert.deepEqual(by.explainer.means.slice(0, 2), [0.1, 0.3]);
  assert.equal(runMetricsTable(1, []).methods.length, 0);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pivotMetricRows } from '../../renderer/src/lib/table.js';

test('metrics.table rows pivot into one row per method, different params kept apart', () => {
  const t = pivotMetricRows([
    { method: 'gradcam', metric: 'iou', paramsHash: 'aaaaaaaa', mean: 0.3, n: 2 },
    { method: 'lrp', metric: 'iou', paramsHash: 'aaaaaaaa', mean: null, n: 0 },
    { method: 'explainer', metric: 'deletion', paramsHash: 'h1h1h1h1', mean: 0.1, n: 1 },
    { method: 'explainer', metric: 'deletion', paramsHash: 'h2h2h2h2', mean: 0.3, n: 1 },
  ]);
  assert.ok(t);
  assert.deepEqual(t.columns, ['deletion[h1h1h1]', 'deletion[h2h2h2]', 'iou']);
  assert.deepEqual(
    t.rows.map((r) => r.name),
    ['explainer', 'gradcam', 'lrp'],
  );
  assert.deepEqual(t.rows[0].values, [0.1, 0.3, null]);
  assert.deepEqual(t.rows[1].values, [null, null, 0.3]);
  assert.deepEqual(t.rows[2].values, [null, null, null], 'only NaN measured: no mean');
  assert.equal(pivotMetricRows([]), null);
});

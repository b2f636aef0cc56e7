/**
 * The evaluation that shares its work (pooled model calls, scores met twice reused, the randomisation cascade
 * shuffled once, other classes' maps explained once) gives the numbers of the evaluation that measured each
 * method and image alone (reference.ts, the implementation before), on a small fixed case with every metric.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { evaluateRun, resolveMetrics, rowKey } from '../../src/evaluate/index.js';
import { loadRunModel, type RunModel } from '../../src/explain/run-model.js';
import { listSplit } from '../../src/training/data/load.js';
import { type EvalFixture, evalFixture, wasmEngine } from './fixture.js';
import { evaluateRun as referenceEvaluate } from './reference.js';

let f: EvalFixture;
let rm: RunModel;

before(async () => {
  await wasmEngine();
  f = await evalFixture(16);
  rm = await loadRunModel(f.store, await f.makeRun({ seed: 9 }));
});

after(() => {
  rm.dispose();
  f.done();
});

// Cheaper settings than the defaults, same code paths.
const metricParams = {
  deletion: { stepFraction: 0.05 },
  insertion: { stepFraction: 0.05 },
  'aopc-morf': { regions: 12 },
  'aopc-lerf': { regions: 12 },
  'faithfulness-correlation': { runs: 12, subsetSize: 64 },
};
const methodParams = {
  smoothgrad: { samples: 6, internalBatch: 3 },
  integrated_gradients: { steps: 6, internalBatch: 4 },
};

test('every metric: the shared-work evaluation equals measuring each method and image alone', async () => {
  const ids = listSplit(f.store, f.datasetId, 'val').map((i) => i.id);
  assert.ok(ids.length >= 4, `the case needs more than one chunk, got ${ids.length} images`);
  const metrics = resolveMetrics('all');
  const methods = ['explainer', 'random', 'gradient', 'smoothgrad', 'occlusion'];
  const common = { methods, metrics, imageIds: ids, metricParams, methodParams, batchSize: 3 };
  let t = performance.now();
  const old = await referenceEvaluate(f.store, rm, common);
  const oldS = (performance.now() - t) / 1000;
  t = performance.now();
  const tensors = tf.memory().numTensors;
  const progress: number[] = [];
  const now = await evaluateRun(f.store, rm, {
    ...common,
    onProgress: (p) => progress.push(p.units / p.unitsTotal),
  });
  console.log(
    `reference ${oldS.toFixed(1)} s, shared ${((performance.now() - t) / 1000).toFixed(1)} s`,
    now.timings,
  );
  assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind (the copy and its stages released)');
  assert.equal(now.values, old.values);
  assert.equal(now.values, ids.length * methods.length * metrics.length);
  let compared = 0;
  for (const method of methods) {
    for (const m of metrics) {
      const a = old.perImage.get(rowKey(method, m.name))!;
      const b = now.perImage.get(rowKey(method, m.name))!;
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) {
        if (Number.isNaN(a[i])) {
          assert.ok(Number.isNaN(b[i]), `${method} × ${m.name}, image ${i}: NaN before, ${b[i]} now`);
          continue;
        }
        // Pooled model calls and the pass pool change only float rounding.
        const tol = 1e-4 * Math.max(1, Math.abs(a[i]));
        assert.ok(
          Math.abs(a[i] - b[i]) <= tol,
          `${method} × ${m.name}, image ${i}: ${a[i]} before, ${b[i]} now`,
        );
        compared++;
      }
    }
  }
  assert.ok(compared > (ids.length * methods.length * metrics.length) / 2, `compared ${compared} values`);
  // Work was shared: faithfulness correlation's copies and every curve's first image are scored once.
  assert.ok(
    now.timings.scores.computed < now.timings.scores.requested * 0.9,
    JSON.stringify(now.timings.scores),
  );
  assert.ok(progress.length > 0 && progress.at(-1) === 1, 'progress ends at every unit done');
  for (let i = 1; i < progress.length; i++)
    assert.ok(progress[i] >= progress[i - 1], 'progress never goes back');
});

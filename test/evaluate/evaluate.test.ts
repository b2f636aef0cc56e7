import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import {
  classBoxes,
  evaluateRun,
  groundTruth,
  layersTopDown,
  resolveMethods,
  resolveMetrics,
} from '../../src/evaluate/index.js';
import { metricsTable } from '../../src/evaluate/table.js';
import { loadRunModel, type RunModel } from '../../src/explain/run-model.js';
import { decodeMap, explanationAtImage, getOrCompute } from '../../src/explain/store.js';
import { getMetric, summarise } from '../../src/metrics/index.js';
import { listSplit } from '../../src/training/data/load.js';
import { type EvalFixture, evalFixture, wasmEngine } from './fixture.js';

let f: EvalFixture;
let runId: number;
let rm: RunModel;
let baseline: number;

before(async () => {
  await wasmEngine();
  f = await evalFixture();
  runId = await f.makeRun();
  baseline = tf.memory().numTensors;
  rm = await loadRunModel(f.store, runId);
});

after(() => {
  rm.dispose();
  assert.equal(tf.memory().numTensors, baseline, 'the run model releases every tensor');
  f.done();
});

/** The same run model, counting the images it is asked to explain. */
function counting(model: RunModel): { model: RunModel; explained: () => number } {
  let n = 0;
  return {
    model: {
      ...model,
      explain: (method, pixels, classes, params, ctx) => {
        n += pixels.length;
        return model.explain(method, pixels, classes, params, ctx);
      },
    },
    explained: () => n,
  };
}

test('getOrCompute computes only what is missing, in batches, and gives back the stored values', async () => {
  const ids = listSplit(f.store, f.datasetId, 'train').map((i) => i.id);
  const spy = counting(rm);
  const tensors = tf.memory().numTensors;
  const progress: number[] = [];
  const first = await getOrCompute(f.store, spy.model, ids.slice(0, 5), 'gradient', {}, 'target', {
    batchSize: 2,
    onProgress: (p) => progress.push(p.done),
  });
  assert.equal(spy.explained(), 5);
  assert.deepEqual(progress, [0, 2, 4, 5]);
  assert.deepEqual([first.computed, first.cached], [5, 0]);
  assert.deepEqual(first.params, { mode: 'abs', reduce: 'max' }, 'keyed by the defaults, without batchSize');
  // A second call with overlapping images computes only the new ones; explicit defaults hit the same rows.
  const second = await getOrCompute(
    f.store,
    spy.model,
    ids.slice(0, 7),
    'gradient',
    { mode: 'abs', batchSize: 3 },
    'target',
  );
  assert.equal(spy.explained(), 7);
  assert.deepEqual([second.computed, second.cached], [2, 5]);
  for (let i = 0; i < 5; i++) {
    assert.equal(second.items[i].explanationId, first.items[i].explanationId);
    assert.deepEqual(
      second.items[i].map,
      first.items[i].map,
      'fresh and cached maps are the same decoded values',
    );
  }
  const third = await getOrCompute(f.store, spy.model, ids.slice(0, 7), 'gradient', {}, 'target');
  assert.equal(spy.explained(), 7, 'the third call computes nothing');
  assert.equal(third.cached, 7);
  assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');

  const row = f.store.explanations.getById(first.items[0].explanationId)!;
  assert.equal(row.encoding, 'f16le-scaled');
  assert.deepEqual([row.width, row.height], [32, 32]);
  assert.equal(row.data.length, 4 + 2 * 32 * 32);
  const image = f.store.images.get(row.imageId)!;
  assert.equal(row.classIndex, f.classes.indexOf(image.label!), "'target' explains the image's own label");
  const atImage = explanationAtImage(f.store, row);
  assert.deepEqual([atImage.width, atImage.height], [48, 32]);
});

test('LRP maps keep their conservation (Σ relevance ÷ logit) with the map; other methods report none', async () => {
  const ids = listSplit(f.store, f.datasetId, 'val')
    .map((i) => i.id)
    .slice(0, 3);
  const fresh = await getOrCompute(f.store, rm, ids, 'deep_taylor', {}, 'predicted', { encoding: 'f32le' });
  const inputs = await rm.inputs(ids.map((id) => f.store.images.get(id)!));
  const logits = await rm.scoreModel.predict(
    inputs.map((i) => i.pixels),
    32,
    32,
    3,
  );
  for (const [k, item] of fresh.items.entries()) {
    const total = item.map.reduce((a, v) => a + v, 0);
    const want = total / logits[k][item.classIndex];
    assert.ok(typeof item.conservation === 'number', 'reported');
    assert.ok(
      Math.abs((item.conservation as number) - want) < 1e-4 * Math.max(1, Math.abs(want)),
      `image ${item.imageId}: ${item.conservation} vs Σ map / logit ${want}`,
    );
    const rows = f.store.explanations.metrics(item.explanationId).filter((m) => m.metric === 'conservation');
    assert.equal(rows.length, 1, 'stored with the map');
    assert.equal(rows[0].value, item.conservation);
  }
  const cached = await getOrCompute(f.store, rm, ids, 'deep_taylor', {}, 'predicted', { encoding: 'f32le' });
  assert.equal(cached.cached, 3);
  assert.deepEqual(
    cached.items.map((i) => i.conservation),
    fresh.items.map((i) => i.conservation),
    'read back from the store',
  );
  const grad = await getOrCompute(f.store, rm, ids, 'gradient', {}, 'predicted');
  assert.ok(grad.items.every((i) => i.conservation === undefined));
});

test("'predicted' and numbered classes; f32 storage is exact; errors name the problem", async () => {
  const ids = listSplit(f.store, f.datasetId, 'val').map((i) => i.id);
  const pred = await getOrCompute(f.store, rm, ids, 'input_x_gradient', {}, 'predicted', {
    encoding: 'f32le',
  });
  const inputs = await rm.inputs(ids.map((id) => f.store.images.get(id)!));
  const probs = await rm.probabilities(inputs.map((i) => i.pixels));
  for (const [k, item] of pred.items.entries())
    assert.equal(item.classIndex, probs[k][1] > probs[k][0] ? 1 : 0);
  const { maps: direct } = await rm.explain(
    'input_x_gradient',
    inputs.map((i) => i.pixels),
    pred.items.map((i) => i.classIndex),
    {},
  );
  for (const [k, item] of pred.items.entries()) {
    assert.deepEqual(item.map, direct[k], 'f32le keeps the maps bit for bit');
  }
  const one = await getOrCompute(f.store, rm, ids.slice(0, 1), 'gradient', {}, 1);
  assert.equal(one.items[0].classIndex, 1);
  await assert.rejects(getOrCompute(f.store, rm, ids, 'gradient', {}, 2), /class 2 is not a class of run/);
  await assert.rejects(getOrCompute(f.store, rm, ids, 'nope', {}, 0), /unknown explanation method 'nope'/);
  await assert.rejects(
    getOrCompute(f.store, rm, ids, 'gradient', { steps: 1 }, 0),
    /unknown parameter 'steps'/,
  );
  await assert.rejects(getOrCompute(f.store, rm, [99999], 'gradient', {}, 0), /no image 99999/);
  const aborted = AbortSignal.abort(new Error('stop'));
  await assert.rejects(getOrCompute(f.store, rm, ids, 'occlusion', {}, 0, { signal: aborted }), /stop/);
});

test('the eval table equals the metrics run by hand on the stored maps; values are stored with their params', async () => {
  const ids = listSplit(f.store, f.datasetId, 'val').map((i) => i.id);
  const metrics = resolveMetrics('pointing-game,relevance-mass-accuracy,sparseness,random-logit,deletion');
  const tensors = tf.memory().numTensors;
  const result = await evaluateRun(f.store, rm, {
    methods: ['explainer', 'gradcam'],
    metrics,
    imageIds: ids,
    metricParams: { deletion: { stepFraction: 0.1 } },
  });
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(result.values, ids.length * 2 * metrics.length);
  assert.equal(result.rows.length, 2 * metrics.length);
  for (const method of ['explainer', 'gradcam']) {
    const cached = await getOrCompute(f.store, rm, ids, method, {}, 'target');
    assert.equal(cached.computed, 0, 'eval stored every map it measured');
    const inputs = await rm.inputs(ids.map((id) => f.store.images.get(id)!));
    for (const m of metrics) {
      const byHand: number[] = [];
      for (const [k, item] of cached.items.entries()) {
        const image = f.store.images.get(item.imageId)!;
        const gt = groundTruth(classBoxes(f.store, image, f.classes[item.classIndex]), item.placement);
        const r = await m.run(
          {
            map: { data: item.map, width: 32, height: 32 },
            mask: gt.mask,
            boxes: gt.boxes,
            image: { data: inputs[k].pixels, width: 32, height: 32, channels: 3 },
            target: item.classIndex,
            model: rm.scoreModel,
            numClasses: 2,
            explain: async (img, c) => {
              const [data] = (await rm.explain(method, [img.data], [c], cached.params)).maps;
              return { data, width: 32, height: 32 };
            },
          },
          m.name === 'deletion' ? { stepFraction: 0.1 } : {},
        );
        byHand.push(r.value);
        const stored = f.store.explanations.metrics(item.explanationId).find((s) => s.metric === m.name)!;
        assert.ok(Object.is(stored.value, r.value) || stored.value === r.value, `${method} ${m.name} stored`);
        assert.deepEqual(stored.params, r.params);
      }
      const row = result.rows.find((r) => r.method === method && r.metric === m.name)!;
      const expected = summarise(byHand);
      assert.ok(Object.is(row.mean, expected.mean), `${method} × ${m.name}: ${row.mean} vs ${expected.mean}`);
      assert.deepEqual(row.ci95, expected.ci95);
      assert.deepEqual([row.n, row.nanCount], [expected.n, expected.nanCount]);
    }
  }
  // Negative images have no box of their class: the localisation metrics are NaN there, and counted.
  const negatives = ids.filter((id) => f.store.images.get(id)!.label === 'no-triangle').length;
  assert.ok(negatives > 0);
  assert.equal(result.rows.find((r) => r.metric === 'pointing-game')!.nanCount, negatives);
  // The stored table (metrics.table) agrees with the eval's rows.
  const table = metricsTable(f.store, runId);
  const pg = table.rows.find((r) => r.method === 'gradcam' && r.metric === 'pointing-game')!;
  const row = result.rows.find((r) => r.method === 'gradcam' && r.metric === 'pointing-game')!;
  assert.deepEqual([pg.mean, pg.n, pg.nanCount, pg.higherIsBetter], [row.mean, row.n, row.nanCount, true]);
});

test('model-parameter randomisation: one stage per weighted layer, the model copy disposed', async () => {
  const [id] = listSplit(f.store, f.datasetId, 'val').map((i) => i.id);
  const tensors = tf.memory().numTensors;
  const result = await evaluateRun(f.store, rm, {
    methods: ['gradient'],
    metrics: [getMetric('model-parameter-randomisation')],
    imageIds: [id],
    metricParams: { 'model-parameter-randomisation': { summary: 'mean' } },
  });
  assert.equal(tf.memory().numTensors, tensors, 'the randomised copy is released');
  const [row] = result.rows;
  assert.equal(row.n + row.nanCount, 1);
  assert.ok(layersTopDown(rm.model).length > 5);
  assert.ok(layersTopDown(rm.model)[0].name.startsWith('classifier/'), 'top-down: the classifier head first');
});

test('method and metric selection', () => {
  assert.deepEqual(resolveMethods(undefined, 'expclass'), ['explainer', 'gradient', 'gradcam']);
  assert.deepEqual(
    resolveMethods(undefined, 'classifier'),
    ['gradient', 'gradcam'],
    'no constant explainer map',
  );
  assert.ok(resolveMethods('all', 'expclass').length > 20);
  assert.deepEqual(resolveMethods('control,gradcam', 'expclass'), ['input', 'random', 'gradcam']);
  assert.throws(
    () => resolveMethods('gradient,nope', 'expclass'),
    /unknown explanation method or family "nope"/,
  );
  const names = resolveMetrics(undefined).map((m) => m.name);
  assert.ok(
    names.includes('pointing-game') && names.includes('random-logit') && names.includes('sparseness'),
  );
  assert.ok(
    !names.includes('deletion') && !names.includes('model-parameter-randomisation'),
    'expensive ones opt-in',
  );
  assert.ok(resolveMetrics('default,deletion').some((m) => m.name === 'deletion'));
  assert.equal(resolveMetrics('all').length, 21);
  assert.throws(() => resolveMetrics('nope'), /unknown metric "nope"/);
});

test('a run without a checkpoint fails with a clear message', async () => {
  const run = f.store.runs.create({
    datasetId: f.datasetId,
    model: 'expclass',
    config: f.store.runs.get(runId)!.config,
    engine: 'wasm',
  });
  await assert.rejects(
    loadRunModel(f.store, run.id),
    new RegExp(`run ${run.id} has no checkpoint to explain with`),
  );
  await assert.rejects(loadRunModel(f.store, 424242), /no run 424242/);
});

test('stored maps decode to what the table was measured on', () => {
  const [meta] = f.store.explanations.list(runId, { method: 'gradcam' });
  const row = f.store.explanations.getById(meta.id)!;
  assert.equal(decodeMap(row.data, row.encoding, 32 * 32).length, 1024);
});

import assert from 'node:assert/strict';
import { paramsHash } from '../../src/store/index.js';
import { engineTest, seedDataset, seedExplanations, tempStore } from './helpers.js';

engineTest('runs: create queued, legal status moves only, timestamps, list filters', (engine) => {
  const t = tempStore(engine);
  try {
    const { datasetId } = seedDataset(t.store, 1);
    const run = t.store.runs.create({
      datasetId,
      model: 'expclass',
      config: { lr: 0.01, phases: [1, 2] },
      engine: 'wasm',
      device: 'cpu',
    });
    assert.equal(run.status, 'queued');
    assert.deepEqual(run.config, { lr: 0.01, phases: [1, 2] });
    assert.equal(run.startedAt, null);
    const running = t.store.runs.setStatus(run.id, 'running');
    assert.ok(running.startedAt !== null && running.finishedAt === null);
    assert.throws(() => t.store.runs.setStatus(run.id, 'queued'), /cannot go from "running" to "queued"/);
    const failed = t.store.runs.setStatus(run.id, 'failed', 'out of memory');
    assert.equal(failed.error, 'out of memory');
    assert.equal(failed.startedAt, running.startedAt);
    assert.ok(failed.finishedAt !== null);
    assert.throws(() => t.store.runs.setStatus(run.id, 'done'), /cannot go from "failed" to "done"/);

    const second = t.store.runs.create({ datasetId, model: 'vgg', config: {}, engine: 'cpu' });
    assert.deepEqual(
      t.store.runs.list().map((r) => r.id),
      [second.id, run.id],
    );
    assert.deepEqual(
      t.store.runs.list({ status: 'failed' }).map((r) => r.id),
      [run.id],
    );
    assert.throws(
      () => t.store.runs.create({ datasetId: 77, model: 'm', config: {}, engine: 'cpu' }),
      /no dataset with id 77/,
    );
    assert.throws(
      () =>
        t.store.runs.create({
          datasetId,
          model: 'm',
          config: { lr: Number.POSITIVE_INFINITY },
          engine: 'cpu',
        }),
      /config\.lr: Infinity cannot be stored as JSON/,
    );
  } finally {
    t.done();
  }
});

engineTest('epochs keep NaN and Infinity metrics, replace on resume, and move the run progress', (engine) => {
  const t = tempStore(engine);
  try {
    const { datasetId } = seedDataset(t.store, 1);
    const run = t.store.runs.create({ datasetId, model: 'm', config: {}, engine: 'cpu' });
    t.store.runs.appendEpoch(run.id, {
      phase: 'classifier',
      epoch: 0,
      metrics: { loss: 0.7, acc: 0.5 },
      seconds: 12.5,
    });
    t.store.runs.appendEpoch(run.id, {
      phase: 'classifier',
      epoch: 1,
      metrics: { loss: Number.NaN, grad: -Infinity },
    });
    t.store.runs.appendEpoch(run.id, { phase: 'explainer', epoch: 0, metrics: { loss: 0.2 } });
    t.store.runs.appendEpoch(run.id, {
      phase: 'classifier',
      epoch: 0,
      metrics: { loss: 0.6, acc: 0.55 },
      seconds: 11,
    });
    const epochs = t.store.runs.epochs(run.id);
    assert.deepEqual(
      epochs.map((e) => [e.phase, e.epoch]),
      [
        ['classifier', 0],
        ['classifier', 1],
        ['explainer', 0],
      ],
    );
    assert.deepEqual(epochs[0].metrics, { loss: 0.6, acc: 0.55 });
    assert.equal(epochs[0].seconds, 11);
    assert.ok(Number.isNaN(epochs[1].metrics.loss));
    assert.equal(epochs[1].metrics.grad, -Infinity);
    assert.equal(epochs[1].seconds, null);
    const r = t.store.runs.get(run.id)!;
    assert.deepEqual([r.phase, r.epoch], ['classifier', 0], 'progress = last recorded epoch');
    assert.throws(
      () => t.store.runs.appendEpoch(run.id, { phase: 'x', epoch: -1, metrics: {} }),
      /epoch: expected an integer >= 0/,
    );
    assert.throws(
      () => t.store.runs.appendEpoch(999, { phase: 'x', epoch: 0, metrics: {} }),
      /no run with id 999/,
    );
  } finally {
    t.done();
  }
});

engineTest('checkpoints: one best per run and phase', (engine) => {
  const t = tempStore(engine);
  try {
    const { datasetId } = seedDataset(t.store, 1);
    const run = t.store.runs.create({ datasetId, model: 'm', config: {}, engine: 'cpu' });
    const a = t.store.runs.addCheckpoint({
      runId: run.id,
      phase: '1',
      epoch: 0,
      path: 'ck/0',
      valLoss: 0.9,
      isBest: true,
    });
    const b = t.store.runs.addCheckpoint({
      runId: run.id,
      phase: '1',
      epoch: 1,
      path: 'ck/1',
      valLoss: 0.5,
      isBest: true,
    });
    t.store.runs.addCheckpoint({ runId: run.id, phase: '1', epoch: 2, path: 'ck/2', valLoss: Number.NaN });
    const c = t.store.runs.addCheckpoint({ runId: run.id, phase: '2', epoch: 0, path: 'ck/3', isBest: true });
    assert.equal(t.store.runs.bestCheckpoint(run.id, '1')?.id, b.id);
    assert.equal(t.store.runs.bestCheckpoint(run.id, '2')?.id, c.id);
    const all = t.store.runs.checkpoints(run.id);
    assert.deepEqual(
      all.map((k) => k.isBest),
      [false, true, false, true],
    );
    assert.equal(all[0].id, a.id);
    assert.equal(all[2].valLoss, null, 'NaN validation loss stored as null');
  } finally {
    t.done();
  }
});

engineTest(
  'explanations: key includes a canonical params hash; put is inserted/unchanged/updated; metrics NaN',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { explanationIds, runId } = seedExplanations(t.store, 1);
      const e = t.store.explanations.getById(explanationIds[0])!;
      const base = {
        runId,
        imageId: e.imageId,
        classIndex: 1,
        method: 'gradcam',
        params: { layer: 'conv5', smooth: { n: 8, sigma: 0.1 } },
        width: 2,
        height: 1,
        encoding: 'f32le',
        data: Buffer.from(new Float32Array([0.25, 0.75]).buffer),
      };
      const first = t.store.explanations.put(base);
      assert.equal(first.status, 'inserted');
      // Same parameters in another key order: the same explanation.
      const reordered = { ...base, params: { smooth: { sigma: 0.1, n: 8 }, layer: 'conv5' } };
      assert.deepEqual(t.store.explanations.put(reordered), { id: first.id, status: 'unchanged' });
      const got = t.store.explanations.get(reordered)!;
      assert.equal(got.id, first.id);
      assert.equal(got.paramsHash, paramsHash(base.params));
      assert.deepEqual(Array.from(new Float32Array(got.data.buffer, got.data.byteOffset, 2)), [0.25, 0.75]);
      assert.equal(t.store.explanations.get({ ...base, params: { layer: 'conv4' } }), undefined);

      t.store.explanations.putMetrics(first.id, [
        { metric: 'iou', params: { threshold: 0.5 }, value: 0.4 },
        { metric: 'iou', params: { threshold: 0.7 }, value: 0.2 },
        { metric: 'pointing', value: Number.NaN },
        { metric: 'energy', value: Infinity },
      ]);
      t.store.explanations.putMetrics(first.id, [{ metric: 'iou', params: { threshold: 0.5 }, value: 0.45 }]);
      const m = t.store.explanations.metrics(first.id);
      assert.equal(m.length, 4);
      const byKey = new Map(m.map((x) => [`${x.metric}${JSON.stringify(x.params)}`, x.value]));
      assert.equal(byKey.get('iou{"threshold":0.5}'), 0.45);
      assert.equal(byKey.get('iou{"threshold":0.7}'), 0.2);
      assert.ok(Number.isNaN(byKey.get('pointing{}')));
      assert.equal(byKey.get('energy{}'), Infinity);

      const changed = t.store.explanations.put({
        ...base,
        data: Buffer.from(new Float32Array([1, 0]).buffer),
      });
      assert.deepEqual(changed, { id: first.id, status: 'updated' });
      assert.equal(t.store.explanations.metrics(first.id).length, 0, 'metrics of the old map are dropped');
      assert.deepEqual(
        t.store.explanations.list(runId, { method: 'gradcam' }).map((x) => x.id),
        [first.id],
      );
      assert.ok(!('data' in t.store.explanations.list(runId)[0]), 'listing leaves the blobs out');
      assert.throws(() => t.store.explanations.put({ ...base, classIndex: -1 }), /classIndex/);
      assert.throws(() => t.store.explanations.put({ ...base, runId: 4040 }), /no run with id 4040/);
      assert.throws(() => t.store.explanations.putMetrics(4040, []), /no explanation with id 4040/);
    } finally {
      t.done();
    }
  },
);

engineTest(
  'a queued run gets its engine from the worker that takes it; an ended run keeps its own',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { datasetId } = seedDataset(t.store, 1);
      const run = t.store.runs.create({
        datasetId,
        model: 'expclass',
        config: { replicas: 'auto' },
        engine: 'worker',
      });
      const assigned = t.store.runs.assignEngine(run.id, {
        engine: 'wasm',
        device: 'wasm SIMD, 1 thread',
        config: { replicas: 1 },
      });
      assert.equal(assigned.engine, 'wasm');
      assert.equal(assigned.device, 'wasm SIMD, 1 thread');
      assert.deepEqual(assigned.config, { replicas: 1 });
      assert.equal(assigned.status, 'queued', 'the status is not the engine’s to move');
      t.store.runs.setStatus(run.id, 'running');
      t.store.runs.assignEngine(run.id, { engine: 'node', device: null, config: { replicas: 2 } });
      t.store.runs.setStatus(run.id, 'done');
      assert.throws(
        () => t.store.runs.assignEngine(run.id, { engine: 'cpu', device: null, config: {} }),
        /run \d+ is done: its engine is what it ran on and stays/,
      );
      assert.equal(t.store.runs.get(run.id)!.engine, 'node');
    } finally {
      t.done();
    }
  },
);

engineTest(
  'dropEpochs removes what a killed attempt recorded after its checkpoint, and moves the progress back',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { datasetId } = seedDataset(t.store, 1);
      const run = t.store.runs.create({ datasetId, model: 'expclass', config: {}, engine: 'wasm' });
      t.store.runs.setStatus(run.id, 'running');
      for (const [phase, epoch] of [
        ['classifier', 1],
        ['classifier', 2],
        ['explainer', 1],
        ['explainer', 2],
      ] as const) {
        t.store.runs.appendEpoch(run.id, { phase, epoch, metrics: { loss: epoch } });
      }
      t.store.runs.dropEpochs(run.id, [
        { phase: 'explainer', epoch: 1 },
        { phase: 'explainer', epoch: 2 },
      ]);
      assert.deepEqual(
        t.store.runs.epochs(run.id).map((e) => `${e.phase}/${e.epoch}`),
        ['classifier/1', 'classifier/2'],
      );
      let now = t.store.runs.get(run.id)!;
      assert.equal(now.phase, 'classifier');
      assert.equal(now.epoch, 2);
      // Run again, the epoch comes after the kept ones, once.
      t.store.runs.appendEpoch(run.id, { phase: 'explainer', epoch: 1, metrics: { loss: 9 } });
      assert.deepEqual(
        t.store.runs.epochs(run.id).map((e) => `${e.phase}/${e.epoch}/${e.metrics.loss}`),
        ['classifier/1/1', 'classifier/2/2', 'explainer/1/9'],
      );
      t.store.runs.dropEpochs(run.id, t.store.runs.epochs(run.id));
      now = t.store.runs.get(run.id)!;
      assert.equal(now.phase, null);
      assert.equal(now.epoch, null);
      t.store.runs.setStatus(run.id, 'failed', 'gone');
      assert.throws(
        () => t.store.runs.dropEpochs(run.id, [{ phase: 'classifier', epoch: 1 }]),
        /run \d+ is failed: its epochs are its history and stay/,
      );
    } finally {
      t.done();
    }
  },
);

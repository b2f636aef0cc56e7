import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { parseTrainStage, settleQueuedRun, trainJobParams, trainStage } from '../../src/training/queued.js';

test('a training job’s stage is read back with its place, also with the worker’s suffix', () => {
  const at = { phase: 'explainer', epoch: 2, epochs: 12, step: 7, steps: 31 };
  const stage = trainStage(at);
  assert.equal(stage, 'explainer · epoch 2/12 · step 7/31');
  assert.deepEqual(parseTrainStage(stage), at);
  assert.deepEqual(parseTrainStage(`${stage} · wasm (wasm SIMD) on host-1:4242`), at);
  assert.equal(parseTrainStage('starting on host-1:4242 (attempt 2 of 3)'), null);
  assert.equal(parseTrainStage('load train 3/18'), null);
  assert.equal(parseTrainStage(null), null);
  assert.equal(parseTrainStage('explainer · epoch 2/12 · step 7/31x'), null);
});

test('train job params: a run id, and an engine the worker knows', () => {
  assert.deepEqual(trainJobParams({ runId: 3 }), { runId: 3 });
  assert.deepEqual(trainJobParams({ runId: 3, engine: 'gpu' }), { runId: 3, engine: 'gpu' });
  assert.throws(() => trainJobParams({ runId: '3' }), /train job: runId must be a run id, got "3"/);
  assert.throws(() => trainJobParams({ runId: 0 }), /runId must be a run id, got 0/);
  assert.throws(
    () => trainJobParams({ runId: 1, engine: 'tpu' }),
    /engine must be gpu, node, wasm or cpu, got "tpu"/,
  );
});

test('a training job that ended without its trainer ends its run the same way; an ended run is left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-queued-'));
  const store = openStore(join(dir, 'xwb.db'));
  try {
    const ds = store.datasets.create({ name: 'd', kind: 'folder', sourcePath: dir, classes: ['a', 'b'] });
    const mk = () => store.runs.create({ datasetId: ds.id, model: 'expclass', config: {}, engine: 'worker' });
    const lost = mk();
    store.runs.setStatus(lost.id, 'running');
    const job = {
      kind: 'train',
      params: { runId: lost.id },
      status: 'failed' as const,
      error: '3 attempts lost its worker',
    };
    assert.equal(settleQueuedRun(store, job), true);
    const failed = store.runs.get(lost.id)!;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'training job: 3 attempts lost its worker');
    assert.equal(settleQueuedRun(store, job), false, 'once');

    const waiting = mk();
    assert.equal(
      settleQueuedRun(store, { ...job, params: { runId: waiting.id }, status: 'cancelled', error: null }),
      true,
    );
    assert.equal(store.runs.get(waiting.id)!.status, 'cancelled');

    const done = mk();
    store.runs.setStatus(done.id, 'running');
    store.runs.setStatus(done.id, 'done');
    assert.equal(settleQueuedRun(store, { ...job, params: { runId: done.id } }), false);
    assert.equal(store.runs.get(done.id)!.status, 'done');
    const other = mk();
    assert.equal(settleQueuedRun(store, { ...job, kind: 'eval', params: { runId: other.id } }), false);
    assert.equal(settleQueuedRun(store, { ...job, params: { runId: other.id }, status: 'done' }), false);
    assert.equal(store.runs.get(other.id)!.status, 'queued');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

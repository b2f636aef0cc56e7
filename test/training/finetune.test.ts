/**
 * Fine-tuning from another run (initFrom) and the phase selection, on real training in a real store file: a
 * classifier trained once, then an explainer trained on top of it with the classifier frozen.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import type { tf } from '../../src/engine/tf.js';
import type { EngineInfo } from '../../src/engine/types.js';
import { openStore } from '../../src/store/index.js';
import { loadCheckpoint } from '../../src/training/checkpoint.js';
import { onlyPhases, type TrainConfigInput } from '../../src/training/config.js';
import type { TrainEvent } from '../../src/training/events.js';
import { prepareTrainConfig } from '../../src/training/init-from.js';
import { resumeRun, train } from '../../src/training/trainer.js';
import { type Fixture, syntheticStore, wasm } from './helpers.js';

let engine: EngineInfo;
let fx: Fixture;
let sourceRun: number;

const model = { kind: 'expclass' as const, inputSize: 32, base: 4 };

function weightsOf(m: tf.LayersModel | null): Float32Array[] {
  if (!m) return [];
  return m.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

function explainerOnly(datasetId: number, over: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    datasetId,
    phases: onlyPhases('expclass', ['explainer'], { explainer: { epochs: 1, optimizer: 'adam', lr: 0.01 } }),
    data: { batchSize: 8 },
    seed: 11,
    patience: 0,
    // Frozen means bit for bit here: the classifier's batch norm stays in inference mode.
    frozenStatistics: true,
    initFrom: { run: sourceRun },
    ...over,
  };
}

before(async () => {
  engine = await wasm();
  fx = await syntheticStore({ images: 32, seed: 4 });
  // Run 1: the classifier phase alone (--phases classifier), 1 epoch.
  const r = await train(
    fx.store,
    {
      datasetId: fx.datasetId,
      model,
      phases: onlyPhases('expclass', ['classifier'], {
        classifier: { epochs: 1, optimizer: 'adam', lr: 0.003 },
      }),
      data: { batchSize: 8 },
      seed: 5,
      patience: 0,
    },
    { engine },
  );
  assert.equal(r.status, 'done');
  assert.deepEqual(
    r.phases.map((p) => p.phase),
    ['classifier'],
  );
  sourceRun = r.runId;
});

after(() => fx.done());

test('an explainer trained from a run: the classifier is the source bit for bit and stays so, the explainer learns', async () => {
  const events: TrainEvent[] = [];
  const result = await train(fx.store, explainerOnly(fx.datasetId), {
    engine,
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.status, 'done');
  assert.deepEqual(
    result.phases.map((p) => [p.phase, p.epochs]),
    [['explainer', 1]],
  );
  const source = fx.store.runs.bestCheckpoint(sourceRun, 'classifier')!;
  const start = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
  assert.deepEqual(start.initFrom, { runId: sourceRun, phase: 'classifier', epoch: 1, path: source.path });

  // Stored with its source and the inherited model; read back from the file, it resolves to itself.
  const store = openStore(fx.dbPath);
  try {
    const run = store.runs.get(result.runId)!;
    const stored = run.config as unknown as TrainConfigInput;
    assert.deepEqual(stored.initFrom, { run: sourceRun, checkpoint: 'best' });
    assert.deepEqual(stored.model, fx.store.runs.get(sourceRun)!.config.model);
    assert.deepEqual(prepareTrainConfig(store, stored).config, result.config);
  } finally {
    store.close();
  }

  const before = await loadCheckpoint(source);
  const afterRun = await loadCheckpoint(fx.store.runs.bestCheckpoint(result.runId, 'explainer')!);
  try {
    // Classifier weights and batch-norm statistics: identical bits (started from the source, frozen throughout).
    const a = weightsOf(before.parts.classifier);
    const b = weightsOf(afterRun.parts.classifier);
    assert.equal(a.length, b.length);
    for (const [i, w] of a.entries()) {
      assert.deepEqual(Buffer.from(b[i].buffer), Buffer.from(w.buffer), `classifier weight ${i}`);
    }
    // The explainer did train: the source's (still as initialised) explainer is not the result's.
    const ea = weightsOf(before.parts.explainer);
    const eb = weightsOf(afterRun.parts.explainer);
    assert.ok(
      ea.some((w, i) => w.some((v, j) => v !== eb[i][j])),
      'the explainer weights changed',
    );
  } finally {
    before.dispose();
    afterRun.dispose();
  }

  // The map's diagnostics are stored with the epoch: measured in the explainer phase, not in the classifier's.
  const [row] = fx.store.runs.epochs(result.runId);
  assert.ok(Number.isFinite(row.metrics.val_map_std) && row.metrics.val_map_std >= 0);
  assert.ok(Number.isFinite(row.metrics.val_map_across_std) && row.metrics.val_map_across_std >= 0);
  assert.ok([0, 1].includes(row.metrics.map_flat) && [0, 1].includes(row.metrics.map_saturated));
  const [sourceRow] = fx.store.runs.epochs(sourceRun);
  assert.ok(Number.isNaN(sourceRow.metrics.val_map_std));
  // Each warning the run emitted is one of the diagnostics', with advice.
  for (const e of events) {
    if (e.type === 'warning') {
      assert.ok(['dead', 'flat', 'saturated'].includes(e.code));
      assert.ok(e.advice.length > 0);
    }
  }
});

test('a cancelled fine-tuning run with no checkpoint of its own resumes from the source again', async () => {
  const controller = new AbortController();
  const cancelled = await train(fx.store, explainerOnly(fx.datasetId), {
    engine,
    signal: controller.signal,
    onEvent: (e) => e.type === 'step' && controller.abort(),
  });
  assert.equal(cancelled.status, 'cancelled');
  assert.deepEqual(fx.store.runs.checkpoints(cancelled.runId), []);
  const resumed = await resumeRun(fx.store, cancelled.runId, { engine });
  assert.equal(resumed.status, 'done');
  assert.deepEqual(resumed.config.initFrom, { run: sourceRun, checkpoint: 'best' });
  const source = await loadCheckpoint(fx.store.runs.bestCheckpoint(sourceRun, 'classifier')!);
  const out = await loadCheckpoint(fx.store.runs.bestCheckpoint(resumed.runId, 'explainer')!);
  try {
    assert.deepEqual(weightsOf(out.parts.classifier), weightsOf(source.parts.classifier));
  } finally {
    source.dispose();
    out.dispose();
  }
});

test('the source must match: model, classes, a stopped run with a checkpoint; errors name both sides', async () => {
  const runs = () => fx.store.runs.list().length;
  const count = runs();
  await assert.rejects(
    train(fx.store, explainerOnly(fx.datasetId, { model: { base: 8 } }), { engine }),
    new RegExp(`model\\.base is 8, but run ${sourceRun} \\(initFrom\\) was trained with 4`),
  );
  await assert.rejects(
    train(fx.store, explainerOnly(fx.datasetId, { initFrom: { run: 999 } }), { engine }),
    /initFrom\.run: no run 999 in /,
  );
  // Another dataset with other classes: refused; with the same classes: accepted.
  const other = path.join(fx.dir, 'arrows');
  await generateDataset(other, {
    width: 32,
    height: 32,
    images: 8,
    targetName: 'arrow',
    shapesPerImage: [2, 4],
    seed: 2,
  });
  const arrows = (await importDataset(fx.store, other, { name: 'arrows' })).dataset;
  await assert.rejects(train(fx.store, explainerOnly(arrows.id), { engine }), (e: Error) =>
    /trained on dataset "shapes" with classes \[.*triangle.*\], but dataset "arrows" has \[.*arrow.*\]/.test(
      e.message,
    ),
  );
  const twin = path.join(fx.dir, 'twin');
  await generateDataset(twin, { width: 32, height: 32, images: 8, shapesPerImage: [2, 4], seed: 8 });
  const twins = (await importDataset(fx.store, twin, { name: 'twin' })).dataset;
  assert.equal(prepareTrainConfig(fx.store, explainerOnly(twins.id)).source?.run.id, sourceRun);
  // A run still going is not a source.
  const running = fx.store.runs.create({
    datasetId: fx.datasetId,
    model: 'expclass',
    config: fx.store.runs.get(sourceRun)!.config,
    engine: 'wasm',
  });
  fx.store.runs.setStatus(running.id, 'running');
  assert.throws(
    () => prepareTrainConfig(fx.store, explainerOnly(fx.datasetId, { initFrom: { run: running.id } })),
    new RegExp(`run ${running.id} is still running; start from a run that has stopped`),
  );
  fx.store.runs.setStatus(running.id, 'failed', 'test');
  assert.throws(
    () => prepareTrainConfig(fx.store, explainerOnly(fx.datasetId, { initFrom: { run: running.id } })),
    new RegExp(`run ${running.id} has no checkpoint to start from \\(status failed\\)`),
  );
  assert.equal(runs(), count + 1, 'refused configs record no run');
});

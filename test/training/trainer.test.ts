import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import type { EngineInfo } from '../../src/engine/types.js';
import { buildExpClass, loadModel, saveModel, type XwbModel } from '../../src/models/index.js';
import { openStore } from '../../src/store/index.js';
import { loadCheckpoint } from '../../src/training/checkpoint.js';
import { modelOptions, resolveTrainConfig } from '../../src/training/config.js';
import { listSplit } from '../../src/training/data/load.js';
import type { TrainEvent } from '../../src/training/events.js';
import { predictImages } from '../../src/training/predict.js';
import { METRIC_KEYS } from '../../src/training/summary.js';
import { resumeRun, train } from '../../src/training/trainer.js';
import { type Fixture, syntheticStore, tinyConfig, wasm } from './helpers.js';

let engine: EngineInfo;
let big: Fixture;
let small: Fixture;

before(async () => {
  engine = await wasm();
  big = await syntheticStore({ images: 160 });
  small = await syntheticStore({ images: 48, seed: 9 });
});

after(() => {
  big.done();
  small.done();
});

function weightsOf(model: tf.LayersModel | null): Float32Array[] {
  if (!model) return [];
  return model.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

/** Epoch metrics without the timings, which differ between runs. */
function numbers(rows: { phase: string; epoch: number; metrics: Record<string, number> }[]) {
  return rows.map((r) => {
    const { train_seconds: _t, images_per_s: _i, ...rest } = r.metrics;
    return { phase: r.phase, epoch: r.epoch, ...rest };
  });
}

test('the classifier learns the colour cue (≥ 90% validation accuracy); rows, checkpoints, status in the store file', async () => {
  const baseline = tf.memory().numTensors;
  const perEpoch: number[] = [];
  const config = tinyConfig(big.datasetId, {
    phases: { classifier: { epochs: 10, optimizer: 'adam', lr: 0.003 } },
  });
  const result = await train(big.store, config, {
    engine,
    onEvent: (e) => {
      if (e.type === 'epoch') perEpoch.push(tf.memory().numTensors);
    },
  });
  assert.equal(result.status, 'done');
  assert.equal(tf.memory().numTensors, baseline, 'no tensor is left once the run is over');
  assert.ok(
    perEpoch.every((n) => n === perEpoch[0]),
    `tensors per epoch: ${perEpoch.join(', ')}`,
  );
  const [phase] = result.phases;
  assert.ok(phase.best && phase.best.valAcc >= 0.9, `best validation accuracy ${phase.best?.valAcc}`);

  // A second connection to the real file sees everything.
  const store = openStore(big.dbPath);
  try {
    const run = store.runs.get(result.runId)!;
    assert.equal(run.status, 'done');
    assert.equal(run.engine, 'wasm');
    assert.equal(run.device, engine.device);
    assert.equal(run.folder, path.join(path.dirname(big.dbPath), 'runs', String(result.runId)));
    assert.deepEqual([run.phase, run.epoch], ['classifier', 10]);
    const epochs = store.runs.epochs(result.runId);
    assert.deepEqual(
      epochs.map((e) => e.epoch),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    for (const e of epochs) {
      assert.deepEqual(Object.keys(e.metrics).sort(), [...METRIC_KEYS].sort());
      assert.ok(e.seconds! > 0);
    }
    const checkpoints = store.runs.checkpoints(result.runId);
    assert.equal(checkpoints.filter((c) => c.isBest).length, 1);
    for (const c of checkpoints) assert.ok(fs.existsSync(path.join(c.path, 'xwb-model.json')), c.path);
    const best = store.runs.bestCheckpoint(result.runId, 'classifier')!;
    assert.equal(best.epoch, phase.best!.epoch);
    assert.equal(result.checkpoint, best.path);
    assert.ok(fs.existsSync(path.join(run.folder!, 'summary.json')));

    // The best checkpoint IS the model of that epoch: predicting the validation set gives its recorded accuracy.
    const val = listSplit(store, big.datasetId, 'val');
    const predictions = await predictImages(
      store,
      result.runId,
      { imageIds: val.map((i) => i.id) },
      { batchSize: 7 },
    );
    const ds = store.datasets.getById(big.datasetId)!;
    const correct = predictions.filter((p, i) => p.className === val[i].label).length;
    assert.equal(correct / val.length, phase.best!.valAcc);
    for (const p of predictions) {
      assert.equal(p.explanation.length, p.width * p.height);
      assert.ok(Math.abs(p.probs.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.equal(p.className, ds.classes[p.classIndex]);
    }
    // The same from the run folder alone (summary.json), for files.
    const byFolder = await predictImages(run.folder!, result.runId, { files: [predictions[0].file] });
    assert.deepEqual(byFolder[0].probs, predictions[0].probs);
  } finally {
    store.close();
  }
  assert.equal(tf.memory().numTensors, baseline);
});

test('checkpoint save and load give identical predictions', async () => {
  const run = big.store.runs.list({ status: 'done' })[0];
  const best = big.store.runs.checkpoints(run.id).find((c) => c.isBest)!;
  const dir = fs.mkdtempSync(path.join(path.dirname(big.dbPath), 'copy-'));
  const a: XwbModel = await loadCheckpoint(best);
  await saveModel(a, path.join(dir, 'm'));
  const b = await loadModel(path.join(dir, 'm'));
  const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const pa = a.predict(x);
  const pb = b.predict(x);
  assert.deepEqual(pa.logits.dataSync(), pb.logits.dataSync());
  assert.deepEqual(pa.explanation.dataSync(), pb.explanation.dataSync());
  tf.dispose([x, pa.logits, pa.explanation, pb.logits, pb.explanation]);
  a.dispose();
  b.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('expclass: three phases, each freezes what it must, and the same config gives the same numbers', async () => {
  // The freezing rules of the reference: the explainer phase keeps the classifier in inference mode.
  const config = tinyConfig(small.datasetId, {
    model: { kind: 'expclass', inputSize: 32, base: 4 },
    frozenStatistics: true,
    phases: {
      classifier: { epochs: 2, optimizer: 'adam', lr: 0.003 },
      explainer: { epochs: 2, optimizer: 'adam', lr: 0.003 },
      joint: { epochs: 1, optimizer: 'sgd', lr: 0.01 },
    },
  });
  const first = await train(small.store, config, { engine });
  const second = await train(small.store, config, { engine });
  assert.deepEqual(
    first.phases.map((p) => p.epochs),
    [2, 2, 1],
  );
  assert.deepEqual(
    numbers(small.store.runs.epochs(second.runId)),
    numbers(small.store.runs.epochs(first.runId)),
  );

  const c1 = small.store.runs.bestCheckpoint(first.runId, 'classifier')!;
  const c2 = small.store.runs.bestCheckpoint(first.runId, 'explainer')!;
  const afterClassifier = await loadCheckpoint(c1);
  const afterExplainer = await loadCheckpoint(c2);
  const fresh = buildExpClass(modelOptions(resolveTrainConfig(config), 2));
  try {
    // Phase 1 left the explainer exactly as initialised; phase 2 left the classifier (BN statistics included).
    assert.deepEqual(weightsOf(afterClassifier.parts.explainer), weightsOf(fresh.parts.explainer));
    assert.deepEqual(weightsOf(afterExplainer.parts.classifier), weightsOf(afterClassifier.parts.classifier));
    assert.notDeepEqual(
      weightsOf(afterExplainer.parts.explainer),
      weightsOf(afterClassifier.parts.explainer),
    );
    assert.notDeepEqual(weightsOf(afterClassifier.parts.classifier), weightsOf(fresh.parts.classifier));
  } finally {
    afterClassifier.dispose();
    afterExplainer.dispose();
    fresh.dispose();
  }
});

test('cancel after the current step, then resume: the run ends cancelled and its continuation completes', async () => {
  const controller = new AbortController();
  const config = tinyConfig(small.datasetId, {
    phases: { classifier: { epochs: 5, optimizer: 'adam', lr: 0.003 } },
    checkpointEvery: 1,
  });
  const result = await train(small.store, config, {
    engine,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'step' && e.epoch === 3 && e.step === 1) controller.abort();
    },
  });
  assert.equal(result.status, 'cancelled');
  const old = small.store.runs.get(result.runId)!;
  assert.equal(old.status, 'cancelled');
  assert.deepEqual(
    small.store.runs.epochs(old.id).map((e) => e.epoch),
    [1, 2],
  );
  assert.deepEqual(
    small.store.runs.checkpoints(old.id).map((c) => c.epoch),
    [1, 2],
  );
  for (const c of small.store.runs.checkpoints(old.id)) assert.ok(fs.existsSync(c.path));

  const events: TrainEvent[] = [];
  const resumed = await resumeRun(small.store, old.id, { engine, onEvent: (e) => events.push(e) });
  assert.equal(resumed.status, 'done');
  assert.equal(resumed.resumedFrom, old.id);
  assert.equal(resumed.config.resumedFrom, old.id);
  const rows = small.store.runs.epochs(resumed.runId);
  assert.deepEqual(
    rows.map((e) => e.epoch),
    [1, 2, 3, 4, 5],
    'each epoch once',
  );
  assert.deepEqual(numbers(rows.slice(0, 2)), numbers(small.store.runs.epochs(old.id)), 'history copied');
  const ran = events.filter((e) => e.type === 'epoch').map((e) => (e as { epoch: number }).epoch);
  assert.deepEqual(ran, [3, 4, 5], 'only the missing epochs are trained');
  assert.equal(small.store.runs.get(resumed.runId)!.status, 'done');
  await assert.rejects(
    resumeRun(small.store, resumed.runId, { engine }),
    /is done; there is nothing to resume/,
  );
});

test('a dead explainer is detected, reported and ends its phase', async () => {
  const warnings: string[] = [];
  const result = await train(
    small.store,
    tinyConfig(small.datasetId, {
      // tanh(−3) < 0, so ReLU makes the map 0 everywhere from the first step: the forced dead case.
      model: {
        kind: 'expclass',
        inputSize: 32,
        base: 4,
        explainerBias: -3,
        explainerHead: 'tanh-relu',
        explainerUpsample: 'transpose',
      },
      phases: { classifier: { epochs: 1 }, explainer: { epochs: 3 }, joint: { epochs: 1 } },
    }),
    { engine, onEvent: (e) => e.type === 'warning' && warnings.push(e.message) },
  );
  const explainer = result.phases.find((p) => p.phase === 'explainer')!;
  assert.equal(explainer.stoppedBy, 'dead-explainer');
  assert.equal(explainer.epochs, 1);
  assert.equal(explainer.best, null, 'a dead epoch is never the best');
  assert.ok(warnings.length >= 1 && /explainer is dead/.test(warnings[0]), warnings.join('\n'));
  assert.ok(result.warnings.some((w) => /phase explainer, epoch 1: the explainer is dead/.test(w)));
  const row = small.store.runs.epochs(result.runId).find((r) => r.phase === 'explainer')!;
  assert.equal(row.metrics.dead_explainer, 1);
  assert.ok(row.metrics.val_expl_mean < 1e-4);
});

test('a config error leaves no run behind; a missing dataset is named', async () => {
  const before = small.store.runs.list().length;
  await assert.rejects(
    train(small.store, { datasetId: small.datasetId, model: { inputSize: 30 } }, { engine }),
    /model\.inputSize must be a multiple of 16/,
  );
  await assert.rejects(train(small.store, { datasetId: 999 }, { engine }), /no dataset with id 999/);
  assert.equal(small.store.runs.list().length, before);
});

test('one unreadable image does not fail the run: it is left out, with a warning event and in the result', async () => {
  const images = listSplit(small.store, small.datasetId, 'train');
  const victim = images[2];
  const file = path.join(small.datasetDir, victim.relPath);
  const original = fs.readFileSync(file);
  fs.writeFileSync(file, original.subarray(0, 40)); // a PNG cut short: its hash changed and it cannot decode
  try {
    const skipped: Extract<TrainEvent, { type: 'skipped' }>[] = [];
    const result = await train(
      small.store,
      tinyConfig(small.datasetId, { phases: { classifier: { epochs: 1 } } }),
      {
        engine,
        onEvent: (e) => e.type === 'skipped' && skipped.push(e),
      },
    );
    assert.equal(result.status, 'done');
    assert.equal(result.trainImages, images.length - 1);
    assert.deepEqual(
      skipped.map((e) => [e.split, e.relPath]),
      [['train', victim.relPath]],
    );
    assert.ok(skipped[0].message.startsWith(`${file}: `), skipped[0].message);
    assert.ok(result.warnings.some((w) => w === `left out (cannot be read): ${skipped[0].message}`));
    const summary = JSON.parse(fs.readFileSync(path.join(result.folder, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.warnings, result.warnings);
  } finally {
    fs.writeFileSync(file, original);
  }
});

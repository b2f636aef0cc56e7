/**
 * Stored predictions from a real run (an untrained seeded model saved as the run's final checkpoint): what
 * storePredictions writes is the model's own softmax, an image is not predicted twice for one checkpoint, the
 * explanation cache's 'predicted' class reuses and writes the same rows, and the viewer's `predict` keeps its
 * answer; `images.list` then filters by it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { validateRequest } from '../../src/api/contract.js';
import { type CoreHandlers, registerCoreHandlers } from '../../src/api/handlers.js';
import { XwbService } from '../../src/api/service.js';
import { predictionOf, storePredictions } from '../../src/explain/predictions.js';
import { loadRunModel, type RunModel } from '../../src/explain/run-model.js';
import { getOrCompute } from '../../src/explain/store.js';
import { listSplit } from '../../src/training/data/load.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../evaluate/fixture.js';

let f: EvalFixture;
let runId: number;
let rm: RunModel;

before(async () => {
  await wasmEngine();
  f = await evalFixture(8);
  runId = await f.makeRun();
  rm = await loadRunModel(f.store, runId);
});

after(() => {
  rm.dispose();
  f.done();
});

test('predictionOf: argmax, its probability, the labelled class and correctness', () => {
  assert.deepEqual(predictionOf([0.2, 0.7, 0.1], ['a', 'b', 'c'], 'a'), {
    classIndex: 1,
    probability: 0.7,
    trueProbability: 0.2,
    correct: false,
  });
  assert.deepEqual(predictionOf([0.2, 0.7, 0.1], ['a', 'b', 'c'], 'b').correct, true);
  assert.deepEqual(predictionOf([0.4, 0.6], ['a', 'b'], null), {
    classIndex: 1,
    probability: 0.6,
    trueProbability: null,
    correct: null,
  });
  // A label the run does not know: correctness unknown, not "wrong".
  assert.equal(predictionOf([0.4, 0.6], ['a', 'b'], 'zebra').correct, null);
  assert.equal(predictionOf([1.0000001, 0], ['a', 'b'], 'a').probability, 1);
  assert.throws(() => predictionOf([0.5, 0.5], ['a', 'b', 'c'], 'a'), /2 probabilities for 3 classes/);
});

test('storePredictions writes the model softmax per image, once per checkpoint', async () => {
  const images = listSplit(f.store, f.datasetId, 'val');
  assert.ok(images.length >= 2);
  assert.equal(await storePredictions(f.store, rm, images, { batchSize: 3 }), images.length);
  const probs = await rm.probabilities((await rm.inputs(images)).map((x) => x.pixels));
  images.forEach((im, k) => {
    const p = f.store.predictions.get(runId, im.id);
    assert.ok(p, `image ${im.id} has a prediction`);
    const want = predictionOf(probs[k], rm.classes, im.label);
    assert.equal(p.classIndex, want.classIndex);
    assert.ok(Math.abs(p.probability - want.probability) < 1e-6);
    assert.equal(p.correct, want.correct);
    assert.equal(p.correct, im.label === rm.classes[p.classIndex]);
    assert.equal(p.checkpoint, rm.checkpoint.path);
  });
  assert.equal(await storePredictions(f.store, rm, images), 0, 'nothing left to predict');
});

test("the cache's 'predicted' class stores predictions for images it predicts", async () => {
  const train = listSplit(f.store, f.datasetId, 'train').slice(0, 2);
  assert.equal(f.store.predictions.get(runId, train[0].id), undefined);
  const r = await getOrCompute(
    f.store,
    rm,
    train.map((i) => i.id),
    'gradient',
    {},
    'predicted',
  );
  train.forEach((im, k) => {
    assert.equal(f.store.predictions.get(runId, im.id)?.classIndex, r.items[k].classIndex);
  });
});

test("the viewer's predict keeps its answer; images.list filters and sorts by it", async () => {
  const service = new XwbService({
    store: f.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  const core: CoreHandlers = await registerCoreHandlers(service);
  try {
    const all = listSplit(f.store, f.datasetId, 'train');
    const fresh = all.find((im) => f.store.predictions.get(runId, im.id) === undefined);
    assert.ok(fresh, 'a train image without a prediction yet');
    const answer = await service.call('predict', validateRequest('predict', { runId, imageId: fresh.id }));
    const stored = f.store.predictions.get(runId, fresh.id);
    assert.equal(stored?.classIndex, answer.classIndex);
    assert.ok(Math.abs((stored?.probability ?? -1) - answer.probs[answer.classIndex]) < 1e-6);

    const list = (body: Record<string, unknown>) =>
      service.call('images.list', validateRequest('images.list', { datasetId: f.datasetId, ...body }));
    const everything = await list({ runId, limit: 100 });
    const predicted = everything.items.filter((i) => i.prediction);
    assert.equal(everything.predictions, predicted.length);
    const right = await list({ runId, correct: true, limit: 100 });
    const wrong = await list({ runId, correct: false, limit: 100 });
    assert.deepEqual(
      right.items.map((i) => i.id),
      predicted.filter((i) => i.prediction?.correct === true).map((i) => i.id),
    );
    assert.equal(right.total + wrong.total, predicted.filter((i) => i.prediction?.correct !== null).length);
    for (const i of right.items) assert.equal(i.prediction?.className, i.label);
    const byConfidence = await list({ runId, sort: 'confidence', limit: 100 });
    const ps = byConfidence.items.filter((i) => i.prediction).map((i) => i.prediction!.probability);
    assert.deepEqual(
      ps,
      [...ps].sort((a, b) => b - a),
    );
    await assert.rejects(list({ correct: true }), /needs a run/);
  } finally {
    await core.dispose();
  }
});

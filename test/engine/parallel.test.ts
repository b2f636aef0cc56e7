import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ParallelTrainer, type StepConfig, splitBatch } from '../../src/engine/parallel/index.js';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { getMethod } from '../../src/explain/registry.js';
import { backwardPassLimit, boundPasses } from '../../src/explain/run.js';
import { buildClassifier, buildExpClass } from '../../src/models/index.js';
import type { XwbModel } from '../../src/models/types.js';
import { xwbLoss } from '../../src/training/losses.js';
import { relativeError, seeded } from './helpers.js';

const SIZE = 16;
const N = 5; // odd: shards of 3 and 2, so the share weighting matters
const spec = { inputSize: SIZE, classes: 2, base: 4, batchNorm: true, dropout: 0, seed: 11 };

let model: XwbModel;
let trainer: ParallelTrainer;
let engineName: Awaited<ReturnType<typeof initEngine>>['name'];

before(async () => {
  const info = await initEngine({ prefer: 'wasm', logger: () => {} });
  engineName = info.name;
  model = buildExpClass(spec);
  trainer = await ParallelTrainer.create({ model, engine: info.name, replicas: 2 });
});

after(async () => {
  await trainer.close();
  model.dispose();
});

function batch() {
  return {
    images: tf.tensor4d(
      seeded(N * SIZE * SIZE * 3, 21).map((v) => (v + 1) / 2),
      [N, SIZE, SIZE, 3],
    ),
    labels: tf.tensor1d([0, 1, 1, 0, 1], 'int32'),
  };
}

const loss = { alpha: 0.7, beta: 0.6 };

/** Gradients of Σ_s (n_s/N)·L(shard_s) computed in this thread only, straight from the model and the loss. */
function referenceGradients(
  m: XwbModel,
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  training: boolean,
  shards: number[],
) {
  const vars = [...m.variables.explainer, ...m.variables.classifier];
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      let start = 0;
      const terms = shards.map((k) => {
        const x = tf.slice(images, [start, 0, 0, 0], [k, SIZE, SIZE, 3]);
        const y = tf.slice(labels, [start], [k]);
        start += k;
        const out = m.predict(x, { training });
        const l = xwbLoss({ logits: out.logits, labels: y, explanation: out.explanation }, loss).total;
        return tf.mul(l, k / N);
      });
      return tf.addN(terms) as tf.Scalar;
    }, vars);
    return vars.map((v) => grads[v.name]);
  });
}

async function compare(training: boolean, refShards: number[], using = trainer) {
  const { images, labels } = batch();
  const config: StepConfig = { parts: ['explainer', 'classifier'], loss, training };
  const { grads } = await using.gradients({ images, labels }, config);
  const ref = referenceGradients(model, images, labels, training, refShards);
  assert.equal(grads.length, ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i].dataSync();
    if (r.every((v) => v === 0)) continue; // e.g. a ReLU-dead unit in this tiny net
    worst = Math.max(worst, relativeError(grads[i].dataSync(), r));
  }
  tf.dispose([...grads, ...ref, images, labels]);
  return worst;
}

test('splitBatch makes near-equal shards in order, with masks', () => {
  const images = tf.tensor4d(
    Float32Array.from({ length: 5 * 2 * 2 * 1 }, (_, i) => i),
    [5, 2, 2, 1],
  );
  const labels = tf.tensor1d([0, 1, 2, 3, 4], 'int32');
  const mask = tf.ones([5, 2, 2, 1]) as tf.Tensor4D;
  const shards = splitBatch(
    { images, labels, masks: { mask, present: [true, false, true, true, false] } },
    2,
  );
  assert.deepEqual(
    shards.map((s) => s.shape[0]),
    [3, 2],
  );
  assert.deepEqual(Array.from(shards[1].labels), [3, 4]);
  assert.equal(shards[1].images[0], 12);
  assert.deepEqual(Array.from(shards[0].present ?? []), [1, 0, 1]);
  assert.equal(splitBatch({ images, labels }, 8).length, 5);
  assert.throws(
    () => splitBatch({ images, labels: tf.tensor1d([0, 1], 'int32') }, 2),
    /labels must be \[5\]/,
  );
  tf.dispose([images, labels, mask]);
});

test('inference-mode batch norm: the parallel gradient is the full-batch gradient', async () => {
  const err = await compare(false, [N]);
  assert.ok(err < 1e-4, `relative error ${err.toExponential(2)}`);
});

test('training-mode batch norm: the parallel gradient is the share-weighted sum of per-shard gradients', async () => {
  const err = await compare(true, [3, 2]);
  assert.ok(err < 1e-4, `relative error ${err.toExponential(2)}`);
});

test('micro-batches: shards of 3 and 2 in passes of ≤ 2 images sum to the same gradients', async () => {
  const chunked = await ParallelTrainer.create({ model, engine: engineName, replicas: 2, microBatch: 2 });
  try {
    const full = await compare(false, [N], chunked);
    assert.ok(full < 1e-4, `inference mode: relative error ${full.toExponential(2)}`);
    const perChunk = await compare(true, [2, 1, 2], chunked);
    assert.ok(perChunk < 1e-4, `training mode: relative error ${perChunk.toExponential(2)}`);
  } finally {
    await chunked.close();
  }
});

test('a step updates the master, the worker follows, and memory does not grow', async () => {
  const { images, labels } = batch();
  const optimizer = tf.train.sgd(0.05);
  const config: StepConfig = { parts: ['classifier'], loss, training: true };
  const explainerBefore = model.variables.explainer.map((v) => v.dataSync().slice());
  const classifierBefore = model.variables.classifier[0].dataSync().slice();
  await trainer.step({ images, labels }, config, optimizer);
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await trainer.step({ images, labels }, config, optimizer);
  assert.equal(tf.memory().numTensors, tensors, 'tensors leaked across steps');
  // Only the trained part moved.
  model.variables.explainer.forEach((v, i) => {
    assert.deepEqual(v.dataSync(), explainerBefore[i]);
  });
  assert.notDeepEqual(model.variables.classifier[0].dataSync(), classifierBefore);
  // The worker's half of a prediction uses the updated weights: it equals the master's own prediction.
  const split = await trainer.predict(images);
  const local = model.predict(images);
  assert.ok(relativeError(split.logits.dataSync(), local.logits.dataSync()) < 1e-5);
  assert.ok(relativeError(split.explanation.dataSync(), local.explanation.dataSync()) < 1e-5);
  tf.dispose([split.logits, split.explanation, local.logits, local.explanation, images, labels]);
  optimizer.dispose();
});

test('batch-norm moving statistics become the share-weighted mean of the replicas’', async () => {
  const { images, labels } = batch();
  // Twins with the master's weights, each moved by one shard's training forward pass.
  const twins = [buildExpClass(spec), buildExpClass(spec)];
  const weights = (m: XwbModel) => [...(m.parts.explainer?.weights ?? []), ...m.parts.classifier.weights];
  for (const t of twins) {
    weights(t).forEach((w, i) => {
      w.write(weights(model)[i].read());
    });
  }
  const stats = (m: XwbModel) =>
    [...(m.parts.explainer?.nonTrainableWeights ?? []), ...m.parts.classifier.nonTrainableWeights].map((w) =>
      w.read().dataSync(),
    );
  tf.tidy(() => {
    twins[0].predict(tf.slice(images, [0], [3]), { training: true });
    twins[1].predict(tf.slice(images, [3], [2]), { training: true });
  });
  const [a, b] = twins.map(stats);
  const { grads } = await trainer.gradients(
    { images, labels },
    { parts: ['explainer', 'classifier'], loss, training: true },
  );
  tf.dispose(grads);
  const merged = stats(model);
  assert.ok(merged.length > 0);
  merged.forEach((m, i) => {
    const want = a[i].map((v, k) => (3 * v + 2 * b[i][k]) / 5);
    assert.ok(relativeError(m, want) < 1e-5, `statistic ${i}`);
  });
  for (const t of twins) t.dispose();
  tf.dispose([images, labels]);
});

test('bad input is rejected with a message, and the trainer keeps working', async () => {
  const { images, labels } = batch();
  await assert.rejects(
    trainer.gradients(
      { images, labels: tf.tensor1d([0, 1], 'int32') },
      { parts: ['classifier'], loss, training: false },
    ),
    /labels must be \[5\]/,
  );
  await assert.rejects(
    trainer.gradients({ images, labels }, { parts: [], loss, training: false }),
    /at least one part/,
  );
  const { grads } = await trainer.gradients(
    { images, labels },
    { parts: ['classifier'], loss, training: false },
  );
  tf.dispose([...grads, images, labels]);
  await assert.rejects(ParallelTrainer.create({ model, engine: engineName, replicas: 0 }), /replicas/);
});

test('a model without batch norm (no statistics to merge) trains on 2 replicas', async () => {
  const plain = buildClassifier({ ...spec, batchNorm: false });
  assert.equal(plain.parts.classifier.nonTrainableWeights.length, 0);
  const two = await ParallelTrainer.create({ model: plain, engine: engineName, replicas: 2 });
  try {
    const { images, labels } = batch();
    const optimizer = tf.train.sgd(0.05);
    const before = plain.variables.classifier[0].dataSync().slice();
    await two.step({ images, labels }, { parts: ['classifier'], loss, training: true }, optimizer);
    assert.notDeepEqual(plain.variables.classifier[0].dataSync(), before);
    tf.dispose([images, labels]);
    optimizer.dispose();
  } finally {
    await two.close();
    plain.dispose();
  }
});

test('explainers: gradient passes at 224 px on wasm hold at most 4 images (batch and internal batch capped)', async () => {
  assert.equal(backwardPassLimit(224), 4);
  assert.equal(backwardPassLimit(64), 49);
  const given = { batchSize: 8, internalBatch: 16, steps: 3 };
  boundPasses(given, 4);
  assert.deepEqual(given, { batchSize: 4, internalBatch: 4, steps: 3 });
  const small = { batchSize: 2, internalBatch: 3 };
  boundPasses(small, 4);
  assert.deepEqual(small, { batchSize: 2, internalBatch: 3 });
  // A tiny 224 px model: the method runs with the capped sizes, and its recorded params say so.
  const m = buildExpClass({ ...spec, inputSize: 224, base: 1 });
  const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    const ig = await getMethod('integrated_gradients').explain(m, x, 0, { steps: 5, internalBatch: 16 });
    assert.equal(ig.params.internalBatch, 4);
    assert.equal(ig.params.batchSize, 4);
    const occlusion = getMethod('occlusion');
    assert.equal(occlusion.family, 'perturbation', 'forward-only methods are not capped');
  } finally {
    x.dispose();
    m.dispose();
  }
});

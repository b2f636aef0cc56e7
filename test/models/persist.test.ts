import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import {
  buildClassifier,
  buildExpClass,
  buildXcnn,
  loadModel,
  MANIFEST,
  saveModel,
} from '../../src/models/index.js';

let tmp: string;
before(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const models = [
  () => buildExpClass({ inputSize: 16, classes: 3, base: 2, seed: 4, explanationPool: 'max' }),
  () => buildXcnn({ inputSize: 16, classes: 3, base: 2, generatorFilters: 4, conv1x1: true, seed: 4 }),
  () => buildClassifier({ inputSize: 16, classes: 3, base: 2, batchNorm: false, seed: 4 }),
];

test('save → load gives identical predictions and the same spec', async () => {
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  for (const build of models) {
    const model = build();
    // A training-mode pass first, so the batch-norm moving statistics are no longer their initial values and
    // the comparison shows they are saved too.
    const warm = model.predict(x, { training: true });
    tf.dispose([warm.logits, warm.explanation]);
    const dir = path.join(tmp, model.kind);
    await saveModel(model, dir);
    assert.ok(fs.existsSync(path.join(dir, MANIFEST)));
    assert.ok(fs.existsSync(path.join(dir, 'classifier', 'model.json')));
    assert.equal(fs.existsSync(path.join(dir, 'explainer', 'weights.bin')), model.kind !== 'classifier');
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith('.')),
      [],
      'no temp folder left behind',
    );
    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.spec, model.spec);
    assert.equal(loaded.variables.explainer.length, model.variables.explainer.length);
    assert.equal(loaded.variables.classifier.length, model.variables.classifier.length);
    const a = model.predict(x);
    const b = loaded.predict(x);
    assert.deepEqual(Array.from(b.logits.dataSync()), Array.from(a.logits.dataSync()));
    assert.deepEqual(Array.from(b.explanation.dataSync()), Array.from(a.explanation.dataSync()));
    tf.dispose([a.logits, a.explanation, b.logits, b.explanation]);
    model.dispose();
    loaded.dispose();
  }
  x.dispose();
});

test('saving refuses to replace a model unless asked, and replaces it whole when asked', async () => {
  const dir = path.join(tmp, 'replace');
  const first = buildClassifier({ inputSize: 16, classes: 2, base: 2, seed: 1 });
  const second = buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 2 });
  await saveModel(first, dir);
  await assert.rejects(saveModel(second, dir), /already exists \(pass overwrite: true/);
  await saveModel(second, dir, { overwrite: true });
  const loaded = await loadModel(dir);
  assert.equal(loaded.kind, 'expclass');
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.startsWith('.')),
    [],
  );
  for (const m of [first, second, loaded]) m.dispose();
});

test('loading explains what is wrong with a folder', async () => {
  await assert.rejects(
    loadModel(path.join(tmp, 'missing')),
    /cannot read .*xwb-model\.json \(is .* a folder written by saveModel\?\)/,
  );
  const dir = path.join(tmp, 'bad');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, MANIFEST),
    JSON.stringify({ format: 'xwb-model', version: 1, spec: { kind: 'resnet', options: {} } }),
  );
  await assert.rejects(loadModel(dir), /xwb-model\.json: unknown model kind "resnet"/);
  fs.writeFileSync(
    path.join(dir, MANIFEST),
    JSON.stringify({
      format: 'xwb-model',
      version: 1,
      spec: { kind: 'classifier', options: { inputSize: 16, classes: 2 } },
    }),
  );
  await assert.rejects(loadModel(dir), /cannot read model .*classifier.*model\.json/);
  // A manifest that disagrees with the saved part is caught rather than failing at the first predict.
  const good = path.join(tmp, 'classifier');
  const manifest = JSON.parse(fs.readFileSync(path.join(good, MANIFEST), 'utf8'));
  manifest.spec.options.classes = 5;
  fs.writeFileSync(path.join(good, MANIFEST), JSON.stringify(manifest));
  await assert.rejects(loadModel(good), /shape \[, 3\] does not match the manifest's \[, 5\]/);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import {
  buildClassifier,
  buildExpClass,
  buildXcnn,
  describeModel,
  type XwbModel,
} from '../../src/models/index.js';

before(async () => {
  await tf.setBackend('cpu');
});

function images(n: number, size: number, seed = 1): tf.Tensor4D {
  return tf.randomUniform([n, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

function range(t: tf.Tensor): { min: number; max: number; mean: number } {
  const d = t.dataSync();
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of d) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / d.length };
}

const builders: [string, (size: number) => XwbModel][] = [
  ['expclass', (s) => buildExpClass({ inputSize: s, classes: 3, base: 4, seed: 1 })],
  [
    'expclass (faithful, max-pooled map)',
    (s) =>
      buildExpClass({ inputSize: s, classes: 3, base: 4, seed: 1, batchNorm: false, explanationPool: 'max' }),
  ],
  ['xcnn', (s) => buildXcnn({ inputSize: s, classes: 3, base: 4, generatorFilters: 8, seed: 1 })],
  [
    'xcnn (1×1 variant)',
    (s) => buildXcnn({ inputSize: s, classes: 3, base: 4, generatorFilters: 8, conv1x1: true, seed: 1 }),
  ],
  ['classifier', (s) => buildClassifier({ inputSize: s, classes: 3, base: 4, seed: 1 })],
];

for (const [name, build] of builders) {
  test(`${name}: logits [N, classes] and a map the size of the image, at 32 and 64 px`, () => {
    for (const size of [32, 64]) {
      const model = build(size);
      const x = images(2, size);
      const { logits, explanation } = model.predict(x);
      assert.deepEqual(logits.shape, [2, 3]);
      assert.deepEqual(explanation.shape, [2, size, size, 1]);
      const r = range(explanation);
      if (model.kind === 'expclass')
        assert.ok(r.min >= 0 && r.max < 1, `expclass map in [0, 1): ${r.min}..${r.max}`);
      if (model.kind === 'xcnn')
        assert.ok(r.min >= -1 && r.max <= 1, `xcnn map in [-1, 1]: ${r.min}..${r.max}`);
      if (model.kind === 'classifier') assert.deepEqual([r.min, r.max], [1, 1]);
      assert.ok(logits.dataSync().every(Number.isFinite));
      tf.dispose([x, logits, explanation]);
      model.dispose();
    }
  });
}

test('at 224 px with the papers’ widths: output shapes and parameter counts of expclass_torch.py', () => {
  // Built only, never run (a forward pass at 224 px would take seconds on the cpu backend).
  const model = buildExpClass({
    inputSize: 224,
    classes: 2,
    batchNorm: false,
    explainerUpsample: 'transpose',
    explainerHead: 'tanh-relu',
  });
  assert.deepEqual(model.parts.explainer!.outputs[0].shape, [null, 224, 224, 1]);
  assert.deepEqual(model.parts.classifier.outputs[0].shape, [null, 2]);
  const d = describeModel(model);
  // Explainer, by hand from expclass_torch.py (3×3 conv: 9·in·out + out; 2×2 transposed: 4·in·out + out):
  // d1 896 + 9,248; d2 18,496 + 36,928; d3 73,856 + 147,584; u3 65,664; c3 2·147,584; u2 32,832;
  // c2 2·36,928; u1 8,224; c1 2·9,248; head 33; BN gamma+beta 2 (+ 2 moving statistics).
  assert.deepEqual(d.explainer, { layers: d.explainer!.layers, trainable: 781_283, nonTrainable: 2 });
  // Classifier: blocks 896 + 9,248 + 18,496 + 36,928 + 73,856 + 147,584 + 295,168 + 590,080;
  // dense 256·128+128, 128·128+128, 128·2+2.
  assert.equal(d.classifier.trainable, 1_221_922);
  assert.equal(d.classifier.nonTrainable, 0);
  assert.equal(d.total.trainable, 781_283 + 1_221_922);
  model.dispose();
  // The default decoder: each 2×2 transposed convolution (4·in·out + out) becomes a 3×3 convolution after the
  // resize (9·in·out + out): u3 +5·128·128, u2 +5·128·64, u1 +5·64·32; the head loses its batch norm (−2) and
  // keeps its 1×1 convolution's 33.
  const resized = buildExpClass({ inputSize: 224, classes: 2, batchNorm: false, explainerBatchNorm: false });
  const r = describeModel(resized);
  const resizedTrainable = 781_283 + 5 * (128 * 128 + 128 * 64 + 64 * 32) - 2;
  assert.deepEqual(r.explainer, {
    layers: r.explainer!.layers,
    trainable: resizedTrainable,
    nonTrainable: 0,
  });
  resized.dispose();
  // The default explainer also normalises: each of its 12 block convolutions (2·(32 + 64 + 128 + 128 + 64 + 32)
  // = 896 channels) loses its bias and gains gamma/beta and two moving statistics; the upsampling convolutions
  // and the head keep their biases.
  const normalised = buildExpClass({ inputSize: 224, classes: 2, batchNorm: false });
  const n = describeModel(normalised);
  assert.deepEqual(n.explainer, {
    layers: n.explainer!.layers,
    trainable: resizedTrainable - 896 + 2 * 896,
    nonTrainable: 2 * 896,
  });
  normalised.dispose();
  // With batch normalisation each of the 8 classifier convolutions loses its bias and gains a BN layer:
  // −960 biases, +2·960 gamma/beta, +2·960 moving statistics.
  const bn = buildClassifier({ inputSize: 224, classes: 2 });
  assert.deepEqual(describeModel(bn).classifier, {
    layers: describeModel(bn).classifier.layers,
    trainable: 1_221_922 - 960 + 1920,
    nonTrainable: 1920,
  });
  assert.equal(describeModel(bn).explainer, null);
  bn.dispose();
  const xcnn = buildXcnn({ inputSize: 224, classes: 10 });
  assert.deepEqual(xcnn.parts.explainer!.outputs[0].shape, [null, 224, 224, 1]);
  assert.deepEqual(xcnn.parts.classifier.outputs[0].shape, [null, 10]);
  // Generator 3→128→1: 3·9·128+128 + 128·9·1+1.
  assert.equal(describeModel(xcnn).explainer!.trainable, 3584 + 1153);
  xcnn.dispose();
});

test('the reference expclass starts with an almost white explanation, the default one at grey', () => {
  const grey = buildExpClass({ inputSize: 32, classes: 2, base: 8, seed: 3 });
  const g = images(4, 32, 5);
  const out = grey.predict(g);
  const { mean: greyMean } = range(out.explanation);
  assert.ok(greyMean > 0.3 && greyMean < 0.7, `default initial mean ${greyMean}`);
  tf.dispose([g, out.logits, out.explanation]);
  grey.dispose();
  const model = buildExpClass({
    inputSize: 32,
    classes: 2,
    base: 8,
    seed: 3,
    explainerUpsample: 'transpose',
    explainerHead: 'tanh-relu',
  });
  const x = images(4, 32, 5);
  for (const training of [false, true]) {
    const { logits, explanation } = model.predict(x, { training });
    const { mean } = range(explanation);
    assert.ok(mean > 0.9, `initial mean explanation ${mean} (training ${training}) should be > 0.9`);
    tf.dispose([logits, explanation]);
  }
  tf.dispose(x);
  model.dispose();
});

test('white explanation: expclass on request, the classifier always, xcnn refuses', () => {
  const exp = buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 1 });
  const cls = buildClassifier({ inputSize: 16, classes: 2, base: 2, seed: 1 });
  const xcnn = buildXcnn({ inputSize: 16, classes: 2, base: 2, generatorFilters: 4, seed: 1 });
  const x = images(2, 16);
  const white = exp.predict(x, { whiteExplanation: true });
  assert.deepEqual(range(white.explanation), { min: 1, max: 1, mean: 1 });
  assert.throws(() => xcnn.predict(x, { whiteExplanation: true }), /whiteExplanation makes no sense/);
  tf.dispose([x, white.logits, white.explanation]);
  for (const m of [exp, cls, xcnn]) m.dispose();
});

test('variable groups split the trainable weights between the parts', () => {
  for (const model of [
    buildExpClass({ inputSize: 16, classes: 3, base: 2 }),
    buildXcnn({ inputSize: 16, classes: 3, base: 2, generatorFilters: 4, conv1x1: true }),
    buildClassifier({ inputSize: 16, classes: 3, base: 2 }),
  ]) {
    const { explainer, classifier } = model.variables;
    const all = [
      ...(model.parts.explainer?.trainableWeights ?? []),
      ...model.parts.classifier.trainableWeights,
    ].map((w) => w.read());
    assert.equal(explainer.length + classifier.length, all.length);
    assert.ok(
      explainer.every((v) => !classifier.includes(v)),
      'no variable in both groups',
    );
    assert.ok([...explainer, ...classifier].every((v) => v.trainable && all.includes(v)));
    if (model.kind === 'classifier') assert.equal(explainer.length, 0);
    else assert.ok(explainer.length > 0);
    // The 1×1 side branch of the xcnn variant belongs to the classifier.
    if (model.kind === 'xcnn') assert.ok(classifier.some((v) => v.name.includes('cls_conv1x1')));
    assert.deepEqual(
      model.denseKernels.map((k) => k.shape),
      [
        [16, 128],
        [128, 128],
        [128, 3],
      ],
    );
    model.dispose();
  }
});

test('training mode per part: batch-norm statistics move only in the part being trained', () => {
  const model = buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 2, explainerHead: 'tanh-relu' });
  const stat = (part: tf.LayersModel, name: string) =>
    Array.from(
      part.nonTrainableWeights
        .find((w) => w.originalName === name)!
        .read()
        .dataSync(),
    );
  const expBefore = stat(model.parts.explainer!, 'exp_head_bn/moving_mean');
  const clsBefore = stat(model.parts.classifier, 'cls_b1_bn1/moving_mean');
  const x = images(2, 16);
  const out = model.predict(x, { training: { explainer: false, classifier: true } });
  assert.deepEqual(stat(model.parts.explainer!, 'exp_head_bn/moving_mean'), expBefore);
  assert.notDeepEqual(stat(model.parts.classifier, 'cls_b1_bn1/moving_mean'), clsBefore);
  // Inference is deterministic; training mode with dropout is not.
  const a = model.predict(x);
  const b = model.predict(x);
  assert.deepEqual(Array.from(a.logits.dataSync()), Array.from(b.logits.dataSync()));
  tf.dispose([x, out.logits, out.explanation, a.logits, a.explanation, b.logits, b.explanation]);
  model.dispose();
});

test('options and inputs are validated with messages that say what to do', () => {
  assert.throws(
    () => buildExpClass({ inputSize: 40, classes: 2 }),
    /inputSize 40 is not a multiple of 16.*e\.g\. 48/,
  );
  assert.throws(
    () => buildXcnn({ inputSize: 32, classes: 1 }),
    /buildXcnn: option classes must be an integer ≥ 2/,
  );
  assert.throws(
    () => buildClassifier({ inputSize: 32, classes: 2, dropout: 1 }),
    /dropout must be in \[0, 1\)/,
  );
  assert.throws(
    // A wrong value as untyped callers (JSON, the CLI) could pass it.
    () => buildExpClass({ inputSize: 32, classes: 2, explanationPool: 'mean' as unknown as 'avg' }),
    /explanationPool must be 'avg' or 'max'/,
  );
  const model = buildClassifier({ inputSize: 16, classes: 2, base: 2 });
  const wrong = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  assert.throws(() => model.predict(wrong), /expected images \[N, 16, 16, 3\], got \[1, 32, 32, 3\]/);
  wrong.dispose();
  model.dispose();
  assert.throws(() => model.predict(wrong), /has been disposed/);
});

test('predict leaves no tensors behind', () => {
  const model = buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 1 });
  const x = images(2, 16);
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    const out = model.predict(x, { training: k % 2 === 1 });
    tf.dispose([out.logits, out.explanation]);
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  model.dispose();
});

test('a model whose classifier last trained on white maps predicts with the white map unless told otherwise', () => {
  const exp = buildExpClass({ inputSize: 32, classes: 2, base: 4, seed: 3 });
  const x = images(2, 32, 5);
  try {
    const white = exp.predict(x, { whiteExplanation: true });
    const mapped = exp.predict(x);
    exp.explainerUntrained = true;
    const untrained = exp.predict(x);
    const forced = exp.predict(x, { whiteExplanation: false });
    assert.deepEqual(Array.from(untrained.logits.dataSync()), Array.from(white.logits.dataSync()));
    assert.ok(range(untrained.explanation).min === 1, 'the map it reports is the white one it learned with');
    assert.deepEqual(Array.from(forced.logits.dataSync()), Array.from(mapped.logits.dataSync()));
    assert.notDeepEqual(Array.from(mapped.logits.dataSync()), Array.from(white.logits.dataSync()));
    for (const o of [white, mapped, untrained, forced]) for (const t of Object.values(o)) t.dispose();
  } finally {
    x.dispose();
    exp.dispose();
  }
});

test('the explainer method refuses a model whose explainer never trained, naming what to do', async () => {
  const { getMethod } = await import('../../src/explain/registry.js');
  const { explainPixels } = await import('../../src/explain/run-model.js');
  const exp = buildExpClass({ inputSize: 32, classes: 2, base: 4, seed: 3 });
  const x = images(1, 32, 5);
  const pixels = [Float32Array.from(x.dataSync())];
  try {
    exp.explainerUntrained = true;
    await assert.rejects(
      explainPixels(exp, getMethod('explainer'), pixels, [0], {}),
      /trained only its classifier.*--init-from RUN --phases explainer,joint/,
    );
    exp.explainerUntrained = false;
    const [map] = await explainPixels(exp, getMethod('explainer'), pixels, [0], {});
    assert.equal(map.length, 32 * 32);
  } finally {
    x.dispose();
    exp.dispose();
  }
});

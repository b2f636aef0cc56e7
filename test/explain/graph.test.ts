import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { buildGraph } from '../../src/explain/graph/build.js';
import { foldBatchNorm } from '../../src/explain/graph/canonize.js';
import { firstLinearNodes } from '../../src/explain/graph/first.js';
import { forward, forwardLogits } from '../../src/explain/graph/forward.js';
import { buildClassifier, buildExpClass, buildXcnn } from '../../src/models/index.js';
import type { XwbModel } from '../../src/models/types.js';
import { assertClose, images, linearModel, noLeak, randomizeBatchNorm } from './helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const MODELS: [string, () => XwbModel][] = [
  ['classifier', () => buildClassifier({ inputSize: 16, classes: 3, base: 2, seed: 1 })],
  ['expclass', () => buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 2, explainerBias: 0.3 })],
  ['xcnn', () => buildXcnn({ inputSize: 16, classes: 2, base: 2, seed: 3, generatorFilters: 4 })],
  [
    'xcnn 1×1',
    () => buildXcnn({ inputSize: 16, classes: 2, base: 2, seed: 4, generatorFilters: 4, conv1x1: true }),
  ],
];

for (const [name, make] of MODELS) {
  test(`graph forward equals predict, before and after BN folding (${name})`, async () => {
    const model = make();
    randomizeBatchNorm(model.parts.classifier, 10);
    const x = images(2, 16, 3, 5);
    await noLeak(name, () => {
      const graph = buildGraph(model);
      const folded = foldBatchNorm(graph);
      const [want, map, got, gotMap, gotFolded] = tf.tidy(() => {
        const out = model.predict(x);
        const values = forward(graph, x);
        return [
          out.logits,
          out.explanation,
          values.get(graph.output) as tf.Tensor,
          graph.mapOutput ? (values.get(graph.mapOutput) as tf.Tensor) : tf.onesLike(out.explanation),
          forwardLogits(folded, x),
        ];
      });
      assertClose(got.dataSync(), want.dataSync(), 1e-5, 'logits');
      assertClose(gotMap.dataSync(), map.dataSync(), 1e-5, 'map');
      assertClose(gotFolded.dataSync(), want.dataSync(), 1e-4, 'folded logits');
      if (model.spec.options.batchNorm) {
        assert.ok(folded.nodes.length < graph.nodes.length, 'batch norms were folded away');
        assert.ok(!folded.nodes.some((n) => n.part === 'classifier' && n.op.type === 'affine'), 'no BN left');
      }
      tf.dispose([want, map, got, gotMap, gotFolded]);
      folded.dispose();
      graph.dispose();
    });
    x.dispose();
    model.dispose();
  });
}

test('the first-layer rule goes to the layers with weights that see the pixels, wherever they are', () => {
  const want: [string, () => XwbModel, string[]][] = [
    ['classifier', MODELS[0][1], ['cls_b1_conv1']],
    // The explainer's first conv sees the image too (relevance never reaches it: the gate is fixed).
    ['expclass', MODELS[1][1], ['exp_d1_conv1', 'cls_b1_conv1']],
    // xcnn's classifier reads the generated map, behind the generator's weights: only gen_conv1 is first.
    ['xcnn', MODELS[2][1], ['gen_conv1']],
    ['xcnn 1×1', MODELS[3][1], ['gen_conv1', 'cls_conv1x1']],
    // A dense layer behind a flatten is the first layer with weights.
    ['flatten + dense', () => linearModel().linear, ['lin']],
  ];
  for (const [name, make, first] of want) {
    const model = make();
    const graph = buildGraph(model);
    const folded = foldBatchNorm(graph);
    assert.deepEqual([...firstLinearNodes(folded)].sort(), [...first].sort(), name);
    folded.dispose();
    graph.dispose();
    model.dispose();
  }
});

test('an unsupported layer is an error naming it', () => {
  const input = tf.input({ name: 'image', shape: [4, 4, 1] });
  const y = tf.layers
    .flatten()
    .apply(tf.layers.layerNormalization({ name: 'ln' }).apply(input)) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(y) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  const fake = { parts: { explainer: null, classifier: m } } as unknown as XwbModel;
  assert.throws(() => buildGraph(fake), /layer ln: LayerNormalization is not supported/);
  m.dispose();
});

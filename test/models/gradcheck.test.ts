import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { buildExpClass, type ExpClassOptions } from '../../src/models/index.js';
import { xwbLoss } from '../../src/training/losses.js';
import { blockDiagonalPenalty } from '../../src/training/regularizers.js';

before(async () => {
  await tf.setBackend('cpu');
});

/**
 * A tiny expclass (base width 2, 16 px) in training mode (batch statistics) with dropout off, so the loss is a
 * deterministic function of the weights, and the full objective: CE, L1, TV, the hybrid term with one masked and
 * one unmasked image, and the block-diagonal penalty on the dense layers.
 */
const REFERENCE = { explainerUpsample: 'transpose', explainerHead: 'tanh-relu' } as const;

function setup(layout: Partial<ExpClassOptions> = REFERENCE, delta = 0) {
  const model = buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 7, dropout: 0, ...layout });
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1], 'int32');
  const mask = tf.pad(tf.ones([2, 8, 8, 1]), [
    [0, 0],
    [4, 4],
    [4, 4],
    [0, 0],
  ]) as tf.Tensor4D;
  const loss = (): tf.Scalar =>
    tf.tidy(() => {
      const { logits, explanation, deletedLogits } = model.predict(x, {
        training: true,
        deletion: delta > 0,
      });
      const parts = xwbLoss(
        {
          logits,
          labels,
          explanation,
          masks: { mask, present: [true, false] },
          ...(deletedLogits ? { deletedLogits } : {}),
        },
        { alpha: 0.5, beta: 0.5, gamma: 1, delta, deletionClasses: [0, 1] },
      );
      return tf.add(parts.total, blockDiagonalPenalty(model.denseKernels, 2, 1e-3)) as tf.Scalar;
    });
  return { model, loss, dispose: () => tf.dispose([x, labels, mask]) };
}

// One parameter per kind of layer on the path: U-Net encoder, transposed convolution, head, its batch
// normalisation, classifier convolution and batch normalisation, and the dense layers.
const CHECKED = [
  'exp_d1_conv1/kernel',
  'exp_d3_conv2/kernel',
  'exp_up1/kernel',
  'exp_u1_conv2/kernel',
  'exp_head/kernel',
  'exp_head_bn/gamma',
  'exp_head_bn/beta',
  'cls_b1_conv1/kernel',
  'cls_b2_bn1/gamma',
  'cls_b4_conv2/kernel',
  'cls_fc1/kernel',
  'cls_logits/kernel',
  'cls_logits/bias',
];

// The default layout: nearest ×2 + 3×3 convolution, sigmoid head; checked with the deletion term on.
const CHECKED_DEFAULT = [
  'exp_d1_conv1/kernel',
  'exp_up1/kernel',
  'exp_u1_conv2/kernel',
  'exp_head/kernel',
  'exp_head/bias',
  'cls_b1_conv1/kernel',
  'cls_b2_bn1/gamma',
  'cls_fc1/kernel',
  'cls_logits/kernel',
];

test('gradient of the full loss matches central differences (float32), reference layout', () => {
  checkGradients(setup(REFERENCE), CHECKED);
});

test('gradient of the full loss with the deletion term matches central differences, default layout', () => {
  checkGradients(setup({}, 0.5), CHECKED_DEFAULT);
});

function checkGradients({ model, loss, dispose }: ReturnType<typeof setup>, checked: readonly string[]) {
  const vars = [...model.variables.explainer, ...model.variables.classifier];
  const { value, grads } = tf.variableGrads(loss, vars);
  const eps = 1e-3;
  const failures: string[] = [];
  for (const name of checked) {
    const v = vars.find((w) => w.name === name || w.name.startsWith(`${name}_`));
    assert.ok(v, `variable ${name} exists`);
    const g = grads[v.name].dataSync();
    // The entry with the largest gradient: a clear signal against float32 rounding of the loss (~1e-7).
    let k = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[k])) k = i;
    const original = v.dataSync().slice();
    const at = (delta: number) => {
      const p = original.slice();
      p[k] += delta;
      tf.tidy(() => v.assign(tf.tensor(p, v.shape)));
      const l = loss();
      const out = l.dataSync()[0];
      l.dispose();
      return out;
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
    const analytic = g[k];
    if (Math.abs(numeric - analytic) > 1e-4 + 2e-2 * Math.abs(analytic)) {
      failures.push(`${name}[${k}]: analytic ${analytic}, numeric ${numeric}`);
    }
    assert.ok(Math.abs(analytic) > 1e-3, `${name} has a gradient worth checking (${analytic})`);
  }
  assert.deepEqual(failures, []);
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  dispose();
}

test('repeated loss + gradient evaluations do not leak tensors', () => {
  const { model, loss, dispose } = setup();
  const vars = model.variables.explainer;
  const step = () => {
    const { value, grads } = tf.variableGrads(loss, vars);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  dispose();
});

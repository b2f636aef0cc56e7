import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import {
  crossEntropy,
  hybridLoss,
  kerasL1ToMeanWeight,
  l1Loss,
  meanWeightToAlpha,
  relativeL1Loss,
  tvLoss,
  xwbLoss,
} from '../../src/training/losses.js';
import { blockDiagonalL1, blockDiagonalMask, blockDiagonalPenalty } from '../../src/training/regularizers.js';

before(async () => {
  await tf.setBackend('cpu');
});

function value(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

function close(actual: number, expected: number, tol = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

/** Two 2×2 maps, written out so the expected numbers below can be checked by hand. */
function maps(): tf.Tensor4D {
  return tf.tensor4d(
    [
      [
        [[1], [0]],
        [[0], [0]],
      ],
      [
        [[0.5], [0.5]],
        [[0.5], [0.5]],
      ],
    ],
    [2, 2, 2, 1],
  );
}

/** Masks: image 0's object is its top-left pixel, image 1's its top row. */
function masks(): tf.Tensor4D {
  return tf.tensor4d([1, 0, 0, 0, 1, 1, 0, 0], [2, 2, 2, 1]);
}

test('cross-entropy: hand-computed, with and without class weights', () => {
  // Row 0: equal logits, label 0 → ln 2. Row 1: softmax = (3/4, 1/4), label 1 → ln 4.
  const logits = tf.tensor2d([
    [0, 0],
    [Math.log(3), 0],
  ]);
  const labels = tf.tensor1d([0, 1], 'int32');
  close(value(crossEntropy(logits, labels)), (Math.LN2 + 2 * Math.LN2) / 2);
  // Weighted mean (1·ln2 + 3·ln4) / (1 + 3) = 7/4 ln 2.
  close(value(crossEntropy(logits, labels, [1, 3])), (7 / 4) * Math.LN2);
  assert.throws(() => crossEntropy(logits, labels, [1]), /classWeights must be 2 positive numbers/);
  assert.throws(() => crossEntropy(logits, labels, [1, 0]), /classWeights/);
  assert.throws(() => crossEntropy(logits, tf.tensor1d([0, 1]), undefined), /int32/);
  tf.dispose([logits, labels]);
});

test('L1: mean |e| per image, then over the batch', () => {
  const e = maps();
  close(value(l1Loss(e)), (0.25 + 0.5) / 2);
  // Signed maps count by magnitude.
  const signed = tf.neg(e) as tf.Tensor4D;
  close(value(l1Loss(signed)), 0.375);
  tf.dispose([e, signed]);
});

test('relative L1: mean |e| / max |e| per image; uniform dimming leaves it unchanged', () => {
  const e = maps();
  // Image 0: mean 0.25, max 1 → 0.25. Image 1: mean 0.5, max 0.5 → 1 (it covers the whole image).
  close(value(relativeL1Loss(e)), (0.25 + 1) / 2, 1e-5);
  const dim = tf.mul(e, 0.01) as tf.Tensor4D;
  // The same picture 100 times dimmer: unchanged but for ε = 1e-6 against the peak.
  close(value(relativeL1Loss(dim)), (0.0025 / (0.01 + 1e-6) + 0.005 / (0.005 + 1e-6)) / 2, 1e-5);
  // Where the absolute term falls 100-fold for the same picture.
  close(value(l1Loss(dim)), 0.00375);
  const total = (sparsity: 'absolute' | 'relative') => {
    const parts = xwbLoss(
      { logits: tf.zeros([2, 2]), labels: tf.tensor1d([0, 1], 'int32'), explanation: e },
      { alpha: 0.5, beta: 1, sparsity },
    );
    const l1 = parts.l1.dataSync()[0];
    tf.dispose(Object.values(parts));
    return l1;
  };
  close(total('relative'), 0.625, 1e-5);
  close(total('absolute'), 0.375);
  tf.dispose([e, dim]);
});

test('relative L1: its gradient pushes the peak up and the rest down (finite differences)', () => {
  const base = [0.9, 0.2, 0.4, 0.1];
  const f = (v: number[]) => value(relativeL1Loss(tf.tensor4d(v, [1, 2, 2, 1])));
  const g = tf.grad((x: tf.Tensor) => relativeL1Loss(x as tf.Tensor4D))(tf.tensor4d(base, [1, 2, 2, 1]));
  const grad = Array.from(g.dataSync());
  g.dispose();
  const h = 1e-3;
  for (let i = 0; i < base.length; i++) {
    const up = base.slice();
    const down = base.slice();
    up[i] += h;
    down[i] -= h;
    close(grad[i], (f(up) - f(down)) / (2 * h), 1e-3);
  }
  assert.ok(grad[0] < 0 && grad.slice(1).every((d) => d > 0));
});

test('TV: vertical plus horizontal mean absolute difference inside each image', () => {
  const e = maps();
  // Image 0: vertical diffs |0−1|, |0−0| → 0.5; horizontal |0−1|, |0−0| → 0.5; TV 1. Image 1 is flat: 0.
  close(value(tvLoss(e)), 0.5);
  // A 3×2 map: vertical |3−1|,|5−3|,|4−2|,|6−4| → 2; horizontal |2−1|,|4−3|,|6−5| → 1; TV 3.
  const tall = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 3, 2, 1]);
  close(value(tvLoss(tall)), 3);
  tf.dispose([e, tall]);
});

test('TV never compares pixels of different images', () => {
  // Each image is flat, so TV is 0; a computation that ran across the batch boundary would see 0 → 1.
  const e = tf.concat([tf.zeros([1, 3, 3, 1]), tf.ones([1, 3, 3, 1])]) as tf.Tensor4D;
  assert.equal(value(tvLoss(e)), 0);
  e.dispose();
  assert.throws(() => tvLoss(tf.zeros([1, 1, 4, 1]) as tf.Tensor4D), /at least 2×2/);
});

test('hybrid: share of explanation outside the mask, only over images that have one', () => {
  const e = maps();
  const m = masks();
  // Image 0: everything outside its mask is 0 → 0. Image 1: 2 outside pixels holding 0.5 each → 1/(2+ε) ≈ 0.5.
  close(value(hybridLoss(e, { mask: m, present: [true, true] })), 0.25);
  close(value(hybridLoss(e, { mask: m, present: [false, true] })), 0.5);
  close(value(hybridLoss(e, { mask: m, present: [true, false] })), 0);
  assert.equal(value(hybridLoss(e, { mask: m, present: [false, false] })), 0);
  // The mask rows of an image without a mask are ignored whatever they hold (here: no object at all, which
  // would give image 0 a term of 0.25 and the batch 0.375 if it counted).
  const partial = tf.tensor4d([0, 0, 0, 0, 1, 1, 0, 0], [2, 2, 2, 1]);
  const present = tf.tensor1d([0, 1]);
  close(value(hybridLoss(e, { mask: partial, present })), 0.5);
  // An all-object mask gives 0 thanks to ε, not NaN.
  const full = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
  assert.equal(value(hybridLoss(e, { mask: full, present: [true, true] })), 0);
  assert.throws(() => hybridLoss(e, { mask: m, present: [true] }), /each of the 2 images/);
  tf.dispose([e, m, partial, present, full]);
});

test('total: α·CE + (1−α)·(β·L1 + (1−β)·TV + γ·hybrid), parts returned separately', () => {
  const logits = tf.tensor2d([
    [0, 0],
    [Math.log(3), 0],
  ]);
  const labels = tf.tensor1d([0, 1], 'int32');
  const explanation = maps();
  const mask = masks();
  const parts = xwbLoss(
    { logits, labels, explanation, masks: { mask, present: [true, true] } },
    { alpha: 0.5, beta: 0.5, gamma: 2 },
  );
  const ce = 1.5 * Math.LN2;
  const expl = 0.5 * 0.375 + 0.5 * 0.5 + 2 * 0.25;
  close(value(parts.ce), ce);
  close(value(parts.l1), 0.375);
  close(value(parts.tv), 0.5);
  close(value(parts.hybrid), 0.25);
  close(value(parts.expl), expl);
  close(value(parts.total), 0.5 * ce + 0.5 * expl);
  // Without masks the hybrid part is 0 and the rest is unchanged.
  const noMask = xwbLoss({ logits, labels, explanation }, { alpha: 0.9, beta: 1 });
  close(value(noMask.total), 0.9 * ce + 0.1 * 0.375);
  assert.equal(value(noMask.hybrid), 0);
  tf.dispose(Object.values(noMask));
  assert.throws(
    () => xwbLoss({ logits, labels, explanation }, { alpha: 1.5, beta: 0 }),
    /alpha must be in \[0, 1\]/,
  );
  tf.dispose([logits, labels, explanation, mask]);
});

test('Keras activity-regulariser weights convert to the mean-L1 weight', () => {
  // w·Σ|e| over 8 images of 224×224 = (w·224·224·8)·mean|e|.
  close(kerasL1ToMeanWeight(1e-6, 224, 224, 8), 0.401408, 1e-9);
  close(kerasL1ToMeanWeight(1e-4, 64, 64, 8), 3.2768, 1e-9);
  close(meanWeightToAlpha(0.401408), 1 / 1.401408, 1e-12);
  // The two objectives are proportional: α·CE + (1−α)·L1 = α·(CE + λ·L1).
  const lambda = kerasL1ToMeanWeight(1e-6, 224, 224, 8);
  const alpha = meanWeightToAlpha(lambda);
  const [ce, l1] = [0.7, 0.9];
  close(alpha * ce + (1 - alpha) * l1, alpha * (ce + lambda * l1), 1e-12);
  assert.throws(() => kerasL1ToMeanWeight(1e-6, 0, 224, 8), /height must be a positive integer/);
});

test('block-diagonal L1: only positive weights outside the per-class diagonal blocks', () => {
  // [4, 2] kernel, 2 classes: inputs 0–1 and outputs 0 form block 0, inputs 2–3 and output 1 block 1.
  // Off-block weights: (0,1)=2, (1,1)=−3, (2,0)=4, (3,0)=6 → positive ones sum to 12.
  const w1 = tf.tensor2d([
    [1, 2],
    [-1, -3],
    [4, -5],
    [6, 7],
  ]);
  // [2, 2]: off-diagonal 2 and 3 → 5.
  const w2 = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  close(value(blockDiagonalL1([w1], 2)), 12);
  close(value(blockDiagonalL1([w1, w2], 2)), 17);
  close(value(blockDiagonalPenalty([w1, w2], 2, 0.1)), 1.7, 1e-6);
  // Uneven widths: 3 inputs in 2 blocks → rows 0,1 in block 0, row 2 in block 1.
  const mask = blockDiagonalMask(3, 2, 2);
  assert.deepEqual(Array.from(mask.dataSync()), [0, 1, 0, 1, 1, 0]);
  // Its gradient is the mask restricted to positive weights.
  const g = tf.grad((w: tf.Tensor) => blockDiagonalL1([w], 2))(w1);
  assert.deepEqual(Array.from(g.dataSync()), [0, 1, 0, 0, 1, 0, 1, 0]);
  assert.throws(() => blockDiagonalMask(1, 4, 2), /cannot hold 2 blocks/);
  tf.dispose([w1, w2, mask, g]);
});

test('losses leave no tensors behind', () => {
  const logits = tf.tensor2d([
    [0.3, -0.2],
    [1, 0],
  ]);
  const labels = tf.tensor1d([1, 0], 'int32');
  const e = maps();
  const mask = masks();
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    const g = tf.grads(
      (lg: tf.Tensor, ex: tf.Tensor) =>
        xwbLoss(
          {
            logits: lg as tf.Tensor2D,
            labels,
            explanation: ex as tf.Tensor4D,
            masks: { mask, present: [true, false] },
          },
          { alpha: 0.7, beta: 0.6, gamma: 1, classWeights: [2, 1] },
        ).total,
    )([logits, e]);
    tf.dispose(g);
    tf.dispose(Object.values(xwbLoss({ logits, labels, explanation: e }, { alpha: 0.5, beta: 0.5 })));
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([logits, labels, e, mask]);
});

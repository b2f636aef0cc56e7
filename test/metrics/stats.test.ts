import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalise } from '../../src/metrics/core/normalise.js';
import { ssim } from '../../src/metrics/core/ssim.js';
import { midranks, pearson, rocAuc, spearman, trapezoid } from '../../src/metrics/core/stats.js';
import { studentTQuantile, summarise } from '../../src/metrics/core/summarise.js';
import { expectedTopKHits } from '../../src/metrics/core/topk.js';
import { assertClose } from './helpers.js';

// Reference numbers from scipy 1.17 (stats.spearmanr, pearsonr, rankdata, t.ppf) on the same inputs.
test('midranks give tied values the mean of their ranks', () => {
  assert.deepEqual(Array.from(midranks([3, 1, 3, 2, 3])), [4, 1, 4, 2, 4]);
});

test('pearson and spearman (with ties) match scipy', () => {
  const a = [1, 2, 2, 3, 5];
  const b = [2, 1, 4, 4, 9];
  assertClose(pearson(a, b), 0.909207918411186, 1e-12);
  assertClose(spearman(a, b), 0.7631578947368421, 1e-12);
  assert.equal(pearson([1, 2, 3], [4, 6, 8]), 1);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), 'a constant side has no correlation');
  assert.ok(Number.isNaN(spearman([1], [2])));
});

test('trapezoid integrates piecewise-linear curves exactly', () => {
  assertClose(trapezoid([0, 0.5, 1], [1, 1, 0]), 0.75);
  assertClose(trapezoid([0, 0.25, 1], [0, 1, 1]), 0.875);
  assert.throws(() => trapezoid([0, 1, 0.5], [0, 0, 0]), /non-decreasing/);
});

test('rocAuc counts tied positive/negative pairs as one half', () => {
  // positives 0.5, 0.9, 0.5; negatives 0.5, 0.1: of 6 pairs, 4 won and 2 tied -> 5/6.
  assertClose(rocAuc([0.5, 0.9, 0.5, 0.5, 0.1], [1, 1, 1, 0, 0]), 5 / 6);
  assertClose(rocAuc([2, 2, 2, 2], [1, 0, 1, 0]), 0.5);
  assert.ok(Number.isNaN(rocAuc([1, 2], [1, 1])));
});

test('Student t quantiles match scipy', () => {
  assertClose(studentTQuantile(0.975, 1), 12.706204736174694, 1e-8);
  assertClose(studentTQuantile(0.975, 2), 4.302652729749462, 1e-9);
  assertClose(studentTQuantile(0.975, 10), 2.228138851986274, 1e-9);
  assertClose(studentTQuantile(0.975, 30), 2.0422724563012378, 1e-9);
});

test('summarise: mean, sd, NaN count and the t interval', () => {
  const s = summarise([1, 2, 3, Number.NaN, 4]);
  assert.equal(s.n, 4);
  assert.equal(s.nanCount, 1);
  assertClose(s.mean, 2.5);
  assertClose(s.sd, Math.sqrt(5 / 3));
  // t(0.975, 3) = 3.182446305284263 (scipy).
  const half = 3.182446305284263 * (Math.sqrt(5 / 3) / 2);
  assertClose(s.ci95[0], 2.5 - half, 1e-8);
  assertClose(s.ci95[1], 2.5 + half, 1e-8);
  const one = summarise([7]);
  assert.equal(one.mean, 7);
  assert.ok(Number.isNaN(one.sd) && Number.isNaN(one.ci95[0]));
  assert.ok(Number.isNaN(summarise([Number.NaN]).mean));
  assert.throws(() => summarise([Number.POSITIVE_INFINITY]), /finite values or NaN/);
});

test('ssim matches skimage semantics (uniform 7x7, sample covariance, cropped mean)', () => {
  const w = 8;
  const h = 9;
  const a = new Float64Array(w * h);
  const b = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      a[y * w + x] = Math.sin(x * 0.7) + Math.cos(y * 0.3);
      b[y * w + x] = a[y * w + x] + 0.3 * Math.cos(x * y * 0.5);
    }
  }
  // Computed with scipy.ndimage.uniform_filter following skimage's structural_similarity step by step.
  assertClose(ssim(a, b, w, h), 0.9635788223155969, 1e-12);
  assertClose(ssim(a, b, w, h, 2), 0.9632181099669034, 1e-12);
  assertClose(ssim(a, a, w, h), 1, 1e-12);
  assert.equal(ssim(new Float64Array(w * h).fill(0.3), new Float64Array(w * h).fill(0.3), w, h), 1);
  assert.throws(() => ssim([1, 2, 3, 4], [1, 2, 3, 4], 2, 2), /too small/);
});

test('expectedTopKHits shares tied places out in proportion', () => {
  // Values 3 > 2 = 2 = 2 > 1; k = 2: the 3 (in mask) plus one of three tied 2s, two of which are in the mask.
  const values = [3, 2, 2, 2, 1];
  const mask = [1, 1, 0, 1, 0];
  assertClose(expectedTopKHits(values, mask, 2), 1 + 2 / 3);
  assertClose(expectedTopKHits(values, mask, 1), 1);
  assert.throws(() => expectedTopKHits(values, mask, 6), /k must be/);
});

test('normalise: none, max-abs (signs kept) and min-max (constant -> zeros)', () => {
  assert.deepEqual(Array.from(normalise([1, -4, 2], 'none')), [1, -4, 2]);
  assert.deepEqual(Array.from(normalise([1, -4, 2], 'max-abs')), [0.25, -1, 0.5]);
  assert.deepEqual(Array.from(normalise([1, 3, 2], 'min-max')), [0, 1, 0.5]);
  assert.deepEqual(Array.from(normalise([5, 5], 'min-max')), [0, 0]);
  assert.deepEqual(Array.from(normalise([0, 0], 'max-abs')), [0, 0]);
});

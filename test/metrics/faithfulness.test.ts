import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baselineImage, boxBlur } from '../../src/metrics/core/perturb.js';
import { aopcLeRF } from '../../src/metrics/faithfulness/aopc-lerf.js';
import { aopcMoRF } from '../../src/metrics/faithfulness/aopc-morf.js';
import { deletion } from '../../src/metrics/faithfulness/deletion.js';
import { faithfulnessCorrelation } from '../../src/metrics/faithfulness/faithfulness-correlation.js';
import { insertion } from '../../src/metrics/faithfulness/insertion.js';
import type { ScoreModel } from '../../src/metrics/types.js';
import { assertClose, imageOf, linearModel, mapOf } from './helpers.js';

// 4×4 image of ones; the toy model's score is the sum over the left half (x < 2): 8 on the intact image.
const W = 4;
const image = imageOf(W, W, 1, () => 1);
const left = (x: number) => (x < 2 ? 1 : 0);
const good = mapOf(W, W, (x) => left(x));
const bad = mapOf(W, W, (x) => 1 - left(x));

function input(map = good) {
  return { map, image, target: 0, model: linearModel(W, left).model };
}

test('deletion: curve and AUC worked out by hand (4 pixels per step, ties in row-major order)', async () => {
  const r = await deletion.run(input(), { stepFraction: 0.25 });
  assert.deepEqual(r.details?.fractions, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(r.details?.scores, [8, 4, 0, 0, 0]);
  assertClose(r.value, 2); // 0.25·(8+4)/2 + 0.25·(4+0)/2
  assertClose((await deletion.run(input(bad), { stepFraction: 0.25 })).value, 6);
  assert.equal(r.higherIsBetter, false);
});

test('insertion: from the baseline back to the image', async () => {
  const r = await insertion.run(input(), { stepFraction: 0.25, fill: 'black' });
  assert.deepEqual(r.details?.scores, [0, 4, 8, 8, 8]);
  assertClose(r.value, 6);
  assertClose((await insertion.run(input(bad), { stepFraction: 0.25, fill: 'black' })).value, 2);
});

test('a partial last step gets its true width on the x axis', async () => {
  // 5 pixels per step: 0, 5, 10, 15, 16 pixels removed.
  const r = await deletion.run(input(), { stepFraction: 0.3 });
  assert.deepEqual(r.details?.fractions, [0, 5 / 16, 10 / 16, 15 / 16, 1]);
  assert.deepEqual(r.details?.scores, [8, 3, 0, 0, 0]);
  assertClose(r.value, 35 / 16);
});

test('fills: white leaves this image unchanged, grey halves it, noise is seeded', async () => {
  assertClose((await deletion.run(input(), { stepFraction: 0.25, fill: 'white' })).value, 8);
  const grey = await deletion.run(input(), { stepFraction: 0.25, fill: 'grey' });
  assert.deepEqual(grey.details?.scores, [8, 6, 4, 4, 4]);
  const opts = { valueMin: 0, valueMax: 1, blurRadius: 1, seed: 7 };
  const n1 = baselineImage(image, 'noise', opts);
  assert.deepEqual(n1, baselineImage(image, 'noise', opts));
  assert.notDeepEqual(n1, baselineImage(image, 'noise', { ...opts, seed: 8 }));
  assert.ok(n1.every((v) => v >= 0 && v < 1));
  const a = await deletion.run(input(), { fill: 'noise', seed: 3, stepFraction: 0.25 });
  const b = await deletion.run(input(), { fill: 'noise', seed: 3, stepFraction: 0.25 });
  assert.deepEqual(a.details?.scores, b.details?.scores);
});

test('box blur averages the clipped window', () => {
  const row = imageOf(3, 1, 1, (x) => 3 * x); // 0 3 6
  assert.deepEqual(Array.from(boxBlur(row, 1)), [1.5, 3, 4.5]);
  const square = imageOf(3, 3, 2, (x, y, c) => (x === 1 && y === 1 ? 9 : 0) + c);
  const blurred = boxBlur(square, 1);
  assertClose(blurred[(0 * 3 + 0) * 2], 9 / 4); // corner window holds 4 pixels
  assertClose(blurred[(1 * 3 + 1) * 2], 1);
  assertClose(blurred[(1 * 3 + 1) * 2 + 1], 2, 1e-6, 'channel 1: (9 + 9·1) / 9');
});

test('batches are bounded, progress is reported, abort stops the run', async () => {
  const { model, stats } = linearModel(W, left);
  const progress: [number, number][] = [];
  await deletion.run(
    { map: good, image, target: 0, model },
    { stepFraction: 0.25, batchSize: 2 },
    { onProgress: (d, t) => progress.push([d, t]) },
  );
  assert.equal(stats.maxBatch, 2);
  assert.equal(stats.calls, 3);
  assert.deepEqual(progress, [
    [2, 5],
    [4, 5],
    [5, 5],
  ]);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(deletion.run(input(), {}, { signal: ac.signal }), { name: 'AbortError' });
  const mid = new AbortController();
  await assert.rejects(
    deletion.run(
      input(),
      { stepFraction: 0.25, batchSize: 1 },
      { signal: mid.signal, onProgress: () => mid.abort() },
    ),
    { name: 'AbortError' },
  );
});

test('scores: softmax of logits, or raw; model output is checked', async () => {
  const logits: ScoreModel = { outputs: 'logits', predict: linearModel(W, left).model.predict };
  const p = await deletion.run({ map: good, image, target: 0, model: logits }, { stepFraction: 0.25 });
  const scores = p.details?.scores as number[];
  assertClose(scores[0], 1 / (1 + Math.exp(-8)), 1e-12);
  assertClose(scores[4], 0.5, 1e-12);
  const raw = await deletion.run(
    { map: good, image, target: 0, model: logits },
    { stepFraction: 0.25, score: 'raw' },
  );
  assert.equal((raw.details!.scores as number[])[0], 8);
  const broken: ScoreModel = { outputs: 'logits', predict: async (b) => b.map(() => new Float32Array([1])) };
  await assert.rejects(
    deletion.run({ map: good, image, target: 1, model: broken }),
    /1 class scores, the target is class 1/,
  );
  const nan: ScoreModel = {
    outputs: 'logits',
    predict: async (b) => b.map(() => new Float32Array([Number.NaN])),
  };
  await assert.rejects(
    deletion.run({ map: good, image, target: 0, model: nan }),
    /non-finite score for class 0/,
  );
  const short: ScoreModel = { outputs: 'logits', predict: async () => [] };
  await assert.rejects(
    deletion.run({ map: good, image, target: 0, model: short }),
    /0 score vectors for a batch of 16/,
  );
  await assert.rejects(deletion.run({ map: good, image, target: 0 }), /lacks model/);
  const wrongSize = imageOf(2, 2, 1, () => 1);
  await assert.rejects(deletion.run({ ...input(), image: wrongSize }), /image is 2×2 but the map is 4×4/);
});

test('AOPC MoRF and LeRF on a grid of 2×2 patches, worked out by hand', async () => {
  const grid = { patchSize: 2, layout: 'grid' };
  const morf = await aopcMoRF.run(input(), grid);
  assert.deepEqual(morf.details?.drops, [0, 4, 8, 8, 8]);
  assertClose(morf.value, 28 / 5);
  const lerf = await aopcLeRF.run(input(), grid);
  assert.deepEqual(lerf.details?.drops, [0, 0, 0, 4, 8]);
  assertClose(lerf.value, 12 / 5);
  assert.equal(lerf.higherIsBetter, false);
  assertClose((await aopcMoRF.run(input(), { ...grid, regions: 2 })).value, 4);
});

test('sliding patches are taken greedily without overlap (Quantus), here the same four tiles', async () => {
  const r = await aopcMoRF.run(input(), { patchSize: 2 });
  assertClose(r.value, 28 / 5);
  assert.deepEqual(r.details?.patches, [
    { x0: 0, y0: 0, x1: 2, y1: 2 },
    { x0: 0, y0: 2, x1: 2, y1: 4 },
    { x0: 2, y0: 0, x1: 4, y1: 2 },
    { x0: 2, y0: 2, x1: 4, y1: 4 },
  ]);
  await assert.rejects(aopcMoRF.run(input(), { patchSize: 5 }), /patchSize 5 exceeds/);
});

test('faithfulness correlation: exactly 1 for the true weights, -1 reversed, seeded and repeatable', async () => {
  const w6 = 6;
  const img6 = imageOf(w6, w6, 1, () => 1);
  const half = (x: number) => (x < 3 ? 1 : 0);
  const base = { image: img6, target: 0, model: linearModel(w6, half).model };
  const params = { runs: 20, subsetSize: 5, seed: 11 };
  const exact = await faithfulnessCorrelation.run({ ...base, map: mapOf(w6, w6, (x) => half(x)) }, params);
  assertClose(exact.value, 1, 1e-12);
  const reversed = await faithfulnessCorrelation.run(
    { ...base, map: mapOf(w6, w6, (x) => -half(x)) },
    params,
  );
  assertClose(reversed.value, -1, 1e-12);
  const again = await faithfulnessCorrelation.run({ ...base, map: mapOf(w6, w6, (x) => half(x)) }, params);
  assert.deepEqual(again.details, exact.details);
  const other = await faithfulnessCorrelation.run(
    { ...base, map: mapOf(w6, w6, (x) => half(x)) },
    { ...params, seed: 12 },
  );
  assert.notDeepEqual(other.details?.drops, exact.details?.drops);
  const flat = await faithfulnessCorrelation.run({ ...base, map: mapOf(w6, w6, () => 1) }, params);
  assert.ok(Number.isNaN(flat.value) && /sums do not vary/.test(flat.note ?? ''));
  await assert.rejects(
    faithfulnessCorrelation.run({ ...base, map: mapOf(w6, w6, () => 1) }),
    /subsetSize 224 exceeds/,
  );
});

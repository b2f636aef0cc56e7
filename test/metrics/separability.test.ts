import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffusion } from '../../src/metrics/separability/diffusion.js';
import type { ExplainFn, ScoreModel } from '../../src/metrics/types.js';
import { imageOf, mapOf } from './helpers.js';

const W = 4;
const image = imageOf(W, W, 3, () => 0.5);
const fixedScores = (s: number[]): ScoreModel => ({
  outputs: 'logits',
  predict: async (batch) => batch.map(() => new Float32Array(s)),
});
const asked: number[] = [];
const explain: ExplainFn = async (_img, c) => {
  asked.push(c);
  return mapOf(W, W, () => c);
};

test("diffusion: Frobenius norm between the two top classes' maps", async () => {
  asked.length = 0;
  const r = await diffusion.run({
    map: mapOf(W, W, () => 0),
    image,
    model: fixedScores([0.1, 0.7, 0.2]),
    explain,
  });
  // Maps filled with 1 and 2: sqrt(16 · 1²) = 4.
  assert.equal(r.value, 4);
  assert.deepEqual(r.details, { classes: [1, 2] });
  assert.deepEqual(asked, [1, 2]);
  assert.equal(r.higherIsBetter, true);
});

test('diffusion reuses the given map for the target and breaks score ties by class index', async () => {
  asked.length = 0;
  const target = await diffusion.run({
    map: mapOf(W, W, () => 5),
    target: 1,
    image,
    model: fixedScores([0.1, 0.7, 0.2]),
    explain,
  });
  assert.equal(target.value, 12); // |5 − 2| · 4
  assert.deepEqual(asked, [2]);
  const tie = await diffusion.run({
    map: mapOf(W, W, () => 0),
    image,
    model: fixedScores([0.5, 0.5, 0.1]),
    explain,
  });
  assert.deepEqual(tie.details, { classes: [0, 1] });
  await assert.rejects(
    diffusion.run({ map: mapOf(W, W, () => 0), image, model: fixedScores([1]), explain }),
    /at least 2 class scores/,
  );
  assert.equal(
    (
      await diffusion.run(
        { map: mapOf(W, W, () => 0), image, model: fixedScores([0.1, 0.7, 0.2]), explain },
        { normalise: 'max-abs' },
      )
    ).value,
    0,
  );
});

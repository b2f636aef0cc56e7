import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelParameterRandomisation } from '../../src/metrics/randomisation/model-parameter-randomisation.js';
import { randomLogit } from '../../src/metrics/randomisation/random-logit.js';
import type { ExplainFn, RandomisationStage, ScalarMap } from '../../src/metrics/types.js';
import { assertClose, imageOf, mapOf } from './helpers.js';

const W = 8;
const ramp = mapOf(W, W, (x, y) => 1 + x + W * y);
const reversed = mapOf(W, W, (x, y) => 100 - x - W * y);
const flat = mapOf(W, W, () => 3);

function stages(...maps: [string, ScalarMap][]) {
  return async function* (): AsyncIterable<RandomisationStage> {
    for (const [layer, map] of maps) yield { layer, map };
  };
}

test('cascading randomisation: Spearman per stage, last or mean', async () => {
  const input = { map: ramp, randomised: stages(['dense_2', ramp], ['conv_3', reversed]) };
  const last = await modelParameterRandomisation.run(input);
  assert.deepEqual(last.details, { layers: ['dense_2', 'conv_3'], similarities: [1, -1] });
  assert.equal(last.value, -1);
  assert.equal(last.higherIsBetter, false);
  assert.equal((await modelParameterRandomisation.run(input, { summary: 'mean' })).value, 0);
  // abs (the default) folds signs: -ramp has the same ranks of |v| as ramp.
  const negated = mapOf(W, W, (x, y) => -(1 + x + W * y));
  assert.equal(
    (await modelParameterRandomisation.run({ map: ramp, randomised: stages(['a', negated]) })).value,
    1,
  );
  assert.equal(
    (await modelParameterRandomisation.run({ map: ramp, randomised: stages(['a', negated]) }, { abs: false }))
      .value,
    -1,
  );
});

test('cascading randomisation: constant maps, no stages, wrong sizes', async () => {
  const r = await modelParameterRandomisation.run({ map: ramp, randomised: stages(['dense', flat]) });
  assert.ok(Number.isNaN(r.value) && /after dense/.test(r.note ?? ''));
  await assert.rejects(
    modelParameterRandomisation.run({ map: ramp, randomised: stages() }),
    /yielded no stage/,
  );
  const small = mapOf(4, 4, () => 1);
  await assert.rejects(
    modelParameterRandomisation.run({ map: ramp, randomised: stages(['fc', small]) }),
    /after randomising "fc" is 4×4/,
  );
  assert.equal(
    (
      await modelParameterRandomisation.run(
        { map: ramp, randomised: stages(['a', ramp]) },
        { similarity: 'ssim' },
      )
    ).value,
    1,
  );
});

test('random logit: the other class is drawn from the seed, never the target', async () => {
  const asked: number[] = [];
  const explain: ExplainFn = async (_img, c) => {
    asked.push(c);
    return c === 0 ? ramp : reversed;
  };
  const image = imageOf(W, W, 3, () => 0.5);
  const two = await randomLogit.run(
    { map: ramp, image, target: 1, explain, numClasses: 2 },
    { similarity: 'spearman' },
  );
  assert.deepEqual(two.details, { otherClass: 0 });
  assert.equal(two.value, 1);
  const ssim = await randomLogit.run({ map: ramp, image, target: 1, explain, numClasses: 2 });
  assertClose(ssim.value, 1, 1e-12);
  const picks = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const r = await randomLogit.run({ map: ramp, image, target: 2, explain, numClasses: 5 }, { seed });
    const other = r.details?.otherClass as number;
    assert.notEqual(other, 2);
    picks.add(other);
    const again = await randomLogit.run({ map: ramp, image, target: 2, explain, numClasses: 5 }, { seed });
    assert.equal(again.details?.otherClass, other);
  }
  assert.deepEqual([...picks].sort(), [0, 1, 3, 4]);
  await assert.rejects(
    randomLogit.run({ map: ramp, image, target: 0, explain, numClasses: 1 }),
    /at least 2 classes/,
  );
  await assert.rejects(
    randomLogit.run({ map: ramp, image, target: 5, explain, numClasses: 5 }),
    /target class must be/,
  );
});

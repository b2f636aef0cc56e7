import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributionLocalisation } from '../../src/metrics/localisation/attribution-localisation.js';
import { largestRegionBoxIoU } from '../../src/metrics/localisation/largest-region-box-iou.js';
import { pointingGame } from '../../src/metrics/localisation/pointing-game.js';
import { pompom } from '../../src/metrics/localisation/pompom.js';
import { relevanceMassAccuracy } from '../../src/metrics/localisation/relevance-mass-accuracy.js';
import { relevanceRankAccuracy } from '../../src/metrics/localisation/relevance-rank-accuracy.js';
import { rocAucMetric } from '../../src/metrics/localisation/roc-auc.js';
import { thresholdIoU } from '../../src/metrics/localisation/threshold-iou.js';
import { topKIntersection } from '../../src/metrics/localisation/top-k-intersection.js';
import { boxesToMask } from '../../src/metrics/mask.js';
import type { MetricDefinition, MetricInput, Params } from '../../src/metrics/types.js';
import { assertClose, mapOf, maskOf } from './helpers.js';

// An 8×8 image whose object is the 3×3 box at columns/rows 2..4 (9 of 64 pixels).
const W = 8;
const BOX = { x0: 2, y0: 2, x1: 5, y1: 5 };
const MASK = boxesToMask([BOX], W, W);
const inBox = (x: number, y: number) => x >= 2 && x < 5 && y >= 2 && y < 5;
const onBox = mapOf(W, W, (x, y) => (inBox(x, y) ? 1 : 0));
const wrongCorner = mapOf(W, W, (x, y) => (x >= 5 && y >= 5 ? 1 : 0));
const constant = mapOf(W, W, () => 0.5);
const EMPTY = maskOf(W, W, () => false);

const maskMetrics: MetricDefinition[] = [
  pointingGame,
  relevanceMassAccuracy,
  relevanceRankAccuracy,
  topKIntersection,
  attributionLocalisation,
  rocAucMetric,
  thresholdIoU,
  pompom,
];

async function value<P extends Params>(m: MetricDefinition<P>, input: MetricInput, params?: Partial<P>) {
  return (await m.run(input, params)).value;
}

test('a map that is 1 exactly on the box scores perfectly everywhere', async () => {
  const input = { map: onBox, mask: MASK, boxes: [BOX] };
  assert.equal(await value(pointingGame, input), 1);
  assert.equal(await value(relevanceMassAccuracy, input), 1);
  assert.equal(await value(relevanceRankAccuracy, input), 1);
  assert.equal(await value(topKIntersection, input, { k: 9 }), 1);
  assert.equal(await value(attributionLocalisation, input), 1);
  assert.equal(await value(rocAucMetric, input), 1);
  assert.equal(await value(thresholdIoU, input), 1);
  assert.equal(await value(largestRegionBoxIoU, input), 1);
  assert.equal(await value(pompom, input), 0);
});

test('a map on the wrong corner scores 0 (AUC: the ties with background count half)', async () => {
  const input = { map: wrongCorner, mask: MASK, boxes: [BOX] };
  assert.equal(await value(pointingGame, input), 0);
  assert.equal(await value(relevanceMassAccuracy, input), 0);
  assert.equal(await value(relevanceRankAccuracy, input), 0);
  assert.equal(await value(topKIntersection, input, { k: 9 }), 0);
  assert.equal(await value(attributionLocalisation, input), 0);
  // Every object pixel is 0: it loses to the 9 background ones and ties with the 46 background zeros.
  assertClose(await value(rocAucMetric, input), 23 / 55);
  assert.equal(await value(thresholdIoU, input), 0);
  assert.equal(await value(largestRegionBoxIoU, input), 0);
  assertClose(await value(pompom, input), 9 / 55);
});

test('an empty mask gives NaN with a note, never a crash', async () => {
  for (const m of maskMetrics) {
    const r = await m.run({ map: onBox, mask: EMPTY }, m === topKIntersection ? { k: 9 } : {});
    assert.ok(Number.isNaN(r.value), `${m.name} should be NaN`);
    assert.match(r.note ?? '', /empty mask/, m.name);
  }
  const r = await largestRegionBoxIoU.run({ map: onBox, boxes: [] });
  assert.ok(Number.isNaN(r.value));
});

test('a constant map: the documented tie rules', async () => {
  const input = { map: constant, mask: MASK };
  assert.equal(await value(pointingGame, input), 1, "Quantus's rule: any maximum on the object is a hit");
  assertClose(await value(pointingGame, input, { weighted: true }), 1 - 9 / 64);
  assertClose(await value(relevanceMassAccuracy, input), 9 / 64);
  assertClose(await value(relevanceRankAccuracy, input), 9 / 64, 1e-12, 'chance level');
  assertClose(await value(topKIntersection, input, { k: 16 }), 9 / 64);
  assertClose(await value(attributionLocalisation, input), 9 / 64);
  assert.equal(await value(rocAucMetric, input), 0.5);
  assert.equal(await value(thresholdIoU, input), 0, '0.5 never reaches 0.75');
  assert.equal(await value(pompom, input), 1, 'every background pixel is active');
  const zeros = mapOf(W, W, () => 0);
  const rma = await relevanceMassAccuracy.run({ map: zeros, mask: MASK });
  assert.ok(Number.isNaN(rma.value) && /sums to 0/.test(rma.note ?? ''));
});

test('hand-computed mixed map: mass, AUC, attribution localisation options', async () => {
  // 2 on one object pixel, 1 on two background pixels.
  const map = mapOf(W, W, (x, y) =>
    x === 2 && y === 2 ? 2 : (x === 0 && y === 0) || (x === 7 && y === 7) ? 1 : 0,
  );
  const input = { map, mask: MASK };
  assertClose(await value(relevanceMassAccuracy, input), 0.5);
  // Pairs 9×55: the 2 beats all 55; each of the 8 zero object pixels ties with 53 background zeros.
  assertClose(await value(rocAucMetric, input), (55 + 8 * 26.5) / 495);
  assertClose(await value(attributionLocalisation, input, { weighted: true }), 0.5 * (9 / 64));
  const tooBig = await attributionLocalisation.run(input, { maxSize: 0.1 });
  assert.ok(Number.isNaN(tooBig.value) && /maxSize/.test(tooBig.note ?? ''));
  // Signed map: abs (the default) counts the -2 outside; raw sums would exceed 1 inside -> NaN as Quantus.
  const signed = mapOf(W, W, (x, y) => (inBox(x, y) ? 1 : x === 0 && y === 0 ? -2 : 0));
  assertClose(await value(attributionLocalisation, { map: signed, mask: MASK }), 9 / 11);
  assert.ok(Number.isNaN(await value(attributionLocalisation, { map: signed, mask: MASK }, { abs: false })));
  assertClose(await value(relevanceMassAccuracy, { map: signed, mask: MASK }), 9 / 7);
  assertClose(await value(relevanceMassAccuracy, { map: signed, mask: MASK }, { positiveOnly: true }), 1);
});

test('pointing game tolerance reaches the mask within the given distance', async () => {
  const map = mapOf(W, W, (x, y) => (x === 6 && y === 3 ? 1 : 0)); // 2 px right of the box edge column 4
  const input = { map, mask: MASK };
  assert.equal(await value(pointingGame, input, { tolerance: 1 }), 0);
  assert.equal(await value(pointingGame, input, { tolerance: 2 }), 1);
  const diagonal = mapOf(W, W, (x, y) => (x === 6 && y === 6 ? 1 : 0)); // distance to (4,4) is 2√2
  assert.equal(await value(pointingGame, { map: diagonal, mask: MASK }, { tolerance: 2.8 }), 0);
  assert.equal(await value(pointingGame, { map: diagonal, mask: MASK }, { tolerance: 2.9 }), 1);
});

test('top-k intersection: k, concept influence and the k > N refusal', async () => {
  const input = { map: onBox, mask: MASK };
  assertClose(await value(topKIntersection, input, { k: 18 }), 0.5);
  assertClose(await value(topKIntersection, input, { k: 18, conceptInfluence: true }), 0.5 * (64 / 9));
  await assert.rejects(topKIntersection.run(input), /k = 1000 exceeds the map's 64 pixels/);
});

test('threshold IoU by absolute value and by percentile', async () => {
  const ramp = mapOf(W, W, (x, y) => x + 8 * y); // 0..63, all distinct
  const lastRow = boxesToMask([{ x0: 0, y0: 7, x1: 8, y1: 8 }], W, W);
  // 90th percentile of 0..63 = 56.7: pixels 57..63, 7 of the 8 in the last row.
  const r = await thresholdIoU.run({ map: ramp, mask: lastRow }, { mode: 'percentile', percentile: 90 });
  assertClose(r.value, 7 / 8);
  assertClose(r.details?.threshold as number, 56.7, 1e-9);
  // min-max normalised ramp: >= 0.75 means value >= 47.25, i.e. 48..63 (two rows), union 16, overlap 8.
  assertClose(await value(thresholdIoU, { map: ramp, mask: lastRow }, { normalise: 'min-max' }), 0.5);
});

test('largest region: 8-connectivity, its box, union vs best ground truth', async () => {
  // A diagonal of 5 pixels (one region under 8-connectivity) and a separate 2×2 blob of 4.
  const map = mapOf(W, W, (x, y) => ((x === y && x < 5) || (x >= 6 && y >= 6) ? 1 : 0));
  const boxes = [
    { x0: 0, y0: 0, x1: 5, y1: 5 },
    { x0: 6, y0: 6, x1: 8, y1: 8 },
  ];
  const best = await largestRegionBoxIoU.run({ map, boxes }, { groundTruth: 'best' });
  assert.equal(best.value, 1);
  assert.deepEqual(best.details?.regionBox, { x0: 0, y0: 0, x1: 5, y1: 5 });
  assert.equal(best.details?.regions, 2);
  assertClose(await value(largestRegionBoxIoU, { map, boxes }), 25 / 64);
  const none = await largestRegionBoxIoU.run({ map: mapOf(W, W, () => 0.1), boxes });
  assert.equal(none.value, 0);
});

test('POMPOM counts only background pixels above epsilon', async () => {
  const map = mapOf(W, W, (x, y) =>
    inBox(x, y) ? 1 : y === 0 && x < 3 ? 0.5 : x === 7 && y === 7 ? 1e-7 : 0,
  );
  assertClose(await value(pompom, { map, mask: MASK }), 3 / 55);
  assertClose(await value(pompom, { map, mask: MASK }, { epsilon: 1e-8 }), 4 / 55);
  const full = maskOf(W, W, () => true);
  assert.equal(await value(pompom, { map, mask: full }), 0);
});

test('parameters are returned with the result and checked', async () => {
  const r = await pointingGame.run({ map: onBox, mask: MASK }, { tolerance: 3 });
  assert.deepEqual(r.params, { tolerance: 3, weighted: false, abs: false });
  assert.equal(r.metric, 'pointing-game');
  assert.equal(r.higherIsBetter, true);
  await assert.rejects(
    pointingGame.run({ map: onBox, mask: MASK }, { tolerence: 3 } as never),
    /unknown parameter "tolerence"/,
  );
  await assert.rejects(
    pointingGame.run({ map: onBox, mask: MASK }, { weighted: 'yes' } as never),
    /must be a boolean/,
  );
  await assert.rejects(
    thresholdIoU.run({ map: onBox, mask: MASK }, { mode: 'relative' }),
    /must be one of absolute, percentile/,
  );
  await assert.rejects(pointingGame.run({ map: onBox }), /lacks mask/);
  const small = maskOf(4, 4, () => true);
  await assert.rejects(pointingGame.run({ map: onBox, mask: small }), /mask is 4×4 but the map is 8×8/);
  const bad = { data: new Float32Array(3), width: 2, height: 2 };
  await assert.rejects(pompom.run({ map: bad, mask: MASK }), /holds 3 values/);
  const nan = mapOf(W, W, () => Number.NaN);
  await assert.rejects(pompom.run({ map: nan, mask: MASK }), /non-finite value/);
});

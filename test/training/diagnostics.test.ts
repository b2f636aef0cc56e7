import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTrainConfig } from '../../src/training/config.js';
import {
  diagnoseMap,
  FLAT_RATIO,
  MapStatsAccumulator,
  mapStats,
  mapWarning,
} from '../../src/training/diagnostics.js';
import { summarise } from '../../src/training/summary.js';

const S = 8;
const P = S * S;

/** A lattice: 1 on every other pixel of every other row, 0 elsewhere. */
function lattice(): Float32Array {
  const m = new Float32Array(P);
  for (let y = 0; y < S; y += 2) for (let x = 0; x < S; x += 2) m[y * S + x] = 1;
  return m;
}

/** A 2×2 bright square at (x, y) on black: what a working explainer does with an object there. */
function blob(x: number, y: number): Float32Array {
  const m = new Float32Array(P);
  for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) m[(y + dy) * S + x + dx] = 1;
  return m;
}

const dead = { deadThreshold: 1e-4 };

test('identical maps: across-image spread 0 whatever the pattern → flat', () => {
  const s = mapStats([lattice(), lattice(), lattice(), lattice()]);
  assert.equal(s.images, 4);
  assert.equal(s.mean, 16 / 64);
  // Each map is a 0/1 pattern with a quarter ones: sd = sqrt(0.25 · 0.75).
  assert.ok(Math.abs(s.withinStd - Math.sqrt(0.1875)) < 1e-12, String(s.withinStd));
  assert.equal(s.acrossStd, 0);
  assert.equal(diagnoseMap(s, dead), 'flat');
  const w = mapWarning('flat', 'explainer', 3, s, 1e-4);
  assert.match(w.message, /^phase explainer, epoch 3: the map is the same on every image/);
  assert.match(w.message, /does not depend on the input/);
  assert.match(w.message, /varies 0\.000 across images against 0\.433 within one/);
  assert.match(w.advice, /--l1/);
});

test('maps that follow the object are not flat; their spreads are the hand-computed ones', () => {
  const maps = [blob(0, 0), blob(4, 4), blob(0, 4), blob(4, 0)];
  const s = mapStats(maps);
  assert.equal(s.mean, 4 / 64);
  assert.ok(Math.abs(s.withinStd - Math.sqrt((4 / 64) * (60 / 64))) < 1e-12);
  // 16 pixels are lit in exactly one of the 4 maps (sd sqrt(0.25·0.75)), the other 48 never (sd 0).
  assert.ok(Math.abs(s.acrossStd - (16 * Math.sqrt(0.1875)) / 64) < 1e-12, String(s.acrossStd));
  assert.ok(s.acrossStd > FLAT_RATIO * s.withinStd);
  assert.equal(diagnoseMap(s, dead), null);
});

test('a dead map (0 everywhere) is dead, not flat; without a dead threshold it is flat', () => {
  const zero = new Float32Array(P);
  const s = mapStats([zero, zero, zero]);
  assert.deepEqual([s.mean, s.withinStd, s.acrossStd], [0, 0, 0]);
  assert.equal(diagnoseMap(s, dead), 'dead');
  assert.equal(diagnoseMap(s, { deadThreshold: null }), 'flat');
  const w = mapWarning('dead', 'joint', 2, s, 1e-4);
  assert.match(w.message, /phase joint, epoch 2: the explainer is dead .*the map died/);
  assert.match(w.advice, /lower --l1/);
});

test('a white map is saturated (the explainer selects nothing)', () => {
  const white = (v: number) => new Float32Array(P).fill(v);
  const s = mapStats([white(0.99), white(0.97), white(0.98)]);
  assert.ok(Math.abs(s.mean - 0.98) < 1e-6);
  assert.equal(diagnoseMap(s, dead), 'saturated');
  assert.match(mapWarning('saturated', 'explainer', 1, s, 1e-4).message, /not selecting/);
  // 0.95 itself is not above the line.
  assert.equal(diagnoseMap({ mean: 0.95, withinStd: 0.1, acrossStd: 0.1 }, dead), null);
});

test('batch by batch gives the same numbers as all at once; one image has no across-image spread', () => {
  const maps = [blob(0, 0), lattice(), blob(2, 6), blob(6, 2), lattice()];
  const whole = mapStats(maps);
  const acc = new MapStatsAccumulator(P);
  const first = new Float32Array(3 * P);
  for (const [i, m] of maps.slice(0, 3).entries()) first.set(m, i * P);
  acc.add(first, 3);
  const rest = new Float32Array(2 * P);
  for (const [i, m] of maps.slice(3).entries()) rest.set(m, i * P);
  acc.add(rest, 2);
  const batched = acc.result();
  for (const k of ['mean', 'withinStd', 'acrossStd'] as const) {
    assert.ok(Math.abs(batched[k] - whole[k]) < 1e-12, `${k}: ${batched[k]} vs ${whole[k]}`);
  }
  const one = mapStats([lattice()]);
  assert.ok(Number.isNaN(one.acrossStd));
  assert.equal(diagnoseMap(one, dead), null, 'no verdict on flatness from one image');
  assert.throws(() => acc.add(new Float32Array(P + 1), 1), /65 values for 1 maps of 64 pixels/);
});

test("the run's summary repeats a flat map the phase ended with, not one it recovered from", () => {
  const config = resolveTrainConfig({ datasetId: 1, model: { kind: 'expclass', inputSize: 32 } });
  const row = (phase: string, epoch: number, flat: number) => ({
    runId: 1,
    phase,
    epoch,
    seconds: 1,
    createdAt: '',
    metrics: {
      val_expl_mean: 0.3,
      val_map_std: 0.4,
      val_map_across_std: 0.01,
      map_flat: flat,
      map_saturated: 0,
    },
  });
  const { warnings } = summarise(config, [
    row('explainer', 1, 1),
    row('explainer', 2, 0),
    row('joint', 1, 1),
  ]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^phase joint, epoch 1: the map is the same on every image.*Try a lower --l1/);
});

test('the explainer phase is measured against the best accuracy the classifier phase reached', async () => {
  const {
    accuracyLost: lost,
    classifierPhaseAccuracy,
    majorityShare,
  } = await import('../../src/training/trainer.js');
  const e = (phase: string, val_acc: number) => ({ phase, metrics: { val_acc } });
  assert.equal(
    classifierPhaseAccuracy([]),
    null,
    'a fine-tuning run without a classifier phase has no reference',
  );
  assert.equal(classifierPhaseAccuracy([e('classifier', 0.6), e('classifier', 1), e('classifier', 0.9)]), 1);
  assert.equal(classifierPhaseAccuracy([e('explainer', 0.9), e('classifier', Number.NaN)]), null);
  assert.equal(majorityShare([0, 1, 1, 1, -1]), 0.75);
  assert.equal(majorityShare([]), 1);
  // S16 (star set, base 16, chance 0.5): 1.00 → 0.50 is lost; the colour-cue base-8 run's wobble 0.90 → 0.65 is not.
  assert.ok(lost(1, 0.5, 0.5) && lost(1, 0.51, 0.5));
  assert.ok(!lost(0.9, 0.65, 0.5) && !lost(0.9, 0.82, 0.5));
});

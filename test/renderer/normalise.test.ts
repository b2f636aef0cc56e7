/**
 * The one map-to-colour rule (renderer/src/lib/overlay): scales, positions, colours and the legend's words, each
 * checked against values worked out by hand from Captum's `_normalize_attr` (cumulative-sum threshold, 2 %
 * outliers) and matplotlib's `bwr` table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colormapLut, colourAt } from '../../renderer/src/lib/colormap.js';
import { defaultCompareMethods } from '../../renderer/src/lib/compare.js';
import { colormapFor, colourise, keptFraction, magnitude } from '../../renderer/src/lib/overlay/colourise.js';
import {
  describeScale,
  fitScale,
  formatTick,
  isSigned,
  massThreshold,
  position,
  rawLevel,
  resolveRule,
  strength,
} from '../../renderer/src/lib/overlay/normalise.js';
import { reviewScale } from '../../renderer/src/lib/review/display.js';

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

test("massThreshold is Captum's cumulative-sum threshold", () => {
  // sorted 1 2 3 4, total 10: 98 % = 9.8 is first reached at 4 (cum 10); 50 % = 5 at 3 (cum 6).
  assert.equal(massThreshold(Float64Array.of(4, 1, 3, 2), 98), 4);
  assert.equal(massThreshold(Float64Array.of(4, 1, 3, 2), 50), 3);
  // 99 ones and one 2: total 101, 98 % = 98.98 is reached by the 99th one, so the 2 is an outlier that saturates.
  assert.equal(massThreshold(Float64Array.from([...Array(99).fill(1), 2]), 98), 1);
  assert.equal(massThreshold(new Float64Array(0), 98), 0);
  assert.equal(massThreshold(Float64Array.of(0, 0, 0), 98), 0);
  assert.throws(() => massThreshold(Float64Array.of(1), 101), /percent 101/);
});

test('a tiny unsigned map (a gradient) fills the colour bar per image', () => {
  const grad = Float32Array.of(0, 1e-4, 2e-4, 3.2e-4);
  // |v| sorted 0, 1e-4, 2e-4, 3.2e-4, total 6.2e-4: 98 % = 6.076e-4 is first reached at 3.2e-4.
  const s = fitScale(resolveRule('auto', ['gradient']), [grad]);
  assert.equal(s.kind, 'sequential');
  assert.equal(s.rule, 'image');
  near(s.lo, 0, 'lo');
  near(s.hi, 3.2e-4, 'hi');
  assert.ok(Math.abs(position(1.6e-4, s) - 0.5) < 1e-6);
  // Under the old absolute [0, 1] nothing reached 0.75; now the top value does.
  assert.equal(keptFraction(grad, s, 0.75), 0.25);
  assert.equal(keptFraction(grad, fitScale('absolute', [grad]), 0.75), 0);
  const text = describeScale(s, 'image');
  assert.deepEqual(text.ticks, ['0', '1.6e-4', '3.2e-4']);
  assert.match(text.rule, /per image; Captum's rule/);
  assert.match(text.rule, /top 2 % of the mass saturated/);
});

test('an offset map (RISE-like) starts at its minimum', () => {
  // v − min = 0, 0, 0.1, 0.2, total 0.3: 98 % = 0.294 reached at 0.2, so the scale is 0.5 … 0.7.
  const s = fitScale('image', [Float32Array.of(0.5, 0.5, 0.6, 0.7)]);
  assert.ok(Math.abs(s.lo - 0.5) < 1e-6 && Math.abs(s.hi - 0.7) < 1e-6, `${s.lo} … ${s.hi}`);
});

test('signed maps get a diverging scale centred on 0, ±the 98 % level of |v|', () => {
  const lrp = Float32Array.of(-2, -1, 0, 1, 4);
  assert.equal(isSigned([lrp]), true);
  // |v| sorted 0 1 1 2 4, total 8: 98 % = 7.84 first reached at 4.
  const s = fitScale('image', [lrp]);
  assert.deepEqual([s.kind, s.lo, s.hi], ['diverging', -4, 4]);
  assert.equal(position(-4, s), 0);
  assert.equal(position(0, s), 0.5);
  assert.equal(position(2, s), 0.75);
  assert.equal(position(-1, s), 0.375);
  assert.equal(position(9, s), 1, 'clipped');
  assert.equal(strength(-2, s), 0.5, 'strength is the magnitude');
  assert.equal(rawLevel(s, 0.5), 2);
  assert.deepEqual([...magnitude(lrp)], [2, 1, 0, 1, 4]);
  assert.deepEqual(describeScale(s, 'image').ticks, ['-4', '0', '+4']);
  assert.deepEqual(describeScale(s, 'image', { relative: true }).ticks, ['−', '0', '+']);
  assert.match(describeScale(s, 'image').rule, /^signed, 0 at the centre/);
  // Sign-ness ignores what is not a finite number; it can be forced (registry knowledge).
  assert.equal(isSigned([Float32Array.of(Number.NaN, Number.NEGATIVE_INFINITY, 1)]), false);
  assert.equal(fitScale('image', [Float32Array.of(0, 1)], { signed: true }).kind, 'diverging');
});

test('absolute and min..max rules; auto keeps the in-model map absolute', () => {
  assert.deepEqual(fitScale('absolute', [Float32Array.of(0.2, 0.9)]), {
    kind: 'sequential',
    rule: 'absolute',
    lo: 0,
    hi: 1,
  });
  // XCNN's heatmap lies in [−1, 1].
  const xcnn = fitScale(resolveRule('auto', ['in-model']), [Float32Array.of(-0.5, 0.3)]);
  assert.deepEqual([xcnn.kind, xcnn.lo, xcnn.hi], ['diverging', -1, 1]);
  const mm = fitScale('minmax', [Float32Array.of(0.25, 0.75)]);
  assert.deepEqual([mm.lo, mm.hi], [0.25, 0.75]);
  const mmSigned = fitScale('minmax', [Float32Array.of(-1, 3)]);
  assert.deepEqual([mmSigned.kind, mmSigned.lo, mmSigned.hi], ['diverging', -3, 3]);
  assert.equal(resolveRule('auto', ['in-model', 'gradient']), 'image', 'one rule for a mixed set');
  assert.equal(resolveRule('auto', []), 'image');
  assert.equal(resolveRule('minmax', ['in-model']), 'minmax');
});

test('fitting several maps pools their values (a compare row or the grid)', () => {
  // Pooled 0 1 0 3, total 4: 98 % = 3.92 reached at 3; each alone would end at 1 and 3.
  const s = fitScale('image', [Float32Array.of(0, 1), Float32Array.of(0, 3)]);
  assert.deepEqual([s.lo, s.hi], [0, 3]);
  assert.equal(fitScale('image', [Float32Array.of(0, 1)]).hi, 1);
});

test('a flat map has no scale and says so', () => {
  const s = fitScale('image', [Float32Array.of(0, 0, 0)]);
  assert.deepEqual([s.kind, s.lo, s.hi], ['sequential', 0, 0]);
  assert.equal(position(0, s), 0);
  assert.equal(describeScale(s, 'image').rule, 'flat: every value is 0');
});

test('bwr: blue, white at 0, red; matplotlib entries', () => {
  const lut = colormapLut('bwr');
  assert.deepEqual([...lut.slice(0, 3)], [0, 0, 255]);
  // entry 127 at x = 127/255: r = g = round(255 · 254/255) = 254; entry 128 mirrors it.
  assert.deepEqual([...lut.slice(3 * 127, 3 * 128)], [254, 254, 255]);
  assert.deepEqual([...lut.slice(3 * 128, 3 * 129)], [255, 254, 254]);
  assert.deepEqual([...lut.slice(765, 768)], [255, 0, 0]);
  assert.deepEqual(colourAt('bwr', 0.25), [128, 128, 255]); // entry 64: x = 64/255, 2x · 255 = 128
});

test('colourise: signed maps always diverging; threshold on strength; floor is the neutral colour', () => {
  const data = Float32Array.of(-4, 0, 4, 1);
  const s = fitScale('image', [data]);
  assert.equal(colormapFor(s, 'magma'), 'bwr');
  const px = colourise(data, { scale: s, colormap: 'magma', threshold: null });
  // 1 sits at 0.625 → entry floor(0.625 · 256) = 160, x = 160/255: g = b = round(255 · (2 − 2x)) = 190.
  assert.deepEqual([...px], [0, 0, 255, 255, 255, 254, 254, 255, 255, 0, 0, 255, 255, 190, 190, 255]);
  // |v|/4 = 1, 0, 1, 0.25: a 0.5 threshold keeps −4 and 4.
  const cut = colourise(data, { scale: s, colormap: 'viridis', threshold: 0.5 });
  assert.deepEqual([...cut.slice(4, 8)], [0, 0, 0, 0]);
  assert.deepEqual([...cut.slice(12, 16)], [0, 0, 0, 0]);
  assert.deepEqual([...cut.slice(0, 4)], [0, 0, 255, 255]);
  const floor = colourise(data, { scale: s, colormap: 'viridis', threshold: 0.5, below: 'floor' });
  assert.deepEqual([...floor.slice(4, 8)], [255, 254, 254, 255]);
  assert.equal(keptFraction(data, s, 0.5), 0.5);
  // Unsigned: the user's table; the floor is its bottom colour.
  const u = Float32Array.of(0, 0.5, 0.75, 1);
  const abs = fitScale('absolute', [u]);
  const seq = colourise(u, { scale: abs, colormap: 'viridis', threshold: 0.75, below: 'floor' });
  assert.deepEqual([...seq.slice(0, 4)], [68, 1, 84, 255]);
  assert.deepEqual([...seq.slice(12, 16)], [253, 231, 37, 255]);
  assert.equal(keptFraction(u, abs, 0.75), 0.5);
  const none = colourise(u, { scale: abs, colormap: 'grey', threshold: null });
  assert.deepEqual([...none.slice(4, 8)], [128, 128, 128, 255]);
});

test('review draws every map under the per-image rule, whatever its range', () => {
  const small = reviewScale(Float32Array.of(0, 1e-4, 2e-4, 3.2e-4));
  const big = reviewScale(Float32Array.of(0, 1, 2, 3.2));
  assert.equal(small.rule, 'image');
  // float32 inputs: equal to float32 precision.
  assert.ok(Math.abs(small.hi * 1e4 - big.hi) < 1e-5, `${small.hi} vs ${big.hi}`);
});

test('formatTick: three significant digits, exponents outside 1e-3..1e4', () => {
  assert.equal(formatTick(3.2e-4), '3.2e-4');
  assert.equal(formatTick(0.5), '0.5');
  assert.equal(formatTick(1.23456), '1.23');
  assert.equal(formatTick(12345), '1.2e4');
  assert.equal(formatTick(0), '0');
  assert.equal(formatTick(-0.25), '-0.25');
});

test('compare starts with the model’s own map, gradient and Grad-CAM; never the controls', () => {
  const methods = [
    { name: 'explainer', family: 'in-model' },
    { name: 'input', family: 'control' },
    { name: 'random', family: 'control' },
    { name: 'gradient', family: 'gradient' },
    { name: 'gradcam', family: 'class-activation' },
    { name: 'lrp', family: 'relevance' },
  ];
  assert.deepEqual(defaultCompareMethods(methods, 'expclass'), ['explainer', 'gradient', 'gradcam']);
  assert.deepEqual(defaultCompareMethods(methods, 'xcnn'), ['explainer', 'gradient', 'gradcam']);
  assert.deepEqual(defaultCompareMethods(methods, 'classifier'), ['gradient', 'gradcam']);
  assert.deepEqual(defaultCompareMethods(methods, undefined), ['gradient', 'gradcam']);
  assert.deepEqual(defaultCompareMethods(methods.slice(1, 3).concat(methods[5]), 'classifier'), ['lrp']);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixBox, fixVocBndbox } from '../../../src/data/voc/boxrules.js';
import { toVocBndbox } from '../../../src/data/voc/coords.js';

/** A small deterministic generator (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('every valid integer box inside the image survives write + rules unchanged and unwarned', () => {
  const r = rng(7);
  const int = (n: number) => Math.floor(r() * n);
  for (let i = 0; i < 2000; i++) {
    const width = 1 + int(300);
    const height = 1 + int(300);
    const x0 = int(width);
    const y0 = int(height);
    const box = { x0, y0, x1: x0 + 1 + int(width - x0), y1: y0 + 1 + int(height - y0) };
    const fix = fixVocBndbox(toVocBndbox(box), { width, height });
    assert.deepEqual(fix, { box, problems: [] }, JSON.stringify({ box, width, height }));
  }
});

test('whatever the numbers, a kept box is non-empty and inside the image', () => {
  const r = rng(11);
  const coord = () => Math.round((r() * 400 - 100) * 4) / 4;
  const image = { width: 200, height: 150 };
  let kept = 0;
  for (let i = 0; i < 5000; i++) {
    const fix = fixVocBndbox({ xmin: coord(), ymin: coord(), xmax: coord(), ymax: coord() }, image);
    if (!fix.box) {
      assert.ok(fix.problems.some((p) => p.endsWith('dropped')));
      continue;
    }
    kept++;
    const { x0, y0, x1, y1 } = fix.box;
    assert.ok(0 <= x0 && x0 < x1 && x1 <= image.width, JSON.stringify(fix));
    assert.ok(0 <= y0 && y0 < y1 && y1 <= image.height, JSON.stringify(fix));
  }
  assert.ok(kept > 1000, `only ${kept} boxes kept: the generator is not exercising the clamp path`);
});

test('fixVocBndbox: swap in VOC terms, the xmin = xmax + 1 boundary is empty, xmin = xmax is one pixel', () => {
  assert.deepEqual(fixVocBndbox({ xmin: 12, ymin: 1, xmax: 10, ymax: 1 }), {
    box: { x0: 9, y0: 0, x1: 12, y1: 1 },
    problems: ['xmin 12 > xmax 10: swapped'],
  });
  assert.equal(fixVocBndbox({ xmin: 11, ymin: 1, xmax: 10, ymax: 1 }).box, null);
  assert.deepEqual(fixVocBndbox({ xmin: 10, ymin: 1, xmax: 10, ymax: 1 }), {
    box: { x0: 9, y0: 0, x1: 10, y1: 1 },
    problems: [],
  });
  // A fractional inversion smaller than a pixel is a thin box in the inclusive convention, not a swap.
  assert.deepEqual(fixVocBndbox({ xmin: 10.5, ymin: 1, xmax: 10.2, ymax: 1 }).box, {
    x0: 9.5,
    y0: 0,
    x1: 10.2,
    y1: 1,
  });
});

test('fixBox on xwb boxes (what sanitizeBoxes sees): inverted, empty, non-finite, untouched without a size', () => {
  assert.deepEqual(fixBox({ x0: 8, y0: 2, x1: 3, y1: 6 }), {
    box: { x0: 3, y0: 2, x1: 8, y1: 6 },
    problems: ['inverted box (xmin 9 > xmax 3): swapped'],
  });
  assert.deepEqual(fixBox({ x0: 1, y0: 6, x1: 3, y1: 6 }).problems, [
    "zero height (ymin 7, ymax 6): the box is empty in VOC's inclusive convention (size = max - min + 1); dropped",
  ]);
  assert.deepEqual(fixBox({ x0: 0, y0: 0, x1: Number.POSITIVE_INFINITY, y1: 1 }), {
    box: null,
    problems: ['its coordinates are not all finite numbers: dropped'],
  });
  assert.deepEqual(fixBox({ x0: -50, y0: -50, x1: 5000, y1: 5000 }), {
    box: { x0: -50, y0: -50, x1: 5000, y1: 5000 },
    problems: [],
  });
  // Touching the image only at its edge leaves nothing inside.
  assert.equal(fixBox({ x0: 10, y0: 0, x1: 20, y1: 5 }, { width: 10, height: 10 }).box, null);
  assert.equal(fixBox({ x0: 0, y0: -5, x1: 5, y1: 0 }, { width: 10, height: 10 }).box, null);
});

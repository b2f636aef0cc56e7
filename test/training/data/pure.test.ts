import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochPlan } from '../../../src/training/data/batches.js';
import { classMaskPixels, highlightPixels, maskBoxes, vocColour } from '../../../src/training/data/masks.js';
import { toInputPixels } from '../../../src/training/data/pixels.js';
import { placeImage } from '../../../src/training/data/placement.js';
import { rasteriseBoxes, resampleMask } from '../../../src/training/data/raster.js';
import { classWeights } from '../../../src/training/data/weights.js';

/** Rows of a size×size 0/1 mask as strings of '.' and '#', for readable expectations. */
function picture(mask: Uint8Array, size: number): string[] {
  return Array.from({ length: size }, (_, r) =>
    Array.from(mask.subarray(r * size, (r + 1) * size), (v) => (v ? '#' : '.')).join(''),
  );
}

test('placement: stretch fills the input, letterbox keeps the aspect ratio and centres', () => {
  assert.deepEqual(placeImage(100, 50, 10, 'stretch'), {
    size: 10,
    srcWidth: 100,
    srcHeight: 50,
    contentX: 0,
    contentY: 0,
    contentWidth: 10,
    contentHeight: 10,
  });
  const lb = placeImage(100, 50, 10, 'letterbox');
  assert.deepEqual([lb.contentX, lb.contentY, lb.contentWidth, lb.contentHeight], [0, 2, 10, 5]);
  const tall = placeImage(30, 90, 9, 'letterbox');
  assert.deepEqual([tall.contentX, tall.contentY, tall.contentWidth, tall.contentHeight], [3, 0, 3, 9]);
  assert.throws(() => placeImage(0, 5, 4, 'stretch'), /image width must be a positive integer/);
  assert.throws(() => placeImage(5, 5, 4, 'crop' as never), /resize mode must be one of stretch, letterbox/);
});

test('boxes at native size cover exactly columns x0..x1-1 and rows y0..y1-1', () => {
  const sq = placeImage(6, 6, 6, 'stretch');
  assert.deepEqual(picture(rasteriseBoxes([{ x0: 1, y0: 2, x1: 4, y1: 3 }], sq), 6), [
    '......',
    '......',
    '.###..',
    '......',
    '......',
    '......',
  ]);
});

test('a non-square image stretched: rows sample the source at their centres', () => {
  // 5 rows stretched to 6: row r samples source y = (r + 0.5)·5/6 = 0.42, 1.25, 2.08, 2.92, 3.75, 4.58,
  // so the rows 1 and 2 of the source ([1, 3)) become input rows 1, 2 and 3.
  const p = placeImage(6, 5, 6, 'stretch');
  assert.deepEqual(picture(rasteriseBoxes([{ x0: 0, y0: 1, x1: 2, y1: 3 }], p), 6), [
    '......',
    '##....',
    '##....',
    '##....',
    '......',
    '......',
  ]);
});

test('boxes shrink with the image by the centre rule; a tiny box keeps the pixel holding its centre', () => {
  const p = placeImage(8, 8, 4, 'stretch'); // each input pixel samples source x = 2c + 1
  assert.deepEqual(picture(rasteriseBoxes([{ x0: 2, y0: 2, x1: 6, y1: 4 }], p), 4), [
    '....',
    '.##.',
    '....',
    '....',
  ]);
  // [4, 5) holds no sample point (1, 3, 5, 7): its centre 4.5 lies in input pixel 2.
  assert.deepEqual(picture(rasteriseBoxes([{ x0: 4, y0: 4, x1: 5, y1: 5 }], p), 4), [
    '....',
    '....',
    '..#.',
    '....',
  ]);
  assert.throws(() => rasteriseBoxes([{ x0: 3, y0: 1, x1: 3, y1: 2 }], p), /empty/);
});

test('letterbox padding is never part of a mask', () => {
  const p = placeImage(4, 2, 4, 'letterbox'); // content rows 1..2
  assert.deepEqual(picture(rasteriseBoxes([{ x0: 0, y0: 0, x1: 4, y1: 2 }], p), 4), [
    '....',
    '####',
    '####',
    '....',
  ]);
  const src = new Uint8Array([1, 0, 0, 1, 0, 1, 1, 0]);
  assert.deepEqual(picture(resampleMask(src, p), 4), ['....', '#..#', '.##.', '....']);
  assert.throws(() => resampleMask(new Uint8Array(3), p), /mask has 3 pixels but the image is 4×2/);
});

test('input pixels: RGB scaled to [0, 1], grey repeated, letterbox padding', () => {
  const p = placeImage(2, 1, 2, 'letterbox'); // content row 0 (floor((2-1)/2) = 0), padding row 1
  const rgb = toInputPixels(new Uint8Array([255, 0, 51, 0, 102, 255]), 3, p, 0.25);
  assert.deepEqual(
    Array.from(rgb),
    [1, 0, 0.2, 0, 0.4, 1, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25].map(Math.fround),
  );
  const grey = toInputPixels(new Uint8Array([0, 255]), 1, p, 1);
  assert.deepEqual(Array.from(grey), [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.throws(() => toInputPixels(new Uint8Array(8), 4, p, 1), /expected 1 \(grey\) or 3 \(RGB\)/);
  assert.throws(() => toInputPixels(new Uint8Array(5), 3, p, 1), /decoded 5 samples, expected 2×1×3 = 6/);
});

test('class weights: inverse frequency with mean 1; absent classes 1; unlabelled ignored', () => {
  // Counts 3 and 1: inverse 1/3 and 1, mean 2/3 → 0.5 and 1.5.
  assert.deepEqual(classWeights([0, 0, 0, 1, -1], 2), [0.5, 1.5]);
  const w = classWeights([0, 1, 1, 1, 1, 2, 2], 4);
  // Counts 1, 4, 2, 0: inverse 1, 0.25, 0.5 with mean 7/12.
  const expected = [12 / 7, 3 / 7, 6 / 7, 1];
  for (const [i, v] of w.entries()) assert.ok(Math.abs(v - expected[i]) < 1e-12, `weight ${i}: ${v}`);
  assert.ok(Math.abs(w.reduce((a, b) => a + b) / w.length - 1) < 1e-12);
  assert.deepEqual(classWeights([1, 1], 2), [1, 1]);
  assert.throws(() => classWeights([2], 2), /label 2 is not a class index in \[0, 2\)/);
  assert.throws(() => classWeights([-1], 2), /no labelled images/);
});

test('epoch plan: a permutation, reproducible per (seed, epoch), different across epochs and seeds', () => {
  const a = epochPlan(50, { shuffle: true, seed: 7, epoch: 3 });
  assert.deepEqual(epochPlan(50, { shuffle: true, seed: 7, epoch: 3 }), a);
  assert.deepEqual(
    [...a.order].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(epochPlan(50, { shuffle: true, seed: 7, epoch: 4 }).order, a.order);
  assert.notDeepEqual(epochPlan(50, { shuffle: true, seed: 8, epoch: 3 }).order, a.order);
  assert.deepEqual(epochPlan(4, {}).order, [0, 1, 2, 3]);
  // Flips do not change the order and are decided per item.
  const f = epochPlan(50, { shuffle: true, seed: 7, epoch: 3, flip: true });
  assert.deepEqual(f.order, a.order);
  assert.ok(f.flips.some((x) => x) && f.flips.some((x) => !x));
  assert.deepEqual(epochPlan(50, { seed: 7, epoch: 3, flip: true }).flips, f.flips);
  assert.ok(a.flips.every((x) => !x));
  assert.throws(() => epochPlan(5, { shuffle: true }), /seed: required when shuffle or flip is on/);
  assert.throws(() => epochPlan(5, { epoch: -1 }), /epoch: expected an integer >= 0/);
});

test('class masks: VOC colour map and grey indices; void and background are not object', () => {
  assert.deepEqual(vocColour(0), [0, 0, 0]);
  assert.deepEqual(vocColour(1), [128, 0, 0]);
  assert.deepEqual(vocColour(8), [64, 0, 0]); // cat
  assert.deepEqual(vocColour(15), [192, 128, 128]); // person
  assert.deepEqual(vocColour(255), [224, 224, 192]); // void
  const colours = new Uint8Array([
    ...vocColour(0),
    ...vocColour(8),
    ...vocColour(15),
    ...vocColour(255),
    1,
    2,
    3,
  ]);
  assert.deepEqual(Array.from(classMaskPixels(colours, true, null)), [0, 1, 1, 0, 1]);
  assert.deepEqual(Array.from(classMaskPixels(colours, true, 8)), [0, 1, 0, 0, 1]);
  const grey = new Uint8Array([0, 0, 0, 1, 1, 1, 255, 255, 255, 7, 7, 7]);
  assert.deepEqual(Array.from(classMaskPixels(grey, false, null)), [0, 1, 0, 1]);
  assert.deepEqual(
    Array.from(highlightPixels(new Uint8Array([0, 0, 0, 200, 0, 0, 127, 127, 127]))),
    [0, 1, 0],
  );
  const objects = [
    { name: 'cat', box: { x0: 0, y0: 0, x1: 1, y1: 1 } },
    { name: 'dog', box: { x0: 1, y0: 1, x1: 2, y1: 2 } },
  ];
  assert.deepEqual(maskBoxes(objects, 'dog'), [objects[1].box]);
  assert.deepEqual(maskBoxes(objects, null), [objects[0].box, objects[1].box]);
});

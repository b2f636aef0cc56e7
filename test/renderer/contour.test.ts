import assert from 'node:assert/strict';
import { test } from 'node:test';
import { marchingSquares, segmentsPath } from '../../renderer/src/lib/contour.js';

const length = (s: number[]) => {
  let L = 0;
  for (let i = 0; i < s.length; i += 4) L += Math.hypot(s[i + 2] - s[i], s[i + 3] - s[i + 1]);
  return L;
};

test('one hot pixel gives a closed diamond through the pixel edges', () => {
  const segs = marchingSquares([0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 3, 0.5);
  assert.equal(segs.length, 4 * 4, 'four segments');
  const pts = new Set<string>();
  for (let i = 0; i < segs.length; i += 2) pts.add(`${segs[i]},${segs[i + 1]}`);
  // Linear interpolation between the centre (1.5, 1.5) and its neighbours puts the crossings half-way.
  assert.deepEqual([...pts].sort(), ['1,1.5', '1.5,1', '1.5,2', '2,1.5']);
  assert.ok(Math.abs(length(segs) - 4 * Math.SQRT1_2) < 1e-9);
});

test('interpolation places a vertical edge where the ramp crosses the level', () => {
  // Columns 0, 1, 2, 3 at x centres 0.5..3.5, values 0, 0, 1, 1: level 0.25 lies a quarter from x=1.5 to 2.5.
  const w = 4;
  const h = 3;
  const data = Array.from({ length: w * h }, (_, i) => [0, 0, 1, 1][i % w]);
  const segs = marchingSquares(data, w, h, 0.25);
  // Away from the border ring (x = 0 or 4, y = 0 or 3), every crossing lies on x = 1.75.
  const xs = new Set<number>();
  for (let i = 0; i < segs.length; i += 2) {
    const [x, y] = [segs[i], segs[i + 1]];
    if (y > 0.25 && y < 2.75 && x > 0.25 && x < 3.75) xs.add(x);
  }
  assert.deepEqual([...xs], [1.75]);
});

test('a region touching the border closes along the border', () => {
  const segs = marchingSquares([1, 1, 1, 1], 2, 2, 0.5);
  for (let i = 0; i < segs.length; i += 2) {
    const x = segs[i];
    const y = segs[i + 1];
    assert.ok(x >= 0 && x <= 2 && y >= 0 && y <= 2, 'inside the map');
    assert.ok(
      x === 0 || x === 2 || y === 0 || y === 2 || x === 0.5 || x === 1.5,
      `on the edge ring: ${x},${y}`,
    );
  }
  assert.ok(length(segs) > 6 && length(segs) < 8, 'about the perimeter (corners are cut)');
  assert.deepEqual(marchingSquares([0, 0, 0, 0], 2, 2, 0.5), [], 'nothing above the level, no contour');
});

test('saddles follow the cell mean, and bad input is named', () => {
  // Diagonal highs: mean 0.5 ≥ 0.5 joins them (two segments cutting off the low corners).
  const joined = marchingSquares([1, 0, 0, 1], 2, 2, 0.5);
  const apart = marchingSquares([1, 0, 0, 1], 2, 2, 0.6);
  assert.ok(joined.length > 0 && apart.length > 0);
  assert.notDeepEqual(joined, apart);
  assert.throws(() => marchingSquares([1, 2, 3], 2, 2, 0.5), /map has 3 values, expected 2 × 2/);
  assert.equal(segmentsPath([0, 0, 1, 0.5], 2), 'M0 0L2 1');
});

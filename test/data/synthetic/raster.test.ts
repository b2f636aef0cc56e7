import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rasteriseShape, type ShapeRaster } from '../../../src/data/synthetic/raster.js';
import { type PlacedShape, parseShape } from '../../../src/data/synthetic/shapes.js';
import { Random } from '../../../src/util/random.js';

const place = (spec: string, cx: number, cy: number, r: number, angle = 0): PlacedShape => ({
  shape: parseShape(spec, 'test'),
  cx,
  cy,
  r,
  angle,
});

/** alpha/inside at image pixel (x, y); 0 outside the raster's region. */
function at(ras: ShapeRaster, x: number, y: number): { alpha: number; inside: number } {
  const lx = x - ras.x0;
  const ly = y - ras.y0;
  if (lx < 0 || ly < 0 || lx >= ras.w || ly >= ras.h) return { alpha: 0, inside: 0 };
  return { alpha: ras.alpha[ly * ras.w + lx], inside: ras.inside[ly * ras.w + lx] };
}

function ink(ras: ShapeRaster): number {
  return ras.alpha.reduce((s, a) => s + a, 0) / 255;
}

// A {4/1} with circumradius 10*sqrt(2) turned by 45 degrees is the axis-aligned square [10, 30] x [10, 30].
const axisSquare = (): PlacedShape => place('square', 20, 20, 10 * Math.SQRT2, Math.PI / 4);

test('a filled square on pixel edges covers exactly its 20x20 pixels', () => {
  const ras = rasteriseShape(axisSquare(), { lineWidth: 1, fill: true });
  for (let y = 5; y < 35; y++) {
    for (let x = 5; x < 35; x++) {
      const inSquare = x >= 10 && x < 30 && y >= 10 && y < 30;
      assert.deepEqual(
        at(ras, x, y),
        inSquare ? { alpha: 255, inside: 1 } : { alpha: 0, inside: 0 },
        `(${x},${y})`,
      );
    }
  }
});

test('a 2-px stroke along a pixel edge covers the two pixels beside it fully; a 1-px stroke half each', () => {
  const wide = rasteriseShape(axisSquare(), { lineWidth: 2, fill: false });
  for (let y = 12; y < 28; y++) {
    assert.deepEqual(
      [8, 9, 10, 11].map((x) => at(wide, x, y).alpha),
      [0, 255, 255, 0],
      `row ${y}`,
    );
    assert.deepEqual(
      [8, 9, 10, 11].map((x) => at(wide, x, y).inside),
      [0, 1, 1, 0],
    );
  }
  const thin = rasteriseShape(axisSquare(), { lineWidth: 1, fill: false });
  for (let y = 12; y < 28; y++) {
    const [a, b, c] = [8, 9, 10].map((x) => at(thin, x, y).alpha);
    assert.equal(a, 0);
    // Coverage 0.5 -> 127.5; floating point may round either way.
    assert.ok(Math.abs(b - 127.5) <= 0.5 && Math.abs(c - 127.5) <= 0.5, `${b}, ${c}`);
  }
});

test('anti-aliased area and ink match the geometry (circle area, circle and polygon perimeters)', () => {
  const disc = rasteriseShape(place('circle', 32.2, 31.7, 15.3), { lineWidth: 1, fill: true });
  const area = Math.PI * 15.3 ** 2;
  assert.ok(Math.abs(ink(disc) - area) / area < 0.005, `disc ink ${ink(disc)} vs ${area}`);
  for (const lw of [0.5, 1, 3]) {
    const ring = rasteriseShape(place('circle', 30.4, 29.9, 12.6), { lineWidth: lw, fill: false });
    const expected = 2 * Math.PI * 12.6 * lw;
    assert.ok(Math.abs(ink(ring) - expected) / expected < 0.03, `ring lw ${lw}: ${ink(ring)} vs ${expected}`);
  }
  // A thin rotated hexagon outline: ink ~ perimeter * width (the joins add or remove a little).
  const hex = rasteriseShape(place('hexagon', 40.3, 41.1, 20, 0.37), { lineWidth: 1, fill: false });
  assert.ok(Math.abs(ink(hex) - 6 * 20) / 120 < 0.04, `hexagon ink ${ink(hex)}`);
});

test('a {5/2} star outline is drawn on its edges and leaves its inner pentagon empty', () => {
  const ps = place('star', 32, 32, 20);
  const ras = rasteriseShape(ps, { lineWidth: 1, fill: false });
  // The centre is 20*cos(72) = 6.2 px from every edge.
  assert.equal(at(ras, 31, 31).alpha, 0);
  assert.equal(at(ras, 32, 32).alpha, 0);
  // Midpoint of the edge from the top vertex (32, 12) to vertex 2.
  const a2 = -Math.PI / 2 + (4 * Math.PI) / 5;
  const mx = (32 + 32 + 20 * Math.cos(a2)) / 2;
  const my = (12 + 32 + 20 * Math.sin(a2)) / 2;
  assert.deepEqual(at(ras, Math.floor(mx), Math.floor(my)).inside, 1);
  assert.ok(at(ras, Math.floor(mx), Math.floor(my)).alpha > 100);
  // Top vertex touched; nothing above the circumcircle.
  assert.ok(at(ras, 31, 12).alpha > 0 || at(ras, 32, 12).alpha > 0);
  assert.equal(at(ras, 32, 9).alpha, 0);
  // Between two arms, at 60% of the radius along an inner-point direction: outside the star.
  const ai = -Math.PI / 2 + Math.PI / 5;
  const gx = Math.floor(32 + 12 * Math.cos(ai));
  const gy = Math.floor(32 + 12 * Math.sin(ai));
  assert.equal(at(ras, gx, gy).alpha, 0);

  const filled = rasteriseShape(ps, { lineWidth: 1, fill: true });
  assert.deepEqual(at(filled, 31, 31), { alpha: 255, inside: 1 }, 'a filled star fills its centre');
  assert.deepEqual(at(filled, 31, 17), { alpha: 255, inside: 1 }, 'and its top arm');
  assert.equal(at(filled, gx, gy).alpha, 0, 'but not the gaps between arms');
});

test('an unrotated triangle points up and fills where expected', () => {
  const ras = rasteriseShape(place('triangle', 32, 32, 20), { lineWidth: 1, fill: true });
  // Apex (32, 12); base at y = 32 + 20*sin(30) = 42 from x = 32 - 17.3 to 32 + 17.3.
  assert.deepEqual(at(ras, 31, 30), { alpha: 255, inside: 1 });
  assert.deepEqual(at(ras, 31, 40), { alpha: 255, inside: 1 });
  assert.equal(at(ras, 31, 43).alpha, 0);
  assert.equal(at(ras, 31, 10).alpha, 0);
  assert.equal(at(ras, 14, 30).alpha, 0, 'left of the slanted side');
  assert.equal(at(ras, 47, 30).alpha, 0, 'right of the slanted side');
});

test('every mask pixel is a touched pixel, for random shapes, widths and fills', () => {
  const rng = new Random(4);
  const specs = ['circle', 'triangle', 'square', 'star', 'hexagram', '7/3'];
  for (let k = 0; k < 60; k++) {
    const ps = place(
      rng.pick(specs),
      rng.uniform(10, 50),
      rng.uniform(10, 50),
      rng.uniform(2, 20),
      rng.uniform(0, 7),
    );
    const style = { lineWidth: rng.pick([0.25, 0.5, 1, 2.5]), fill: rng.bool() };
    const ras = rasteriseShape(ps, style);
    let insideCount = 0;
    for (let i = 0; i < ras.alpha.length; i++) {
      if (ras.inside[i]) {
        insideCount++;
        assert.ok(ras.alpha[i] > 0, `${ps.shape.name} ${JSON.stringify(style)}: inside pixel with alpha 0`);
      }
    }
    assert.ok(insideCount > 0, `${ps.shape.name} r=${ps.r} ${JSON.stringify(style)} has an empty mask`);
  }
  assert.throws(() => rasteriseShape(place('circle', 5, 5, 3), { lineWidth: 0, fill: false }), /lineWidth/);
});

test('the region may extend past the image (negative origin) for shapes at the border', () => {
  const ras = rasteriseShape(place('circle', 1, 2, 5), { lineWidth: 1, fill: false });
  assert.ok(ras.x0 < 0 && ras.y0 < 0);
  assert.equal(ras.alpha.length, ras.w * ras.h);
});

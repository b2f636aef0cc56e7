import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fillContour,
  geometryBounds,
  inradiusFactor,
  outlineSegments,
  type PlacedShape,
  parseShape,
} from '../../../src/data/synthetic/shapes.js';

test('parses catalogue names and p/q symbols, naming symbols that match the catalogue', () => {
  assert.deepEqual(parseShape('triangle', 't'), {
    kind: 'polygon',
    name: 'triangle',
    spec: '3/1',
    p: 3,
    q: 1,
  });
  assert.deepEqual(parseShape('{5/2}', 't'), { kind: 'polygon', name: 'star', spec: '5/2', p: 5, q: 2 });
  assert.deepEqual(parseShape(' Circle ', 't'), { kind: 'circle', name: 'circle', spec: 'circle' });
  assert.equal(parseShape('4/1', 't').name, 'square');
  assert.equal(parseShape('7/3', 't').name, 'star7_3');
  assert.equal(parseShape('9/1', 't').name, 'polygon9');
  assert.equal(parseShape('hexagram', 't').spec, '6/2');
});

test('rejects unknown names and degenerate symbols, naming the option', () => {
  assert.throws(() => parseShape('blob', 'opt.x'), /opt\.x: unknown shape "blob"/);
  assert.throws(() => parseShape('4/2', 'opt.x'), /opt\.x: "4\/2" needs 1 <= q < p\/2/);
  assert.throws(() => parseShape('5/3', 'opt.x'), /q < p\/2/);
  assert.throws(() => parseShape('2/1', 'opt.x'), /3 <= p/);
  assert.throws(() => parseShape('5/0', 'opt.x'), /1 <= q/);
});

const at = (spec: string, r: number, angle = 0): PlacedShape => ({
  shape: parseShape(spec, 't'),
  cx: 0,
  cy: 0,
  r,
  angle,
});

test('a {p/q} has p edges joining vertex i to i+q, with the first vertex straight up', () => {
  const star = outlineSegments(at('5/2', 10));
  assert.equal(star.length, 5 * 4);
  // First edge from the top vertex (0, -10) to vertex 2, 144 degrees further round.
  assert.ok(Math.abs(star[0]) < 1e-12 && Math.abs(star[1] + 10) < 1e-12);
  const a = -Math.PI / 2 + (4 * Math.PI) / 5;
  assert.ok(Math.abs(star[2] - 10 * Math.cos(a)) < 1e-12 && Math.abs(star[3] - 10 * Math.sin(a)) < 1e-12);
  // Square side: r * sqrt(2).
  const sq = outlineSegments(at('square', 10));
  assert.ok(Math.abs(Math.hypot(sq[2] - sq[0], sq[3] - sq[1]) - 10 * Math.SQRT2) < 1e-12);
});

test('the filled contour of {5/2} has inner points at r*cos(72)/cos(36) (= r / golden ratio^2)', () => {
  const c = fillContour(at('star', 10));
  assert.equal(c.length, 10 * 4);
  const inner = Math.hypot(c[4], c[5]); // the second contour point
  assert.ok(Math.abs(inner - 10 / ((1 + Math.sqrt(5)) / 2) ** 2) < 1e-9, `inner radius ${inner}`);
  // That point is where edges 0->2 and 4->1 (which meet near the top) cross: it lies on edge 0->2.
  const s = outlineSegments(at('star', 10));
  const cross = (s[2] - s[0]) * (c[5] - s[1]) - (s[3] - s[1]) * (c[4] - s[0]);
  assert.ok(Math.abs(cross) < 1e-9);
});

test('inradius factors: circle 1, square cos 45, triangle 1/2, pentagram cos 72', () => {
  assert.equal(inradiusFactor(parseShape('circle', 't')), 1);
  assert.ok(Math.abs(inradiusFactor(parseShape('square', 't')) - Math.SQRT1_2) < 1e-12);
  assert.ok(Math.abs(inradiusFactor(parseShape('triangle', 't')) - 0.5) < 1e-12);
  assert.ok(Math.abs(inradiusFactor(parseShape('star', 't')) - Math.cos((2 * Math.PI) / 5)) < 1e-12);
});

test('geometry bounds follow the vertices, not the circumcircle', () => {
  const b = geometryBounds(at('triangle', 10));
  assert.ok(Math.abs(b.minY + 10) < 1e-12 && Math.abs(b.maxY - 5) < 1e-12);
  assert.ok(Math.abs(b.maxX - 10 * Math.cos(Math.PI / 6)) < 1e-12);
  assert.deepEqual(geometryBounds({ ...at('circle', 3), cx: 5, cy: 6 }), {
    minX: 2,
    minY: 3,
    maxX: 8,
    maxY: 9,
  });
});

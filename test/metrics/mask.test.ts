import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundingBox, boxesToMask, boxIoU } from '../../src/metrics/mask.js';

function onPixels(mask: { data: Uint8Array; width: number }): string[] {
  const out: string[] = [];
  mask.data.forEach((v, i) => {
    if (v) out.push(`${i % mask.width},${Math.floor(i / mask.width)}`);
  });
  return out;
}

test('whole-pixel boxes cover columns x0..x1-1 and rows y0..y1-1 (half-open)', () => {
  const m = boxesToMask([{ x0: 1, y0: 2, x1: 3, y1: 4 }], 5, 5);
  assert.deepEqual(onPixels(m), ['1,2', '2,2', '1,3', '2,3']);
});

test('fractional boxes take the pixels whose centre they contain; touching boxes share nothing', () => {
  // x in [0.5, 2.5): centres 0.5 and 1.5 are in, 2.5 is not.
  const m = boxesToMask([{ x0: 0.5, y0: 0, x1: 2.5, y1: 1 }], 4, 1);
  assert.deepEqual(Array.from(m.data), [1, 1, 0, 0]);
  const left = boxesToMask([{ x0: 0, y0: 0, x1: 1.7, y1: 1 }], 4, 1);
  const right = boxesToMask([{ x0: 1.7, y0: 0, x1: 4, y1: 1 }], 4, 1);
  assert.deepEqual(Array.from(left.data), [1, 1, 0, 0]);
  assert.deepEqual(Array.from(right.data), [0, 0, 1, 1]);
});

test('boxes are clamped to the image, unioned, and bad boxes are refused', () => {
  const m = boxesToMask(
    [
      { x0: -3, y0: -3, x1: 1, y1: 1 },
      { x0: 2, y0: 2, x1: 9, y1: 9 },
    ],
    3,
    3,
  );
  assert.deepEqual(onPixels(m), ['0,0', '2,2']);
  assert.equal(
    boxesToMask([], 2, 2).data.reduce((a, b) => a + b, 0),
    0,
  );
  assert.throws(() => boxesToMask([{ x0: 3, y0: 0, x1: 1, y1: 1 }], 4, 4), /box 0 is inverted/);
  assert.throws(() => boxesToMask([{ x0: 0, y0: 0, x1: Number.NaN, y1: 1 }], 4, 4), /non-finite/);
  assert.throws(() => boxesToMask([], 0, 4), /positive integers/);
});

test('boxIoU and boundingBox', () => {
  assert.equal(boxIoU({ x0: 0, y0: 0, x1: 2, y1: 2 }, { x0: 1, y0: 0, x1: 3, y1: 2 }), 2 / 6);
  assert.equal(boxIoU({ x0: 0, y0: 0, x1: 1, y1: 1 }, { x0: 2, y0: 2, x1: 3, y1: 3 }), 0);
  assert.deepEqual(
    boundingBox([
      { x0: 1, y0: 5, x1: 2, y1: 6 },
      { x0: 4, y0: 0, x1: 5, y1: 1 },
    ]),
    { x0: 1, y0: 0, x1: 5, y1: 6 },
  );
  assert.equal(boundingBox([]), null);
});

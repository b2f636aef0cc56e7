/**
 * Ground truth as masks and boxes, in THE coordinate convention (src/data/types.ts): a box {x0, y0, x1, y1} is
 * half-open in pixel-edge coordinates.
 *
 * Rasterising: pixel (x, y) is inside a box iff its centre (x + 0.5, y + 0.5) is, i.e. x0 <= x + 0.5 < x1 and
 * y0 <= y + 0.5 < y1. For whole-pixel boxes this is exactly x0 <= x < x1 (columns x0 .. x1-1). For fractional
 * boxes (files written by other tools) a pixel belongs to the box when more than half of its width lies inside
 * (exactly half: the left/top pixel is in, the right/bottom one out), so touching boxes never share a pixel and
 * never leave a gap between them.
 */
import type { Box } from '../data/types.js';
import type { BinaryMask } from './types.js';

function checkBox(box: Box, index: number): void {
  const { x0, y0, x1, y1 } = box;
  if (![x0, y0, x1, y1].every(Number.isFinite)) {
    throw new Error(`box ${index} has a non-finite coordinate: ${JSON.stringify(box)}`);
  }
  if (x1 < x0 || y1 < y0) {
    throw new Error(
      `box ${index} is inverted (x1 < x0 or y1 < y0): ${JSON.stringify(box)}; read it with the VOC reader`,
    );
  }
}

/** First and one-past-last pixel index whose centre lies in [lo, hi), clamped to [0, size]. */
function pixelSpan(lo: number, hi: number, size: number): [number, number] {
  const first = Math.max(0, Math.ceil(lo - 0.5));
  const end = Math.min(size, Math.ceil(hi - 0.5));
  return [first, Math.max(first, end)];
}

export function boxesToMask(boxes: readonly Box[], width: number, height: number): BinaryMask {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`boxesToMask: width and height must be positive integers, got ${width}×${height}`);
  }
  const data = new Uint8Array(width * height);
  boxes.forEach((box, index) => {
    checkBox(box, index);
    const [xa, xb] = pixelSpan(box.x0, box.x1, width);
    const [ya, yb] = pixelSpan(box.y0, box.y1, height);
    for (let y = ya; y < yb; y++) data.fill(1, y * width + xa, y * width + xb);
  });
  return { data, width, height };
}

/** The smallest box holding all boxes, or null for none. */
export function boundingBox(boxes: readonly Box[]): Box | null {
  if (boxes.length === 0) return null;
  boxes.forEach(checkBox);
  return {
    x0: Math.min(...boxes.map((b) => b.x0)),
    y0: Math.min(...boxes.map((b) => b.y0)),
    x1: Math.max(...boxes.map((b) => b.x1)),
    y1: Math.max(...boxes.map((b) => b.y1)),
  };
}

/** Intersection over union of two boxes as continuous rectangles; 0 when both are empty. */
export function boxIoU(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const ih = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const inter = iw * ih;
  const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Masks at the model's input size, as Uint8Array (0/1, row-major size×size): boxes rasterised with the
 * coordinate convention of src/data/types.ts, and pixel masks resampled. Pure functions; the sampling rule is
 * the one in placement.ts (an input pixel belongs to a box when the source point at its centre does).
 */
import type { Box } from '../../data/types.js';
import { columnCentres, type Placement, rowCentres } from './placement.js';

/** Which input columns (or rows) have their sample point inside [lo, hi). */
function coveredRange(centres: Float64Array, lo: number, hi: number): [number, number] {
  let first = -1;
  let last = -1;
  for (let i = 0; i < centres.length; i++) {
    const s = centres[i];
    // NaN (padding) fails both comparisons.
    if (s >= lo && s < hi) {
      if (first < 0) first = i;
      last = i;
    }
  }
  return first < 0 ? [0, 0] : [first, last + 1];
}

/** The input pixel index that contains source coordinate `s` along one axis, clamped to the content. */
function containing(s: number, start: number, length: number, srcLength: number): number {
  const i = Math.floor((s * length) / srcLength);
  return start + Math.min(length - 1, Math.max(0, i));
}

/**
 * The union of `boxes` at the input size. A box too small to contain any sample point (e.g. a 2-pixel object
 * after shrinking 224 → 64) still marks the one input pixel that holds its centre: dropping it would turn an
 * annotated object into "nothing here", and the hybrid loss would then penalise every bit of explanation.
 */
export function rasteriseBoxes(boxes: readonly Box[], p: Placement): Uint8Array {
  const n = p.size;
  const out = new Uint8Array(n * n);
  const cols = columnCentres(p);
  const rows = rowCentres(p);
  for (const b of boxes) {
    if (![b.x0, b.y0, b.x1, b.y1].every(Number.isFinite) || !(b.x1 > b.x0 && b.y1 > b.y0)) {
      throw new Error(`box {x0: ${b.x0}, y0: ${b.y0}, x1: ${b.x1}, y1: ${b.y1}} is empty or not finite`);
    }
    let [c0, c1] = coveredRange(cols, b.x0, b.x1);
    let [r0, r1] = coveredRange(rows, b.y0, b.y1);
    if (c1 === c0 || r1 === r0) {
      const inside = b.x1 > 0 && b.y1 > 0 && b.x0 < p.srcWidth && b.y0 < p.srcHeight && p.contentWidth > 0;
      if (!inside) continue;
      const cx = Math.min(Math.max((b.x0 + b.x1) / 2, 0), p.srcWidth);
      const cy = Math.min(Math.max((b.y0 + b.y1) / 2, 0), p.srcHeight);
      if (c1 === c0) {
        c0 = containing(cx, p.contentX, p.contentWidth, p.srcWidth);
        c1 = c0 + 1;
      }
      if (r1 === r0) {
        r0 = containing(cy, p.contentY, p.contentHeight, p.srcHeight);
        r1 = r0 + 1;
      }
    }
    for (let r = r0; r < r1; r++) out.fill(1, r * n + c0, r * n + c1);
  }
  return out;
}

/**
 * Nearest-neighbour resampling of a 0/1 source mask (row-major srcWidth×srcHeight) with the same sample points
 * as the image. Nearest, not interpolated: a mask is a set of pixels, and a blurred edge would have to be
 * thresholded again anyway.
 */
export function resampleMask(src: Uint8Array, p: Placement): Uint8Array {
  if (src.length !== p.srcWidth * p.srcHeight) {
    throw new Error(
      `mask has ${src.length} pixels but the image is ${p.srcWidth}×${p.srcHeight}; a mask must match its image`,
    );
  }
  const n = p.size;
  const out = new Uint8Array(n * n);
  const cols = columnCentres(p);
  const rows = rowCentres(p);
  const srcCol = Array.from(cols, (s) => (Number.isNaN(s) ? -1 : Math.min(p.srcWidth - 1, Math.floor(s))));
  for (let r = 0; r < n; r++) {
    if (Number.isNaN(rows[r])) continue;
    const sr = Math.min(p.srcHeight - 1, Math.floor(rows[r]));
    const srcRow = sr * p.srcWidth;
    for (let c = 0; c < n; c++) {
      const sc = srcCol[c];
      if (sc >= 0 && src[srcRow + sc] !== 0) out[r * n + c] = 1;
    }
  }
  return out;
}

/** `into |= from`, in place; returns `into`. */
export function unionInto(into: Uint8Array, from: Uint8Array): Uint8Array {
  if (into.length !== from.length)
    throw new Error(`cannot unite masks of ${into.length} and ${from.length} pixels`);
  for (let i = 0; i < into.length; i++) if (from[i] !== 0) into[i] = 1;
  return into;
}

export function countOn(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return n;
}

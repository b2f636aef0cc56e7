/**
 * Mask painting on a binary bitmap (one byte per pixel, 0/1, row-major, width × height). A pixel belongs to a
 * shape when its centre (x + 0.5, y + 0.5) does: the brush disc covers exactly the pixels whose centres lie
 * within r of the pointer, and polygons are filled with the even-odd rule on pixel centres (a self-crossing
 * polygon leaves its doubly-covered part empty, as SVG's fill-rule="evenodd" draws it).
 */
import type { Point } from '../viewport.js';

export interface Bitmap {
  width: number;
  height: number;
  data: Uint8Array;
}

export function emptyBitmap(width: number, height: number): Bitmap {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`a mask needs a positive whole size, got ${width}×${height}`);
  }
  return { width, height, data: new Uint8Array(width * height) };
}

/** Squared distance from q to the segment a–b. */
function dist2ToSegment(q: Point, a: Point, b: Point): number {
  const vx = b.x - a.x;
  const vy = b.y - a.y;
  const len2 = vx * vx + vy * vy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((q.x - a.x) * vx + (q.y - a.y) * vy) / len2));
  const dx = q.x - (a.x + t * vx);
  const dy = q.y - (a.y + t * vy);
  return dx * dx + dy * dy;
}

/**
 * Paints the stroke from `a` to `b` with a round brush of radius `r` (image pixels): every pixel whose centre is
 * within r of the segment gets `value`. With a = b this is the disc. Returns how many pixels changed.
 */
export function paintStroke(m: Bitmap, a: Point, b: Point, r: number, value: 0 | 1): number {
  if (!(r > 0)) return 0;
  const r2 = r * r;
  const xs = Math.max(0, Math.floor(Math.min(a.x, b.x) - r - 0.5));
  const xe = Math.min(m.width - 1, Math.ceil(Math.max(a.x, b.x) + r - 0.5));
  const ys = Math.max(0, Math.floor(Math.min(a.y, b.y) - r - 0.5));
  const ye = Math.min(m.height - 1, Math.ceil(Math.max(a.y, b.y) + r - 0.5));
  let changed = 0;
  for (let y = ys; y <= ye; y++) {
    for (let x = xs; x <= xe; x++) {
      if (dist2ToSegment({ x: x + 0.5, y: y + 0.5 }, a, b) <= r2) {
        const i = y * m.width + x;
        if (m.data[i] !== value) {
          m.data[i] = value;
          changed++;
        }
      }
    }
  }
  return changed;
}

export function paintDisc(m: Bitmap, c: Point, r: number, value: 0 | 1): number {
  return paintStroke(m, c, c, r, value);
}

/**
 * Fills a polygon (≥ 3 vertices, closed implicitly) with the even-odd rule, sampling pixel centres. An edge
 * counts for a scanline at y when exactly one of its ends is at or below y (half-open), so a vertex on the
 * scanline is counted once. Returns how many pixels changed.
 */
export function fillPolygon(m: Bitmap, pts: readonly Point[], value: 0 | 1): number {
  if (pts.length < 3) return 0;
  let changed = 0;
  const xs: number[] = [];
  for (let y = 0; y < m.height; y++) {
    const yc = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const a = pts[j];
      const b = pts[i];
      if (a.y <= yc !== b.y <= yc) xs.push(a.x + ((yc - a.y) / (b.y - a.y)) * (b.x - a.x));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [xs[k], xs[k+1]).
      const from = Math.max(0, Math.ceil(xs[k] - 0.5));
      const to = Math.min(m.width - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
      for (let x = from; x <= to; x++) {
        const i = y * m.width + x;
        if (m.data[i] !== value) {
          m.data[i] = value;
          changed++;
        }
      }
    }
  }
  return changed;
}

export function countOn(m: Bitmap): number {
  let k = 0;
  for (const v of m.data) k += v;
  return k;
}

/** RGBA pixels to show (and to PNG-encode): `rgb` where on with `alpha`, fully transparent where off. */
export function bitmapToRgba(m: Bitmap, rgb: [number, number, number], alpha = 255): Uint8ClampedArray {
  const out = new Uint8ClampedArray(m.width * m.height * 4);
  for (let i = 0; i < m.data.length; i++) {
    if (!m.data[i]) continue;
    out[i * 4] = rgb[0];
    out[i * 4 + 1] = rgb[1];
    out[i * 4 + 2] = rgb[2];
    out[i * 4 + 3] = alpha;
  }
  return out;
}

/** The bitmap back from RGBA (on where alpha > 0, the server's rule) or from grey (on where > 0). */
export function bitmapFromPixels(
  px: ArrayLike<number>,
  width: number,
  height: number,
  channels: 1 | 4,
): Bitmap {
  const m = emptyBitmap(width, height);
  if (px.length !== width * height * channels) {
    throw new Error(`${px.length} values do not make a ${width}×${height} mask with ${channels} channel(s)`);
  }
  const at = channels === 4 ? 3 : 0;
  for (let i = 0; i < m.data.length; i++) m.data[i] = px[i * channels + at] > 0 ? 1 : 0;
  return m;
}

/** Brush radius steps for `[` / `]`: about 25 % per press, at least one pixel, within [1, 256]. */
export function stepBrush(r: number, direction: 1 | -1): number {
  const next = direction > 0 ? Math.max(r + 1, Math.round(r * 1.25)) : Math.min(r - 1, Math.round(r / 1.25));
  return Math.min(256, Math.max(1, next));
}

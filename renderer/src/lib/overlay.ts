import { type ColormapName, colormapLut, lutIndex } from './colormap.js';

/** The value range that maps onto the bottom and top of the colour scale. */
export interface ValueRange {
  lo: number;
  hi: number;
}

/**
 * How maps are normalised before colouring:
 * - `map`: each map onto its own min..max (post-hoc methods have arbitrary scales);
 * - `absolute`: the values as they are, clamped to [0, 1] (the explainer's output; the paper's 0.75 threshold is
 *   absolute);
 * - `auto`: `absolute` when the map already lies in [0, 1], else `map`.
 * Shared normalisation across several maps (the compare grid) is `sharedRange` over their ranges.
 */
export type Normalisation = 'auto' | 'map' | 'absolute';
export const NORMALISATIONS: readonly Normalisation[] = ['auto', 'map', 'absolute'];

/** Min and max over the finite values; undefined when there are none. */
export function finiteRange(data: ArrayLike<number>): ValueRange | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v; // NaN fails both comparisons, so it is skipped without a separate test
    if (v > hi) hi = v;
  }
  return lo <= hi ? { lo, hi } : undefined;
}

export function rangeFor(mode: Normalisation, range: ValueRange | undefined): ValueRange {
  if (!range) return { lo: 0, hi: 1 };
  if (mode === 'absolute') return { lo: 0, hi: 1 };
  if (mode === 'auto' && range.lo >= 0 && range.hi <= 1) return { lo: 0, hi: 1 };
  return range;
}

/** One range covering several: the compare grid's shared normalisation, so colours mean the same everywhere. */
export function sharedRange(ranges: readonly (ValueRange | undefined)[]): ValueRange | undefined {
  let out: ValueRange | undefined;
  for (const r of ranges) {
    if (!r) continue;
    out = out ? { lo: Math.min(out.lo, r.lo), hi: Math.max(out.hi, r.hi) } : { ...r };
  }
  return out;
}

/** Maps a value into [0, 1]. A flat range (lo == hi) has no scale: values above it give 1, the rest 0. */
export function normalise(v: number, { lo, hi }: ValueRange): number {
  if (Number.isNaN(v)) return Number.NaN;
  if (hi <= lo) return v > hi ? 1 : 0;
  const t = (v - lo) / (hi - lo);
  return Math.min(1, Math.max(0, t));
}

export interface ColourOptions {
  colormap: ColormapName;
  range: ValueRange;
  /** Normalised values strictly below this become transparent (or the scale's bottom colour); null: none. */
  threshold: number | null;
  /** What happens below the threshold: see-through (overlay) or the bottom colour (the paper's third panel). */
  below?: 'transparent' | 'floor';
}

/** Colours a map into RGBA pixels (row-major, like ImageData). Opacity is left to the canvas (CSS). */
export function colourise(data: ArrayLike<number>, opts: ColourOptions): Uint8ClampedArray {
  const lut = colormapLut(opts.colormap);
  const out = new Uint8ClampedArray(data.length * 4);
  const threshold = opts.threshold;
  const floor = opts.below === 'floor';
  for (let i = 0; i < data.length; i++) {
    const t = normalise(data[i], opts.range);
    const o = 4 * i;
    if (Number.isNaN(t) || (threshold !== null && t < threshold)) {
      if (!floor) continue; // stays 0,0,0,0: transparent
      out[o] = lut[0];
      out[o + 1] = lut[1];
      out[o + 2] = lut[2];
      out[o + 3] = 255;
      continue;
    }
    const k = 3 * lutIndex(t);
    out[o] = lut[k];
    out[o + 1] = lut[k + 1];
    out[o + 2] = lut[k + 2];
    out[o + 3] = 255;
  }
  return out;
}

/** Share of pixels at or above the threshold (shown next to the threshold slider: "12% kept"). */
export function keptFraction(data: ArrayLike<number>, range: ValueRange, threshold: number): number {
  if (data.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) if (normalise(data[i], range) >= threshold) n++;
  return n / data.length;
}

/** Reads a float32 little-endian buffer (the explanation file format) and checks its size. */
export function decodeFloat32(
  buf: ArrayBuffer,
  width: number,
  height: number,
  what = 'explanation',
): Float32Array {
  const expected = width * height * 4;
  if (buf.byteLength !== expected) {
    throw new Error(
      `${what}: got ${buf.byteLength} bytes, expected ${expected} (${width} × ${height} float32)`,
    );
  }
  const view = new DataView(buf);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

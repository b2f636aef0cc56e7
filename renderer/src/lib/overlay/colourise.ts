/**
 * Map to pixels: the values on a scale (normalise.ts) through a colour table into RGBA, with an optional threshold.
 * Signed maps always use the diverging table (a sequential one would paint 0 as a middling colour); unsigned maps
 * use the user's sequential choice.
 */
import { type ColormapName, colormapLut, DIVERGING, lutIndex, type SequentialColormap } from '../colormap.js';
import { position, type Scale, strength } from './normalise.js';

/** The colour table a scale is drawn with. */
export function colormapFor(scale: Scale, sequential: SequentialColormap): ColormapName {
  return scale.kind === 'diverging' ? DIVERGING : sequential;
}

export interface ColourOptions {
  scale: Scale;
  /** The sequential table for unsigned maps (signed ones use the diverging table). */
  colormap: SequentialColormap;
  /** Pixels whose strength is strictly below this become transparent (or the floor colour); null: none. */
  threshold: number | null;
  /** What happens below the threshold: see-through (overlay) or the scale's neutral colour (the paper's panel). */
  below?: 'transparent' | 'floor';
}

/** Colours a map into RGBA pixels (row-major, like ImageData). Opacity is left to the canvas (CSS). */
export function colourise(data: ArrayLike<number>, opts: ColourOptions): Uint8ClampedArray {
  const { scale, threshold } = opts;
  const lut = colormapLut(colormapFor(scale, opts.colormap));
  const out = new Uint8ClampedArray(data.length * 4);
  const floor = opts.below === 'floor';
  // The floor is what "nothing" looks like on this scale: the bottom of a sequential bar, the centre of a diverging one.
  const floorK = 3 * lutIndex(scale.kind === 'diverging' ? 0.5 : 0);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const o = 4 * i;
    const hidden = Number.isNaN(v) || (threshold !== null && strength(v, scale) < threshold);
    if (hidden && !floor) continue; // stays 0,0,0,0: transparent
    const k = hidden ? floorK : 3 * lutIndex(position(v, scale));
    out[o] = lut[k];
    out[o + 1] = lut[k + 1];
    out[o + 2] = lut[k + 2];
    out[o + 3] = 255;
  }
  return out;
}

/** Share of pixels whose strength is at or above the threshold (shown next to the slider: "12 % kept"). */
export function keptFraction(data: ArrayLike<number>, scale: Scale, threshold: number): number {
  if (data.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) if (strength(data[i], scale) >= threshold) n++;
  return n / data.length;
}

/** |v| of every value: the field a diverging scale's contour is drawn on. */
export function magnitude(data: ArrayLike<number>): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.abs(data[i]);
  return out;
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

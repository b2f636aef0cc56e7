/** Pure helpers of figures.ts: maps and images to RGB tiles (no I/O, so they can be checked in isolation). */
import { VIRIDIS_HEX } from '../../renderer/src/lib/colormap-data.js';

/** 256 RGB triples from the packed hex table. */
export function viridisLut(hex: string = VIRIDIS_HEX): Uint8Array {
  if (hex.length !== 256 * 6) throw new Error(`viridis table: expected 1536 hex digits, got ${hex.length}`);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256 * 3; i++) lut[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return lut;
}
const LUT = viridisLut();

/** An S×S map with values in [0, 1] (clamped) as RGB through viridis. */
export function colourise(map: Float32Array, size: number): Buffer {
  const out = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const v = Math.min(1, Math.max(0, Number.isFinite(map[i]) ? map[i] : 0));
    const k = Math.round(v * 255) * 3;
    out[3 * i] = LUT[k];
    out[3 * i + 1] = LUT[k + 1];
    out[3 * i + 2] = LUT[k + 2];
  }
  return out;
}

export function thresholded(map: Float32Array, t: number): Float32Array {
  return map.map((v) => (v >= t ? v : 0));
}

/** |map| / max |map| (all zeros stay zeros). */
export function maxAbs(map: Float32Array): Float32Array {
  let m = 0;
  for (const v of map) m = Math.max(m, Math.abs(v));
  return map.map((v) => (m > 0 ? Math.abs(v) / m : 0));
}

export function imageRgb(pixels: Float32Array, size: number): Buffer {
  const out = Buffer.alloc(size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
  return out;
}

/**
 * Explanation maps as files: a 16-bit grey PNG to look at and a raw `.f32` file with the exact values.
 *
 * - `<name>.png`: 16-bit greyscale, the model's map range stretched to 0…65535: [0, 1] for expclass and the
 *   classifier (white map), [-1, 1] for xcnn (−1 → 0, 0 → 32768, 1 → 65535). Values outside are clipped.
 * - `<name>.f32`: the map's values as little-endian float32, row-major, height × width, nothing else (the size
 *   is in the PNG and in the JSON the CLI prints).
 * Both are written to a temporary sibling and renamed.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { ModelKind } from '../models/index.js';
import { writeFileAtomic } from '../util/atomic.js';

export function mapRange(kind: ModelKind): [number, number] {
  return kind === 'xcnn' ? [-1, 1] : [0, 1];
}

/** The map as 16-bit grey levels (pure). */
export function toGrey16(map: Float32Array, range: [number, number]): Uint16Array {
  const [lo, hi] = range;
  const out = new Uint16Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const t = (map[i] - lo) / (hi - lo);
    out[i] = Math.round(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * 65535);
  }
  return out;
}

export async function writeMapFiles(
  dir: string,
  name: string,
  map: Float32Array,
  width: number,
  height: number,
  range: [number, number],
): Promise<{ png: string; f32: string }> {
  if (map.length !== width * height) {
    throw new Error(`writeMapFiles: ${map.length} values for a ${width}×${height} map`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const png = path.join(dir, `${name}.png`);
  const f32 = path.join(dir, `${name}.f32`);
  const bytes = await sharp(toGrey16(map, range), { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  writeFileAtomic(png, bytes);
  const le = new DataView(new ArrayBuffer(map.length * 4));
  for (let i = 0; i < map.length; i++) le.setFloat32(i * 4, map[i], true);
  writeFileAtomic(f32, new Uint8Array(le.buffer));
  return { png, f32 };
}

/**
 * Dataset folders built on the fly for the import, export and CLI tests: images in every format the importer
 * reads (BMP written by hand: sharp cannot write it), VOC devkit and flat layouts written with the product's own
 * VOC writer, and helpers that prove nothing was modified (file hashes, store snapshots through the store API).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Box, VocObject } from '../../../src/data/types.js';
import { formatClassImageSet, formatImageSet } from '../../../src/data/voc/imagesets.js';
import { formatVoc } from '../../../src/data/voc/write.js';
import type { Store } from '../../../src/store/index.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Deterministic pixels that differ per seed, so every test image has its own content hash. */
export function pixels(width: number, height: number, channels: number, seed: number): Buffer {
  const buf = Buffer.alloc(width * height * channels);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    buf[i] = s & 0xff;
  }
  return buf;
}

export type Format = 'png' | 'jpeg' | 'webp' | 'bmp';

/** Encodes an image; `channels` 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (BMP: 3 only). */
export async function encodeImage(
  format: Format,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  seed = 1,
): Promise<Buffer> {
  const raw = pixels(width, height, channels, seed);
  if (format === 'bmp') {
    if (channels !== 3) throw new Error('encodeImage: the test BMP writer writes 24-bit RGB only');
    return encodeBmp24(width, height, raw);
  }
  // Without 'b-w', sharp writes single-channel raw input as RGB.
  let img = sharp(raw, { raw: { width, height, channels } });
  if (channels <= 2) img = img.toColourspace('b-w');
  if (format === 'png') return img.png().toBuffer();
  if (format === 'jpeg') return img.jpeg({ quality: 90 }).toBuffer();
  return img.webp({ lossless: true }).toBuffer();
}

/**
 * A 24-bit bottom-up BMP with a BITMAPINFOHEADER: 14-byte file header, 40-byte info header, rows of BGR
 * triplets padded to 4 bytes, last row first.
 */
export function encodeBmp24(width: number, height: number, rgb: Uint8Array): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const dataSize = stride * height;
  const b = Buffer.alloc(54 + dataSize);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(54 + dataSize, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26); // planes
  b.writeUInt16LE(24, 28); // bits per pixel
  b.writeUInt32LE(0, 30); // BI_RGB, no compression
  b.writeUInt32LE(dataSize, 34);
  b.writeInt32LE(2835, 38); // 72 dpi
  b.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * 3;
      b[row + x * 3] = rgb[src + 2];
      b[row + x * 3 + 1] = rgb[src + 1];
      b[row + x * 3 + 2] = rgb[src];
    }
  }
  return b;
}

export function writeFile(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

export interface VocItem {
  id: string;
  width: number;
  height: number;
  objects: VocObject[];
  split?: 'train' | 'val' | 'test';
  /** Writes SegmentationClass/<id>.png: 0 background, 1 inside the first object's box. */
  mask?: boolean;
}

export const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1 });

/** A class mask with the value 1 inside `b` and 0 elsewhere, as an 8-bit grey PNG. */
export async function boxMask(width: number, height: number, b: Box): Promise<Buffer> {
  const m = Buffer.alloc(width * height);
  for (let y = b.y0; y < b.y1; y++) for (let x = b.x0; x < b.x1; x++) m[y * width + x] = 1;
  return sharp(m, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

/** Writes a VOC devkit folder (PNG images in JPEGImages/, as the generator does) with ImageSets when splits are given. */
export async function writeVocDevkit(root: string, items: readonly VocItem[]): Promise<void> {
  let seed = 100;
  for (const it of items) {
    const file = `${it.id}.png`;
    writeFile(path.join(root, 'JPEGImages', file), await encodeImage('png', it.width, it.height, 3, ++seed));
    writeFile(
      path.join(root, 'Annotations', `${it.id}.xml`),
      formatVoc({
        folder: 'JPEGImages',
        filename: file,
        size: { width: it.width, height: it.height, depth: 3 },
        segmented: it.mask === true,
        objects: it.objects,
      }),
    );
    if (it.mask) {
      writeFile(
        path.join(root, 'SegmentationClass', `${it.id}.png`),
        await boxMask(it.width, it.height, it.objects[0].box),
      );
    }
  }
  const splits = ['train', 'val', 'test'] as const;
  for (const split of splits) {
    const ids = items.filter((i) => i.split === split).map((i) => i.id);
    if (ids.length === 0) continue;
    writeFile(path.join(root, 'ImageSets', 'Main', `${split}.txt`), formatImageSet(ids));
    const classes = [...new Set(items.flatMap((i) => i.objects.map((o) => o.name)))].sort();
    for (const cls of classes) {
      const rows = items
        .filter((i) => i.split === split)
        .map((i) => ({
          id: i.id,
          flag: i.objects.some((o) => o.name === cls) ? (1 as const) : (-1 as const),
        }));
      writeFile(path.join(root, 'ImageSets', 'Main', `${cls}_${split}.txt`), formatClassImageSet(rows));
    }
  }
}

/** Every file below `root` (relative path, forward slashes) with the hash of its bytes. */
export function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else out.set(path.relative(root, p).split(path.sep).join('/'), sha256(fs.readFileSync(p)));
    }
  };
  walk(root);
  return out;
}

/** Everything the store holds about one dataset, read through the store API (timestamps and ids included). */
export function datasetSnapshot(store: Store, datasetId: number): unknown {
  const dataset = store.datasets.summary(datasetId);
  const images = store.images.list(datasetId, { limit: 100_000 });
  return {
    dataset,
    images: images.map((im) => ({
      image: im,
      objects: store.objects.list(im.id, { includeDeleted: true }),
      masks: store.masks.list(im.id).map((m) => ({ ...m, content: JSON.stringify(m.content) })),
    })),
  };
}

/** Every dataset in the store with all its rows: what "nothing already stored is lost" compares. */
export function storeSnapshot(store: Store): unknown {
  return store.datasets.list().map((d) => datasetSnapshot(store, d.id));
}

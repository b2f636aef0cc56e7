import { DEFAULT_MAX_PIXELS, pixelLimitProblem } from './limits.js';

/**
 * Decoding BMP ourselves: sharp's bundled libvips reads no BMP at all, yet BMP is common in older medical and
 * microscopy datasets. Covers what such files use: uncompressed 24- and 32-bit pixels (BI_RGB, or BI_BITFIELDS
 * with the usual byte masks) and 8-bit palettes, stored bottom-up or top-down. Anything else (RLE, embedded JPEG
 * or PNG, 1/4/16-bit pixels, OS/2 headers) is refused with a message that says to convert the file.
 *
 * The importer and the training decoder both go through `readBmpInfo`, so a BMP is accepted at import exactly
 * when training can decode it.
 */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** What the header says, once it has been checked against the file's size. */
export interface BmpInfo {
  width: number;
  height: number;
  topDown: boolean;
  bits: 8 | 24 | 32;
  compression: 0 | 3;
  offset: number;
  headerSize: number;
  stride: number;
  channels: 3 | 4;
  masks: { r: number; g: number; b: number; a: number };
  /** 8-bit files: the palette's bytes (BGRA entries). */
  palette?: Buffer;
}

/** The problem with a BMP, phrased for the person who has to convert it; the caller adds the file name. */
export class BmpError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'BmpError';
  }
}

export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

function maskShift(mask: number): number {
  if (mask === 0) return -1;
  let s = 0;
  while (((mask >>> s) & 1) === 0) s++;
  return s;
}

/**
 * Reads and checks a BMP header: everything `decodeBmp` needs, refused with a BmpError when the file is not
 * one it can decode, larger than `maxPixels`, or shorter than the header says. Reads no pixel.
 */
export function readBmpInfo(buf: Buffer, maxPixels = DEFAULT_MAX_PIXELS): BmpInfo {
  const fail = (why: string): never => {
    throw new BmpError(why);
  };
  if (!isBmp(buf)) fail('not a BMP file');
  if (buf.length < 14 + 40) fail(`only ${buf.length} bytes, shorter than a BMP header`);
  const offset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (headerSize < 40) fail(`OS/2 header (size ${headerSize}) is not supported`);
  if (14 + headerSize > buf.length) fail(`its ${headerSize}-byte header is cut short`);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const height = Math.abs(rawHeight);
  const bits = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  if (width <= 0 || height === 0) fail(`size ${width}x${height}`);
  if (compression !== 0 && !(compression === 3 && bits === 32)) {
    const names: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'embedded JPEG', 5: 'embedded PNG' };
    fail(
      `compression ${compression}${names[compression] ? ` (${names[compression]})` : ''} is not supported`,
    );
  }
  if (bits !== 8 && bits !== 24 && bits !== 32) fail(`${bits} bits per pixel is not supported`);
  const tooBig = pixelLimitProblem(width, height, maxPixels);
  if (tooBig) fail(tooBig);
  const stride = Math.ceil((width * bits) / 32) * 4;
  if (offset + stride * height > buf.length) {
    fail(`its pixel data is cut short (${buf.length} bytes for ${width}x${height} at ${bits} bits)`);
  }

  const masks = { r: 0x00ff0000, g: 0x0000ff00, b: 0x000000ff, a: 0 };
  if (bits === 32 && compression === 3) {
    const at = headerSize >= 52 ? 14 + 40 : 14 + headerSize; // V4/V5 hold them in the header, else after it
    if (at + 12 > buf.length) fail('its colour masks are cut short');
    masks.r = buf.readUInt32LE(at);
    masks.g = buf.readUInt32LE(at + 4);
    masks.b = buf.readUInt32LE(at + 8);
  }
  // 32-bit pixels carry alpha only when a V4/V5 header gives an alpha mask; otherwise the 4th byte is padding.
  if (bits === 32 && headerSize >= 56) masks.a = buf.readUInt32LE(14 + 52);
  let palette: Buffer | undefined;
  if (bits === 8) {
    const colours = buf.readUInt32LE(46) || 256;
    if (colours > 256) fail(`its palette claims ${colours} colours (at most 256)`);
    palette = buf.subarray(14 + headerSize, 14 + headerSize + colours * 4);
    if (palette.length < colours * 4) fail('its palette is cut short');
  }
  return {
    width,
    height,
    topDown: rawHeight < 0,
    bits: bits as 8 | 24 | 32,
    compression: compression as 0 | 3,
    offset,
    headerSize,
    stride,
    channels: bits === 32 && masks.a !== 0 ? 4 : 3,
    masks,
    ...(palette ? { palette } : {}),
  };
}

export function decodeBmp(buf: Buffer, file: string, maxPixels = DEFAULT_MAX_PIXELS): RawImage {
  const fail = (why: string): never => {
    throw new Error(`${file}: cannot decode BMP: ${why}; convert it to PNG`);
  };
  let info: BmpInfo;
  try {
    info = readBmpInfo(buf, maxPixels);
  } catch (e) {
    if (e instanceof BmpError) return fail(e.reason);
    throw e;
  }
  const { width, height, channels, bits, stride, offset, topDown, masks, palette } = info;
  const out = Buffer.alloc(width * height * channels);
  const shifts = {
    r: maskShift(masks.r),
    g: maskShift(masks.g),
    b: maskShift(masks.b),
    a: maskShift(masks.a),
  };
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (bits === 24) {
        out[o] = buf[row + x * 3 + 2];
        out[o + 1] = buf[row + x * 3 + 1];
        out[o + 2] = buf[row + x * 3];
      } else if (bits === 32) {
        const v = buf.readUInt32LE(row + x * 4);
        out[o] = (v & masks.r) >>> shifts.r;
        out[o + 1] = (v & masks.g) >>> shifts.g;
        out[o + 2] = (v & masks.b) >>> shifts.b;
        if (channels === 4) out[o + 3] = (v & masks.a) >>> shifts.a;
      } else {
        const i = buf[row + x] * 4;
        if (i + 3 > palette!.length) fail(`pixel (${x}, ${y}) uses colour ${i / 4} beyond the palette`);
        out[o] = palette![i + 2];
        out[o + 1] = palette![i + 1];
        out[o + 2] = palette![i];
      }
    }
  }
  return { data: out, width, height, channels };
}

/**
 * sharp's own default pixel limit (0x3FFF²). Files already in the store passed the import's (lower, configurable)
 * limit; readers of stored files keep only this backstop so an import with a raised --max-pixels stays trainable.
 */
export const DECODER_MAX_PIXELS = 0x3fff * 0x3fff;

/**
 * How strict sharp is about damaged input, the same for the importer's proof decode and for training: a file cut
 * short is refused, while libjpeg's recoverable warnings ("Corrupt JPEG data: extraneous bytes", common in
 * ImageNet-era JPEGs) are not. With sharp's default ('warning') training refused JPEGs the import had accepted.
 */
export const DECODE_FAIL_ON = 'truncated' as const;

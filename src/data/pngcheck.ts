/**
 * A fast proof that a PNG file is whole, without sharp: every chunk's CRC, the zlib stream of the IDAT chunks
 * inflated to its end (adler-32 included), exactly as many bytes as the header's size needs, and a valid filter
 * type on every row. For the small PNGs of typical datasets sharp's per-call cost (option marshalling, a libuv
 * hop, the vips pipeline) was most of an import's time; this is a few microseconds of zlib.
 *
 * It only vouches, never refuses: for anything outside the plain cases it knows (palette or transparency chunks,
 * chunks other than a few fixed-size ancillary ones, bytes after IEND, a stream that does not end where IDAT
 * does) and for every damaged file it answers `undefined`, and the caller decodes with sharp as before, so
 * refusals keep sharp's wording and nothing sharp would refuse is let through.
 */
import { inflateSync } from 'node:zlib';

export interface PngHeader {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (as sharp's metadata reports them). */
  channels: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Colour type -> samples per pixel, for the colour types handled here (3, palette, is left to sharp). */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
const DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  4: [8, 16],
  6: [8, 16],
};

/** Ancillary chunks that change nothing sharp reports, with the only length each may have. */
const HARMLESS: Record<string, number> = { pHYs: 9, gAMA: 4, sRGB: 1, tIME: 7, cHRM: 32 };

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32(buf: Uint8Array, from: number, to: number): number {
  let c = -1;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Bytes of the filtered image data: per row one filter byte and the packed samples; per pass if interlaced. */
function rawBytes(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (w: number, h: number) =>
    w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bitsPerPixel) / 8));
  if (!interlaced) return rows(width, height);
  // Adam7: [x start, y start, x step, y step] of the seven passes.
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  let n = 0;
  for (const [x0, y0, dx, dy] of passes) {
    n += rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  }
  return n;
}

/** Every row's filter byte is 0-4; rows are walked as in `rawBytes`. */
function filtersValid(
  raw: Uint8Array,
  width: number,
  height: number,
  bpp: number,
  interlaced: boolean,
): boolean {
  const sizes: [number, number][] = interlaced
    ? [
        [Math.ceil(width / 8), Math.ceil(height / 8)],
        [Math.ceil((width - 4) / 8), Math.ceil(height / 8)],
        [Math.ceil(width / 4), Math.ceil((height - 4) / 8)],
        [Math.ceil((width - 2) / 4), Math.ceil(height / 4)],
        [Math.ceil(width / 2), Math.ceil((height - 2) / 4)],
        [Math.ceil((width - 1) / 2), Math.ceil(height / 2)],
        [width, Math.ceil((height - 1) / 2)],
      ]
    : [[width, height]];
  let at = 0;
  for (const [w, h] of sizes) {
    if (w <= 0 || h <= 0) continue;
    const stride = 1 + Math.ceil((w * bpp) / 8);
    for (let y = 0; y < h; y++, at += stride) if (raw[at] > 4) return false;
  }
  return at === raw.length;
}

/**
 * The header of a PNG whose every byte checks out, or undefined when the file is not one this check can vouch
 * for (see the module comment). `maxPixels` bounds the inflated size before anything is inflated.
 */
export function checkPng(buf: Uint8Array, maxPixels: number): PngHeader | undefined {
  if (buf.length < 8 + 25 + 12 || SIGNATURE.some((b, i) => buf[i] !== b)) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = (at: number) => String.fromCharCode(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
  let at = 8;
  let header: (PngHeader & { bpp: number; interlaced: boolean }) | undefined;
  const idat: Uint8Array[] = [];
  let idatDone = false;
  for (;;) {
    if (at + 12 > buf.length) return undefined;
    const len = view.getUint32(at);
    const name = type(at + 4);
    const end = at + 12 + len;
    if (len > 0x7fffffff || end > buf.length) return undefined;
    if (crc32(buf, at + 4, at + 8 + len) !== view.getUint32(at + 8 + len)) return undefined;
    const data = buf.subarray(at + 8, at + 8 + len);
    if (header === undefined) {
      if (name !== 'IHDR' || len !== 13) return undefined;
      const width = view.getUint32(at + 8);
      const height = view.getUint32(at + 12);
      const depth = data[8];
      const colour = data[9];
      const samples = SAMPLES[colour];
      if (samples === undefined || !DEPTHS[colour].includes(depth)) return undefined;
      if (data[10] !== 0 || data[11] !== 0 || data[12] > 1) return undefined;
      if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) return undefined;
      if (width * height > maxPixels) return undefined;
      header = { width, height, channels: samples, bpp: samples * depth, interlaced: data[12] === 1 };
    } else if (name === 'IDAT') {
      if (idatDone) return undefined; // IDAT chunks must be consecutive
      idat.push(data);
    } else if (name === 'IEND') {
      if (len !== 0 || end !== buf.length || idat.length === 0) return undefined;
      break;
    } else if (HARMLESS[name] === len) {
      if (idat.length > 0) idatDone = true;
    } else {
      return undefined;
    }
    at = end;
  }
  const expected = rawBytes(header.width, header.height, header.bpp, header.interlaced);
  const stream = idat.length === 1 ? idat[0] : Buffer.concat(idat);
  let raw: Buffer;
  let consumed: number;
  try {
    // One byte of room past the expected size: more data than the header allows is caught, not truncated.
    const r = inflateSync(stream, { maxOutputLength: expected + 1, info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    raw = r.buffer;
    consumed = r.engine.bytesWritten;
  } catch {
    return undefined;
  }
  if (raw.length !== expected || consumed !== stream.length) return undefined;
  if (!filtersValid(raw, header.width, header.height, header.bpp, header.interlaced)) return undefined;
  return { width: header.width, height: header.height, channels: header.channels };
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { BmpError, DECODE_FAIL_ON, decodeBmp, isBmp, readBmpInfo } from './bmp.js';
import { DEFAULT_MAX_PIXELS, pixelLimitProblem } from './limits.js';
import { checkPng } from './pngcheck.js';

/**
 * sharp, loaded at the first file that needs it: most dataset images are PNGs proven without it, and each of the
 * importer's reader threads would otherwise pay for loading it (about 40 ms) whether it is used or not.
 */
let sharpModule: Promise<(input: Buffer, options?: SharpOptions) => Sharp> | undefined;
function loadSharp(): Promise<(input: Buffer, options?: SharpOptions) => Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** File endings the importer treats as images (everything sharp decodes that datasets use). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.gif'] as const;

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

export interface ImageProbe {
  width: number;
  height: number;
  /** Channels as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  format: string;
  sha256: string;
  bytes: number;
}

export class ImageReadError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: cannot read image: ${reason}`);
    this.name = 'ImageReadError';
  }
}

/** What an earlier probe of the same path found; see `probeImage`. */
export type KnownImage = Pick<ImageProbe, 'width' | 'height' | 'channels' | 'format' | 'sha256'>;

export interface ProbeOptions {
  /** An earlier probe of this path: when its hash matches, the header is returned without decoding again. */
  known?: KnownImage;
  /** Largest width × height accepted (default DEFAULT_MAX_PIXELS); checked from the header, before decoding. */
  maxPixels?: number;
}

/**
 * Above this many pixels the proof decode streams through the image (libvips' stats(), a few rows in memory at a
 * time) instead of materialising it: with 8 probes at once, 40 MP RGBA images would otherwise hold 1.3 GB.
 * Below it the plain decode is faster (measured 0.55 s vs 1.3 s for 36 MP, the gap shrinks with size).
 */
const STREAMED_PROOF_PIXELS = 4_000_000;

/**
 * Reads an image's header, decodes it once to prove the pixels are all there, and hashes its bytes. The content
 * hash is what makes re-imports idempotent: the same bytes under the same path change nothing in the store.
 * When `known` (an earlier probe of this path) has the same hash, its header is returned without decoding again,
 * so re-importing an unchanged folder costs a read and a hash per file. An image larger than `maxPixels` is
 * refused before any pixel is decoded (a 50 KB PNG can declare 16000×16000 pixels).
 */
export async function probeImage(file: string, opts: ProbeOptions = {}): Promise<ImageProbe> {
  const { known } = opts;
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  let buf: Buffer;
  try {
    // Synchronous on purpose: dataset files are small, and fs/promises' open/stat/read/close round trips queue
    // behind sharp's decodes on libuv's 4 threads (measured: 10,000-image import 8 s async, 5 s sync).
    buf = readFileSync(file);
  } catch (e) {
    throw new ImageReadError(file, (e as NodeJS.ErrnoException).code ?? String(e));
  }
  const sha256 = createHash('sha256').update(buf).digest('hex');
  // The shortcut is not taken for BMPs (their check is cheap, and imports before it was complete stored broken
  // ones) nor above the limit.
  if (
    known &&
    known.sha256 === sha256 &&
    known.format !== 'bmp' &&
    pixelLimitProblem(known.width, known.height, maxPixels) === undefined
  ) {
    const { width, height, channels, format } = known;
    return { width, height, channels, format, sha256, bytes: buf.length };
  }
  // sharp's prebuilt libvips has no BMP loader: BMPs go through the decoder training uses, so a BMP that
  // imports is one that trains.
  if (isBmp(buf)) {
    const bmp = readBmpHeader(buf, file, maxPixels)!;
    try {
      decodeBmp(buf, file, maxPixels);
    } catch (e) {
      throw new ImageReadError(file, (e as Error).message.replace(`${file}: cannot decode BMP: `, 'BMP: '));
    }
    return { ...bmp, format: 'bmp', sha256, bytes: buf.length };
  }
  // Most dataset images are plain PNGs: proven whole without sharp when every byte checks out; any doubt (or
  // damage) goes on to sharp below, which decides and words the refusal.
  const png = checkPng(buf, maxPixels);
  if (png) return { ...png, format: 'png', sha256, bytes: buf.length };
  const sharp = await loadSharp();
  let m: Metadata;
  try {
    m = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageReadError(file, `${msg} (is it a PNG, JPEG, BMP, WebP, TIFF or GIF file?)`);
  }
  if (!m.width || !m.height || !m.channels || !m.format) {
    throw new ImageReadError(file, 'no width, height or channel count in its header');
  }
  const tooBig = pixelLimitProblem(m.width, m.height, maxPixels);
  if (tooBig) throw new ImageReadError(file, tooBig);
  try {
    // A header alone does not prove the pixels are there: a file cut short by an interrupted copy has a valid
    // header. Decoding it now reports it at import instead of failing a training run later.
    const img = sharp(buf, { failOn: DECODE_FAIL_ON, limitInputPixels: maxPixels });
    if (m.width * m.height > STREAMED_PROOF_PIXELS) await img.stats();
    else await img.raw().toBuffer();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageReadError(file, `its pixels cannot be decoded: ${msg}`);
  }
  return {
    width: m.width,
    height: m.height,
    channels: m.channels,
    format: m.format,
    sha256,
    bytes: buf.length,
  };
}

/**
 * Size and channels from a BMP header, or undefined when `buf` is not a BMP. Refuses (ImageReadError naming the
 * file) every BMP the decoder cannot decode: compressed (RLE, embedded JPEG/PNG), unusual bit depths, OS/2
 * headers, files shorter than their header says, and sizes above `maxPixels`.
 */
export function readBmpHeader(
  buf: Buffer,
  file: string,
  maxPixels = DEFAULT_MAX_PIXELS,
): { width: number; height: number; channels: number } | undefined {
  if (!isBmp(buf)) return undefined;
  try {
    const info = readBmpInfo(buf, maxPixels);
    return { width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    if (e instanceof BmpError) throw new ImageReadError(file, `BMP: ${e.reason}; convert it to PNG`);
    throw e;
  }
}

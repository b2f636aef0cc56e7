/**
 * Decoding one image file into the model's input (the only module here that runs the codec). sharp does the
 * file-format work, colour conversion, alpha compositing and resampling on its own threads.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { openImage } from '../../data/open-image.js';
import { toInputPixels } from './pixels.js';
import type { Placement } from './placement.js';

/**
 * Resampling kernels offered (sharp's names). 'linear' is the default: it is what the reference code's
 * `cv2.resize` uses, and libvips widens it when shrinking, so a 224 → 64 reduction averages instead of aliasing.
 */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
export const RESIZE_KERNELS: readonly ResizeKernel[] = [
  'nearest',
  'linear',
  'cubic',
  'mitchell',
  'lanczos2',
  'lanczos3',
];

export interface DecodeRequest {
  file: string;
  /** The SHA-256 the store recorded at import: a file whose bytes changed since then is refused. */
  sha256: string;
  placement: Placement;
  kernel: ResizeKernel;
  /** Value of letterbox padding, in [0, 1]. */
  padValue: number;
}

/** Turns a file into size×size×3 Float32 HWC pixels in [0, 1]. Injectable so tests can count decodes. */
export type ImageDecoder = (request: DecodeRequest) => Promise<Float32Array>;

export class DataLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataLoadError';
  }
}

export async function readSourceFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const hint =
      code === 'ENOENT'
        ? "; if the dataset moved, re-import it from its new folder (or update the dataset's source path)"
        : '';
    throw new DataLoadError(`${file}: cannot read ${what} (${code})${hint}`);
  }
}

/**
 * The default decoder. Alpha is composited on white (the background of the generated sets and of most
 * annotation tools), grey is repeated into three channels, 16-bit samples are reduced to 8 bits by sharp.
 * EXIF orientation is deliberately NOT applied: boxes were read in the stored pixel grid (that is also the size
 * the importer recorded), so rotating the pixels would move the image away from its annotations.
 */
export const decodeImage: ImageDecoder = async (req) => {
  const { file, placement: p } = req;
  const bytes = await readSourceFile(file, 'image');
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== req.sha256.toLowerCase()) {
    throw new DataLoadError(
      `${file}: the file changed since it was imported (its SHA-256 differs from the store's); ` +
        're-import the dataset so labels, boxes and pixels agree',
    );
  }
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await openImage(bytes, file)
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(p.contentWidth, p.contentHeight, { fit: 'fill', kernel: req.kernel })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DataLoadError(`${file}: cannot decode image: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { data, info } = decoded;
  if (info.width !== p.contentWidth || info.height !== p.contentHeight) {
    throw new DataLoadError(
      `${file}: decoded to ${info.width}×${info.height} instead of ${p.contentWidth}×${p.contentHeight}`,
    );
  }
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return toInputPixels(raw, info.channels, p, req.padValue);
};

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';

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

/**
 * Reads an image's header and hashes its bytes. The content hash is what makes re-imports idempotent: the same
 * bytes under the same path change nothing in the store.
 */
export async function probeImage(file: string): Promise<ImageProbe> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new ImageReadError(file, (e as NodeJS.ErrnoException).code ?? String(e));
  }
  const sha256 = createHash('sha256').update(buf).digest('hex');
  try {
    const m = await sharp(buf).metadata();
    if (!m.width || !m.height || !m.channels || !m.format) {
      throw new Error('no width, height or channel count in its header');
    }
    return {
      width: m.width,
      height: m.height,
      channels: m.channels,
      format: m.format,
      sha256,
      bytes: buf.length,
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageReadError(file, `${msg} (is it a PNG, JPEG, BMP, WebP, TIFF or GIF file?)`);
  }
}

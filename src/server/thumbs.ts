import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ApiError } from '../api/contract.js';
import { openImage } from '../data/open-image.js';
import { storeFilesDir } from '../store/index.js';

/**
 * Gallery thumbnails: a small WebP per (image content, size), made once with sharp and kept on disk beside the
 * store. Keyed by the image's SHA-256 (from its import), not its id or path, so a re-import or a copy of the same
 * image finds the same file, and a changed image gets a new one. The gallery asks for these instead of the
 * originals, whose decoding made scrolling drop most frames.
 */

/** The sizes served (the longer side, in pixels): a small set, so the cache stays bounded per image. */
export const THUMB_SIZES = [64, 128, 256] as const;
export type ThumbSize = (typeof THUMB_SIZES)[number];

export function isThumbSize(n: number): n is ThumbSize {
  return (THUMB_SIZES as readonly number[]).includes(n);
}

/** The folder of thumbnails for a store file. */
export function thumbsFolder(storePath: string): string {
  return join(storeFilesDir(storePath), 'thumbs');
}

export interface ThumbSource {
  /** The original, already checked to lie inside its dataset (service.imageFile). */
  file: string;
  sha256: string;
}

export class ThumbnailCache {
  /** Thumbnails being made, so concurrent requests for one image wait for the same work. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(readonly folder: string) {}

  /** Where the thumbnail of this content at this size lives (whether or not it exists yet). */
  pathFor(sha256: string, size: ThumbSize): string {
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new ApiError(`not a SHA-256 content hash: "${sha256.slice(0, 80)}"`, 500);
    return join(this.folder, sha256.slice(0, 2), `${sha256}-${size}.webp`);
  }

  /** The thumbnail file, made if missing. `made` says whether this call made it (false: a cache hit). */
  async get(src: ThumbSource, size: ThumbSize): Promise<{ file: string; made: boolean }> {
    const file = this.pathFor(src.sha256, size);
    if (existsSync(file)) return { file, made: false };
    let work = this.pending.get(file);
    if (!work) {
      work = this.make(src.file, file, size).finally(() => this.pending.delete(file));
      this.pending.set(file, work);
    }
    await work;
    return { file, made: true };
  }

  private async make(original: string, file: string, size: ThumbSize): Promise<string> {
    let bytes: Buffer;
    try {
      bytes = await readFile(original);
    } catch (e) {
      throw new ApiError(
        `${original}: cannot read the image for its thumbnail (${(e as Error).message})`,
        404,
      );
    }
    let out: Buffer;
    try {
      out = await openImage(bytes, original)
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer();
    } catch (e) {
      throw new ApiError(`${original}: cannot make a thumbnail (${(e as Error).message})`, 500);
    }
    // Temp + rename: a reader (or a crash) never sees half a thumbnail.
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(tmp, out);
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return file;
  }
}

/**
 * A cache of decoded images, so the same file at the same input size is decoded once: across epochs, across
 * the splits and runs of one process, and, with a cache folder, across processes.
 *
 * Keys are the image's SHA-256 plus everything that changes the pixels (input size, resize mode, kernel, pad
 * value and the decoder's version), never its path: a renamed or duplicated file is still a hit, and a file
 * whose bytes changed gets a new key (the decoder refuses bytes that differ from the store's hash).
 *
 * Memory budget: the cache itself keeps at most `maxBytes` of pixels (default 512 MiB: about 890 images at
 * 224 px, 10 900 at 64 px), dropping the least recently used entries beyond it. Arrays it has handed out stay
 * alive as long as whoever holds them (a loaded ImageSetData does), so the budget bounds what the cache keeps
 * on its own, not the size of a loaded split; loadSplit checks that separately.
 *
 * On disk: `<dir>/<first two hex digits>/<sha256>.<variant>.f32`, the raw little-endian Float32 HWC samples and
 * nothing else, written to a temporary sibling and renamed, so a reader never sees half a file. A file whose
 * length is not exactly size×size×3×4 bytes is ignored and rewritten.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import type { ResizeKernel } from './decode.js';
import type { ResizeMode } from './placement.js';

/** Bump when the decoder would produce different pixels for the same key (invalidates persisted files). */
export const DECODER_VERSION = 1;
export const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;

export interface DecodeVariant {
  size: number;
  resize: ResizeMode;
  kernel: ResizeKernel;
  padValue: number;
}

/** A file-name-safe tag of everything besides the bytes that decides the decoded pixels. */
export function variantTag(v: DecodeVariant): string {
  const pad = v.resize === 'letterbox' ? `-pad${v.padValue}` : '';
  return `v${DECODER_VERSION}-${v.size}px-${v.resize}-${v.kernel}${pad}`;
}

export interface DecodeCacheOptions {
  /** Bytes of decoded pixels the cache may keep in memory; 0 keeps nothing in memory. */
  maxBytes?: number;
  /** A folder for persistent `.f32` files (created when needed); no persistence when absent. */
  dir?: string;
}

export interface DecodeCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  memoryHits: number;
  diskHits: number;
  /** Calls that had to decode (misses in memory and on disk). */
  decodes: number;
  evictions: number;
  /** Persistent files that could not be written or read; the pixels were still returned. */
  diskErrors: number;
  lastDiskError?: string;
}

export class DecodeCache {
  readonly maxBytes: number;
  readonly dir: string | undefined;
  private readonly memory = new Map<string, Float32Array>();
  private readonly pending = new Map<string, Promise<Float32Array>>();
  private bytes = 0;
  private counts = { memoryHits: 0, diskHits: 0, decodes: 0, evictions: 0, diskErrors: 0 };
  private lastDiskError: string | undefined;

  constructor(opts: DecodeCacheOptions = {}) {
    const maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new Error(`DecodeCache: maxBytes must be an integer number of bytes >= 0, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
    // The files are raw native-order floats; on a big-endian machine they would not be portable, so don't write any.
    this.dir = endianness() === 'LE' ? opts.dir : undefined;
  }

  /** The file that holds (or would hold) an entry, or undefined without a cache folder. */
  filePath(sha256: string, variant: DecodeVariant): string | undefined {
    if (this.dir === undefined) return undefined;
    const sha = sha256.toLowerCase();
    return join(this.dir, sha.slice(0, 2), `${sha}.${variantTag(variant)}.f32`);
  }

  /**
   * The pixels of (sha256, variant): from memory, else from the cache folder, else from `decode()` (then kept
   * in both). Concurrent calls for the same key share one decode. Callers must not modify the returned array:
   * it is shared with everyone else who asks for the same key.
   */
  async get(
    sha256: string,
    variant: DecodeVariant,
    decode: () => Promise<Float32Array>,
  ): Promise<Float32Array> {
    if (!/^[0-9a-fA-F]{64}$/.test(sha256))
      throw new Error(`DecodeCache: "${sha256}" is not a SHA-256 in hex`);
    const key = `${sha256.toLowerCase()}.${variantTag(variant)}`;
    const hit = this.memory.get(key);
    if (hit !== undefined) {
      this.counts.memoryHits++;
      // Re-insert to mark it most recently used (a Map iterates in insertion order).
      this.memory.delete(key);
      this.memory.set(key, hit);
      return hit;
    }
    const inFlight = this.pending.get(key);
    if (inFlight !== undefined) {
      this.counts.memoryHits++;
      return inFlight;
    }
    const job = this.load(sha256, variant, decode).then(
      (pixels) => {
        this.pending.delete(key);
        this.remember(key, pixels);
        return pixels;
      },
      (e: unknown) => {
        this.pending.delete(key);
        throw e;
      },
    );
    this.pending.set(key, job);
    return job;
  }

  stats(): DecodeCacheStats {
    return {
      entries: this.memory.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      ...this.counts,
      ...(this.lastDiskError === undefined ? {} : { lastDiskError: this.lastDiskError }),
    };
  }

  /** Empties the memory part (files stay). */
  clear(): void {
    this.memory.clear();
    this.bytes = 0;
  }

  private async load(
    sha256: string,
    variant: DecodeVariant,
    decode: () => Promise<Float32Array>,
  ): Promise<Float32Array> {
    const length = variant.size * variant.size * 3;
    const file = this.filePath(sha256, variant);
    if (file !== undefined) {
      const stored = await this.readFile(file, length);
      if (stored !== undefined) {
        this.counts.diskHits++;
        return stored;
      }
    }
    this.counts.decodes++;
    const pixels = await decode();
    if (pixels.length !== length) {
      throw new Error(`decoder returned ${pixels.length} values, expected ${variant.size}×${variant.size}×3`);
    }
    if (file !== undefined) await this.writeFile(file, pixels);
    return pixels;
  }

  private async readFile(file: string, length: number): Promise<Float32Array | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.diskError(file, e);
      return undefined;
    }
    if (buf.byteLength !== length * 4) return undefined; // truncated or from another layout: rewrite it
    // Copied into its own ArrayBuffer: a Buffer may sit at an offset not divisible by 4.
    const out = new Float32Array(length);
    new Uint8Array(out.buffer).set(buf);
    return out;
  }

  private async writeFile(file: string, pixels: Float32Array): Promise<void> {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      // A full or read-only cache folder costs speed, not correctness: the pixels are in hand.
      this.diskError(file, e);
    }
  }

  private diskError(file: string, e: unknown): void {
    this.counts.diskErrors++;
    this.lastDiskError = `${file}: ${e instanceof Error ? e.message : String(e)}`;
  }

  private remember(key: string, pixels: Float32Array): void {
    if (this.memory.has(key)) return;
    const size = pixels.byteLength;
    if (size > this.maxBytes) return;
    this.memory.set(key, pixels);
    this.bytes += size;
    for (const [k, v] of this.memory) {
      if (this.bytes <= this.maxBytes) break;
      this.memory.delete(k);
      this.bytes -= v.byteLength;
      this.counts.evictions++;
    }
  }
}

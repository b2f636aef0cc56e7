/**
 * The model as the evaluation's metrics see it, shared by every metric, method and image of a chunk: score
 * requests made concurrently are pooled into large model calls (split over the cores when a pass pool is
 * given), and an image already scored in this chunk is not scored again.
 *
 * Why the memo pays: many perturbed copies are the same whatever the method — the unperturbed image (step 0
 * of every curve), the fully deleted or fully inserted image, and all of faithfulness correlation's copies
 * (its pixel subsets come from the seed, not from the map). Keys are a SHA-1 of the image's bytes, so only
 * bit-identical inputs share a score.
 *
 * Images do not interact in inference mode, so pooling requests changes no value beyond float rounding.
 */
import { createHash } from 'node:crypto';
import type { ModelFn, ScoreModel } from '../metrics/index.js';

/** Logits of HWC images at the model's input size, one vector per image, in order. */
export type LogitsFn = (pixels: readonly Float32Array[]) => Promise<Float32Array[]>;

export interface ScorerStats {
  /** Images the metrics asked to score. */
  requested: number;
  /** Images the model scored (the rest were already known). */
  computed: number;
  /** Model calls made. */
  calls: number;
}

interface Waiting {
  pixels: Float32Array;
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

function keyOf(pixels: Float32Array): string {
  return createHash('sha1')
    .update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
    .digest('base64');
}

/** Images per model call: the memory one inference pass may take, ~64 images of 32 px per replica. */
export function scoreBatchSize(inputSize: number, replicas: number): number {
  const perReplica = Math.max(4, Math.min(64, Math.floor((64 * 32 * 32) / (inputSize * inputSize))));
  return perReplica * Math.max(1, replicas);
}

export class BatchingScorer implements ScoreModel {
  readonly outputs = 'logits' as const;
  readonly stats: ScorerStats = { requested: 0, computed: 0, calls: 0 };
  private readonly memo = new Map<string, Promise<Float32Array>>();
  private queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly size: number,
    private readonly logits: LogitsFn,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new Error(`BatchingScorer: maxBatch must be an integer ≥ 1, got ${maxBatch}`);
    }
  }

  readonly predict: ModelFn = async (batch, width, height, channels) => {
    const s = this.size;
    if (width !== s || height !== s || channels !== 3) {
      throw new Error(`the model takes ${s}×${s}×3 images, the metric gave ${width}×${height}×${channels}`);
    }
    return Promise.all(batch.map((p) => this.one(p)));
  };

  /** Forgets the scores kept so far (between chunks of images: they will not be asked for again). */
  clear(): void {
    this.memo.clear();
  }

  private one(pixels: Float32Array): Promise<Float32Array> {
    this.stats.requested++;
    const key = keyOf(pixels);
    const known = this.memo.get(key);
    if (known) return known;
    const promise = new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ pixels, resolve, reject });
    });
    this.memo.set(key, promise);
    // A failed score is not kept: a retry (or the next chunk) asks the model again.
    promise.catch(() => {
      if (this.memo.get(key) === promise) this.memo.delete(key);
    });
    if (!this.running) {
      this.running = true;
      // Wait one macrotask, so every metric running concurrently adds its requests first.
      setImmediate(() => void this.drain());
    }
    return promise;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const out = await this.logits(batch.map((w) => w.pixels));
          if (out.length !== batch.length) {
            throw new Error(`the model returned ${out.length} score vectors for ${batch.length} images`);
          }
          this.stats.calls++;
          this.stats.computed += batch.length;
          for (const [i, w] of batch.entries()) w.resolve(out[i]);
        } catch (e) {
          for (const w of batch) w.reject(e as Error);
        }
        // Requests that arrived during the call join the next one; let their makers run first.
        if (this.queue.length < this.maxBatch) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }
}

/**
 * Scoring perturbed images with a model, in batches: at most `batchSize` images exist at once, so a 224 px
 * deletion curve of 100 steps never holds 100 copies of the image. Checks the abort signal before each batch
 * and reports progress after it.
 */
import type { MetricImage, RunOptions, ScoreModel } from '../types.js';

/** Which number stands for "the model's belief in the target": the model's raw output or a probability. */
export type ScoreKind = 'probability' | 'raw';
export const SCORE_KINDS: readonly ScoreKind[] = ['probability', 'raw'];

/** Counts model evaluations across the calls of one metric run, for `onProgress`. */
export class Progress {
  private done = 0;
  constructor(
    readonly total: number,
    private readonly options: RunOptions,
  ) {}
  advance(count: number): void {
    this.done += count;
    this.options.onProgress?.(this.done, this.total);
  }
}

export interface ScoreRequest {
  metric: string;
  model: ScoreModel;
  /** Size and channels of every image produced. */
  like: MetricImage;
  target: number;
  score: ScoreKind;
  batchSize: number;
  signal?: AbortSignal;
  progress?: Progress;
}

function targetScore(metric: string, scores: Float32Array, target: number, req: ScoreRequest): number {
  if (!(scores instanceof Float32Array) || scores.length <= target) {
    throw new Error(
      `${metric}: the model returned ${scores?.length ?? 'no'} class scores, the target is class ${target}`,
    );
  }
  for (let c = 0; c < scores.length; c++) {
    if (!Number.isFinite(scores[c]))
      throw new Error(`${metric}: the model returned a non-finite score for class ${c}`);
  }
  if (req.score === 'raw' || req.model.outputs === 'probabilities') return scores[target];
  // Softmax of the target, stabilised by the max logit.
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < scores.length; c++) max = Math.max(max, scores[c]);
  let sum = 0;
  for (let c = 0; c < scores.length; c++) sum += Math.exp(scores[c] - max);
  return Math.exp(scores[target] - max) / sum;
}

/**
 * Target scores of `count` images, image i made by `make(i)` only when its batch is due. `make` may reuse no
 * buffer across calls (the batch holds them until the model returns).
 */
export async function scoreImages(
  req: ScoreRequest,
  count: number,
  make: (i: number) => Float32Array,
): Promise<Float64Array> {
  const out = new Float64Array(count);
  const { width, height, channels } = req.like;
  for (let start = 0; start < count; start += req.batchSize) {
    req.signal?.throwIfAborted();
    const end = Math.min(count, start + req.batchSize);
    const batch: Float32Array[] = [];
    for (let i = start; i < end; i++) batch.push(make(i));
    const scores = await req.model.predict(batch, width, height, channels);
    if (!Array.isArray(scores) || scores.length !== batch.length) {
      throw new Error(
        `${req.metric}: the model returned ${Array.isArray(scores) ? scores.length : 'no'} score vectors for a batch of ${batch.length}`,
      );
    }
    for (let i = start; i < end; i++) out[i] = targetScore(req.metric, scores[i - start], req.target, req);
    req.progress?.advance(end - start);
  }
  return out;
}

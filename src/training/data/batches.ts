/**
 * Batches of a loaded split as tensors, for one epoch: a reproducible order and random horizontal flips, both
 * derived from (seed, epoch) alone, so epoch 7 of a resumed run sees exactly what it would have seen.
 *
 * Ownership: every batch's tensors belong to the caller until `batch.dispose()`. `forEachBatch` is the
 * hard-to-get-wrong form: it disposes each batch after the callback returns or throws.
 */
import { tf } from '../../engine/tf.js';
import { Random, type Seed } from '../../util/random.js';
import type { ImageSetData } from './load.js';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the order (per epoch). Default false. */
  shuffle?: boolean;
  /** Required when shuffling or flipping: randomness in training must be reproducible. */
  seed?: Seed;
  /** Epoch number (integer >= 0); with the seed it decides order and flips. Default 0. */
  epoch?: number;
  /** Flip images (and their masks) horizontally, each with probability `flipProbability`. Default false. */
  flip?: boolean;
  /** Default 0.5. */
  flipProbability?: number;
  /** Drop a last batch smaller than batchSize (e.g. for batch normalisation). Default false: keep it. */
  dropLast?: boolean;
}

export interface Batch {
  /** [B, S, S, 3] float32 in [0, 1]. */
  x: tf.Tensor4D;
  /** [B] int32 class indices (-1 for unlabelled images loaded with allowUnlabelled). */
  y: tf.Tensor1D;
  /** [B, S, S, 1] float32 0/1, when the set was loaded with masks; rows of images without one are all 0. */
  masks?: tf.Tensor4D;
  /** Which rows have a mask (all false when the set has no masks). */
  maskPresent: boolean[];
  /** Positions in `data.items`. */
  indices: number[];
  imageIds: number[];
  /** Which rows were flipped. */
  flipped: boolean[];
  /** Frees the tensors; safe to call twice. */
  dispose(): void;
}

/** The order of one epoch and, per item index, whether it is flipped. Pure. */
export interface EpochPlan {
  order: number[];
  flips: boolean[];
}

interface Resolved {
  batchSize: number;
  shuffle: boolean;
  seed: Seed;
  epoch: number;
  flip: boolean;
  flipProbability: number;
  dropLast: boolean;
}

function resolve(opts: BatchOptions): Resolved {
  const fail = (option: string, problem: string): never => {
    throw new Error(`batches option ${option}: ${problem}`);
  };
  if (!Number.isInteger(opts?.batchSize) || opts.batchSize < 1) {
    fail('batchSize', `expected an integer >= 1, got ${String(opts?.batchSize)}`);
  }
  const shuffle = opts.shuffle ?? false;
  const flip = opts.flip ?? false;
  if ((shuffle || flip) && opts.seed === undefined) {
    fail('seed', 'required when shuffle or flip is on, so the epoch can be reproduced');
  }
  const epoch = opts.epoch ?? 0;
  if (!Number.isSafeInteger(epoch) || epoch < 0) fail('epoch', `expected an integer >= 0, got ${epoch}`);
  const flipProbability = opts.flipProbability ?? 0.5;
  if (!(flipProbability >= 0 && flipProbability <= 1)) fail('flipProbability', 'expected a number in [0, 1]');
  return {
    batchSize: opts.batchSize,
    shuffle,
    seed: opts.seed ?? 0,
    epoch,
    flip,
    flipProbability,
    dropLast: opts.dropLast ?? false,
  };
}

/**
 * Order and flips of epoch `epoch` for `n` items. Each comes from its own fork of the seed, so turning flips on
 * does not change the order, and a flip is decided per item (not per position), so it does not depend on the
 * batch size or the order either.
 */
export function epochPlan(n: number, opts: Omit<BatchOptions, 'batchSize'>): EpochPlan {
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`epochPlan: item count must be an integer >= 0, got ${n}`);
  const o = resolve({ ...opts, batchSize: 1 });
  const epochRng = new Random(o.seed).fork('batches').fork(`epoch:${o.epoch}`);
  const order = Array.from({ length: n }, (_, i) => i);
  if (o.shuffle) epochRng.fork('order').shuffle(order);
  const flipRng = epochRng.fork('flip');
  const flips = Array.from({ length: n }, () => o.flip && flipRng.bool(o.flipProbability));
  return { order, flips };
}

export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Copies a size×size×channels HWC image into `out` at `offset`, mirrored left-right when `flip`. */
function copyImage(
  src: ArrayLike<number>,
  out: Float32Array,
  offset: number,
  size: number,
  channels: number,
  flip: boolean,
): void {
  if (!flip) {
    for (let i = 0; i < src.length; i++) out[offset + i] = src[i];
    return;
  }
  const rowLen = size * channels;
  for (let r = 0; r < size; r++) {
    const row = r * rowLen;
    for (let c = 0; c < size; c++) {
      const s = row + (size - 1 - c) * channels;
      const d = offset + row + c * channels;
      for (let k = 0; k < channels; k++) out[d + k] = src[s + k];
    }
  }
}

function makeBatch(
  data: ImageSetData,
  indices: number[],
  flips: readonly boolean[],
  withMasks: boolean,
): Batch {
  const s = data.size;
  const b = indices.length;
  const pixels = new Float32Array(b * s * s * 3);
  const labels = new Int32Array(b);
  const maskData = withMasks ? new Float32Array(b * s * s) : undefined;
  const maskPresent: boolean[] = [];
  const flipped: boolean[] = [];
  indices.forEach((idx, row) => {
    const item = data.items[idx];
    if (item.pixels.length !== s * s * 3) {
      throw new Error(`image ${item.relPath}: ${item.pixels.length} values, expected ${s}×${s}×3`);
    }
    const flip = flips[idx];
    copyImage(item.pixels, pixels, row * s * s * 3, s, 3, flip);
    labels[row] = item.label;
    flipped.push(flip);
    maskPresent.push(item.mask !== null);
    if (maskData !== undefined && item.mask !== null) copyImage(item.mask, maskData, row * s * s, s, 1, flip);
  });
  // Created last, after everything that can throw, so a failure leaves no tensor behind.
  const x = tf.tensor4d(pixels, [b, s, s, 3], 'float32');
  const y = tf.tensor1d(labels, 'int32');
  const masks = maskData === undefined ? undefined : tf.tensor4d(maskData, [b, s, s, 1], 'float32');
  let disposed = false;
  return {
    x,
    y,
    ...(masks === undefined ? {} : { masks }),
    maskPresent,
    indices,
    imageIds: indices.map((i) => data.items[i].imageId),
    flipped,
    dispose() {
      if (disposed) return;
      disposed = true;
      x.dispose();
      y.dispose();
      masks?.dispose();
    },
  };
}

/**
 * The batches of one epoch, made lazily (one batch of tensors exists per `next()`; dispose each before asking
 * for many more). The options are checked at the call, not at the first `next()`.
 */
export function batches(data: ImageSetData, opts: BatchOptions): Generator<Batch, void, undefined> {
  const o = resolve(opts);
  const plan = epochPlan(data.items.length, o);
  const withMasks = data.maskSource !== 'none' || data.highlightMasks;
  const count = batchCount(plan.order.length, o.batchSize, o.dropLast);
  return (function* () {
    for (let k = 0; k < count; k++) {
      const indices = plan.order.slice(k * o.batchSize, (k + 1) * o.batchSize);
      yield makeBatch(data, indices, plan.flips, withMasks);
    }
  })();
}

/**
 * Runs `fn` on every batch of the epoch in turn, disposing each batch when `fn` returns or throws. Resolves to
 * the number of batches processed.
 */
export async function forEachBatch(
  data: ImageSetData,
  opts: BatchOptions,
  fn: (batch: Batch, index: number) => void | Promise<void>,
): Promise<number> {
  let n = 0;
  for (const batch of batches(data, opts)) {
    try {
      await fn(batch, n);
    } finally {
      batch.dispose();
    }
    n++;
  }
  return n;
}

/**
 * A trained run's final model, ready to explain and to be scored by the metrics: loaded from the run's final
 * (best) checkpoint, exactly as `predict` does (the best checkpoint of the last phase that has one), with the
 * run's input preparation (its input size and resize mode, linear resampling, white letterbox padding).
 *
 * Everything that touches TensorFlow for explanations and evaluation goes through a {@link RunModel}, so the
 * cache (store.ts) stays engine-free. The holder owns the model and must call `dispose()`.
 */
import { join } from 'node:path';
import { defaultReplicas } from '../engine/parallel/index.js';
import { tf } from '../engine/tf.js';
import type { EngineName } from '../engine/types.js';
import type { ScoreModel } from '../metrics/index.js';
import type { XwbModel } from '../models/index.js';
import type { Checkpoint, ImageRecord, Store } from '../store/index.js';
import { loadCheckpoint } from '../training/checkpoint.js';
import {
  activePhases,
  endsOnWhiteMaps,
  type PhaseName,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from '../training/config.js';
import { DecodeCache } from '../training/data/cache.js';
import { decodeImage } from '../training/data/decode.js';
import { type Placement, placeImage } from '../training/data/placement.js';
import { handOn } from '../training/resume.js';
import { PassPool } from './passes/pool.js';
import type { Passes } from './passes/types.js';
import { getMethod } from './registry.js';
import { backwardPassLimit } from './run.js';
import type { ExplainContext, ExplainMethod, Params } from './types.js';

/** One image as the model sees it. */
export interface ModelInput {
  imageId: number;
  /** S×S×3 HWC float32 in [0, 1]; shared with the decode cache, never modify it. */
  pixels: Float32Array;
  placement: Placement;
}

export interface RunModel {
  readonly runId: number;
  readonly datasetId: number;
  /** The run's classes in output order. */
  readonly classes: readonly string[];
  readonly inputSize: number;
  readonly config: TrainConfig;
  readonly model: XwbModel;
  readonly checkpoint: Pick<Checkpoint, 'path' | 'runId' | 'phase' | 'epoch'>;
  placement(image: ImageRecord): Placement;
  /** Decodes (through a small per-model cache) the images of the run's dataset. */
  inputs(images: readonly ImageRecord[]): Promise<ModelInput[]>;
  /** Softmax probabilities per image. */
  probabilities(pixels: readonly Float32Array[]): Promise<Float32Array[]>;
  method(name: string): ExplainMethod;
  /** One S×S map per image for its class, with the method's per-image diagnostics; `params` as it takes them. */
  explain(
    method: string,
    pixels: readonly Float32Array[],
    classes: readonly number[],
    params: Partial<Params>,
    ctx?: ExplainContext,
  ): Promise<ExplainedMaps>;
  /** The model as the metrics see it (logits), owning and disposing its tensors. */
  readonly scoreModel: ScoreModel;
  /** A second, independent copy of the model from the same checkpoint (for randomisation); caller disposes. */
  loadCopy(): Promise<XwbModel>;
  /**
   * The pass pool over the cores the many-pass methods use (started at first use, kept with the model), or
   * null where passes run on this thread only (a native engine, one core, or workers that would not start).
   */
  passes(): Promise<Passes | null>;
  /** A pool of the same size for another model (a randomised copy), or null as above; the caller closes it. */
  poolFor(model: XwbModel): Promise<PassPool | null>;
  dispose(): void;
}

/** Decoded inputs kept per loaded model: enough for a few hundred 64 px images. */
const DECODE_CACHE_BYTES = 64 * 1024 * 1024;

/** [N, S, S, 3] from per-image HWC arrays, checked. */
export function stackInputs(pixels: readonly Float32Array[], size: number, where: string): tf.Tensor4D {
  const per = size * size * 3;
  if (pixels.length === 0) throw new Error(`${where}: no images`);
  const x = new Float32Array(pixels.length * per);
  pixels.forEach((p, i) => {
    if (p.length !== per)
      throw new Error(`${where}: image ${i} has ${p.length} values, expected ${size}×${size}×3`);
    x.set(p, i * per);
  });
  return tf.tensor4d(x, [pixels.length, size, size, 3]);
}

function splitRows(flat: Float32Array, rows: number): Float32Array[] {
  const width = flat.length / rows;
  return Array.from({ length: rows }, (_, i) => flat.slice(i * width, (i + 1) * width));
}

/** Logits (or probabilities) of `model` for HWC images, tensors disposed before returning. */
export async function modelScores(
  model: XwbModel,
  pixels: readonly Float32Array[],
  softmax: boolean,
): Promise<Float32Array[]> {
  const x = stackInputs(pixels, model.inputSize, 'scores');
  const out = tf.tidy(() => {
    const { logits, explanation } = model.predict(x);
    explanation.dispose();
    return softmax ? tf.softmax(logits) : logits;
  });
  x.dispose();
  try {
    return splitRows((await out.data()) as Float32Array, pixels.length);
  } finally {
    out.dispose();
  }
}

/** The metrics' view of a model: logits for HWC batches at the model's own input size. */
export function scoreModelOf(model: XwbModel): ScoreModel {
  return {
    outputs: 'logits',
    async predict(batch, width, height, channels) {
      const s = model.inputSize;
      if (width !== s || height !== s || channels !== 3) {
        throw new Error(`the model takes ${s}×${s}×3 images, the metric gave ${width}×${height}×${channels}`);
      }
      return modelScores(model, batch, false);
    },
  };
}

export interface ExplainedMaps {
  /** One S×S map per image. */
  maps: Float32Array[];
  /** Per-image diagnostics of the method (ExplainResult.debug), e.g. LRP's conservation; {} when none. */
  debug: Record<string, number[]>;
}

/** Runs `method` on images already at the model's input: one S×S map per image, with its diagnostics. */
export async function explainPixelsWithDebug(
  model: XwbModel,
  method: ExplainMethod,
  pixels: readonly Float32Array[],
  classes: readonly number[],
  params: Partial<Params>,
  ctx: ExplainContext = {},
): Promise<ExplainedMaps> {
  const x = stackInputs(pixels, model.inputSize, `explain ${method.name}`);
  try {
    const result = await method.explain(model, x, classes, params, ctx);
    return { maps: splitRows(result.maps, pixels.length), debug: result.debug ?? {} };
  } finally {
    x.dispose();
  }
}

/** Runs `method` on images already at the model's input; one S×S map per image. */
export async function explainPixels(
  model: XwbModel,
  method: ExplainMethod,
  pixels: readonly Float32Array[],
  classes: readonly number[],
  params: Partial<Params>,
  ctx: ExplainContext = {},
): Promise<Float32Array[]> {
  return (await explainPixelsWithDebug(model, method, pixels, classes, params, ctx)).maps;
}

/**
 * The checkpoint a run's explanations use: the best of its last phase that has one (as `predict` uses). Cheap
 * (store reads only), so a cache of loaded models can check it is still current.
 */
export function finalCheckpoint(
  store: Store,
  runId: number,
  phase?: PhaseName,
): { checkpoint: Checkpoint; config: TrainConfig } {
  const run = store.runs.get(runId);
  if (run === undefined) throw new Error(`no run ${runId} in ${store.path}`);
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(run.config as unknown as TrainConfigInput);
  } catch (e) {
    throw new Error(`run ${runId}: its stored configuration is not valid: ${(e as Error).message}`);
  }
  const phases = activePhases(config);
  const last = phase === undefined ? phases.length - 1 : phases.indexOf(phase);
  if (last < 0) throw new Error(`run ${runId} has no ${phase} phase (its phases: ${phases.join(', ')})`);
  const checkpoint = handOn(phases, last, store.runs.checkpoints(runId));
  if (checkpoint === null) {
    throw new Error(
      `run ${runId} has no checkpoint to explain with (status ${run.status}); train it to the end of a phase first`,
    );
  }
  return { checkpoint, config };
}

/** Methods that repeat one pass per point, noisy copy or window: they run on a PassPool over the cores. */
export const MANY_PASS_METHODS: ReadonlySet<string> = new Set([
  'integrated_gradients',
  'smoothgrad',
  'squaregrad',
  'vargrad',
  'occlusion',
]);

export interface LoadRunModelOptions {
  /**
   * Replicas (threads, this one included) for the many-pass methods; default one per core on the
   * single-threaded engines (wasm, cpu), 1 on the native ones (which use every core already).
   */
  replicas?: number;
  /** Explain with the best checkpoint of this phase (or the last before it) instead of the run's final one. */
  phase?: PhaseName;
}

/** The engine in use, if it is one whose passes a pool can split (a single-threaded one). */
function splittableEngine(): EngineName | null {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu' ? backend : null;
}

export async function loadRunModel(
  store: Store,
  runId: number,
  options: LoadRunModelOptions = {},
): Promise<RunModel> {
  const { checkpoint, config } = finalCheckpoint(store, runId, options.phase);
  const run = store.runs.get(runId)!;
  const dataset = store.datasets.getById(run.datasetId);
  if (dataset === undefined)
    throw new Error(`run ${runId}: its dataset ${run.datasetId} is no longer in the store`);
  const model = await loadCheckpoint(checkpoint);
  model.explainerUntrained =
    options.phase === undefined ? endsOnWhiteMaps(config) : options.phase === 'classifier';
  if (model.classes !== dataset.classes.length || model.inputSize !== config.model.inputSize) {
    model.dispose();
    throw new Error(
      `run ${runId}: checkpoint ${checkpoint.path} has ${model.classes} classes at ${model.inputSize} px, but the ` +
        `run's dataset has ${dataset.classes.length} classes and its configuration ${config.model.inputSize} px`,
    );
  }
  const size = config.model.inputSize;
  const resize = config.data.resize;
  const root = dataset.sourcePath;
  const cache = new DecodeCache({ maxBytes: DECODE_CACHE_BYTES });
  const variant = { size, resize, kernel: 'linear' as const, padValue: 1 };
  const placement = (image: ImageRecord) => placeImage(image.width, image.height, size, resize);
  let disposed = false;
  // Started at the first many-pass explanation, reused after (a worker start costs about a second).
  let pool: Promise<PassPool | null> | undefined;
  const startPool = (of: XwbModel): Promise<PassPool | null> => {
    const engine = splittableEngine();
    const replicas = options.replicas ?? (engine ? defaultReplicas(engine) : 1);
    if (engine === null || replicas < 2) return Promise.resolve(null);
    return PassPool.create({ model: of, engine, replicas, limit: backwardPassLimit(size) }).catch(
      (err: unknown) => {
        // The same maps come out of this thread alone, only slower: say so once and go on without workers.
        console.warn(
          `xwb: explaining on one thread, the pass workers did not start: ${(err as Error).message}`,
        );
        return null;
      },
    );
  };
  const sharedPool = (): Promise<PassPool | null> => {
    pool ??= startPool(model);
    return pool;
  };
  const passesFor = (name: string): Promise<PassPool | null> =>
    MANY_PASS_METHODS.has(name) ? sharedPool() : Promise.resolve(null);
  const alive = (where: string) => {
    if (disposed) throw new Error(`${where}: the model of run ${runId} was already released`);
  };
  return {
    runId,
    datasetId: run.datasetId,
    classes: [...dataset.classes],
    inputSize: size,
    config,
    model,
    checkpoint,
    placement,
    async inputs(images) {
      if (root === null) {
        throw new Error(
          `dataset "${dataset.name}" has no source folder recorded, so its images cannot be read`,
        );
      }
      return Promise.all(
        images.map(async (image) => {
          if (image.datasetId !== run.datasetId) {
            throw new Error(`image ${image.id} is not in run ${runId}'s dataset "${dataset.name}"`);
          }
          const p = placement(image);
          const pixels = await cache.get(image.sha256, variant, () =>
            decodeImage({
              file: join(root, image.relPath),
              sha256: image.sha256,
              placement: p,
              kernel: 'linear',
              padValue: 1,
            }),
          );
          return { imageId: image.id, pixels, placement: p };
        }),
      );
    },
    async probabilities(pixels) {
      alive('probabilities');
      return modelScores(model, pixels, true);
    },
    method: getMethod,
    async explain(name, pixels, classes, params, ctx) {
      alive(`explain ${name}`);
      const method = getMethod(name);
      const passes = ctx?.passes ?? (await passesFor(name)) ?? undefined;
      return explainPixelsWithDebug(model, method, pixels, classes, params, { ...ctx, passes });
    },
    scoreModel: scoreModelOf(model),
    loadCopy: () => loadCheckpoint(checkpoint),
    passes() {
      alive('passes');
      return sharedPool();
    },
    poolFor: startPool,
    dispose() {
      if (disposed) return;
      disposed = true;
      void pool?.then((p) => p?.close());
      model.dispose();
    },
  };
}

/**
 * Loaded run models for a long-lived process (the web service): at most `capacity` at once, least recently
 * used evicted. A model in use is never disposed under its user: `use` holds a lease, and an evicted model is
 * disposed when its last lease ends. A run whose final checkpoint changed (training went on) is reloaded.
 */
export class RunModelCache {
  private readonly entries = new Map<
    number,
    { key: string; model: Promise<RunModel>; leases: number; evicted: boolean }
  >();

  constructor(
    private readonly store: Store,
    readonly capacity = 2,
    private readonly load: (store: Store, runId: number) => Promise<RunModel> = loadRunModel,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`RunModelCache: capacity must be ≥ 1`);
  }

  async use<T>(runId: number, fn: (model: RunModel) => Promise<T>): Promise<T> {
    const { checkpoint } = finalCheckpoint(this.store, runId);
    const key = `${checkpoint.id}:${checkpoint.path}`;
    let entry = this.entries.get(runId);
    if (entry && entry.key !== key) {
      this.evict(runId);
      entry = undefined;
    }
    if (entry) {
      // Most recently used last (a Map iterates in insertion order).
      this.entries.delete(runId);
      this.entries.set(runId, entry);
    } else {
      entry = { key, model: this.load(this.store, runId), leases: 0, evicted: false };
      this.entries.set(runId, entry);
      const loaded = entry;
      entry.model.catch(() => {
        if (this.entries.get(runId) === loaded) this.entries.delete(runId);
      });
      while (this.entries.size > this.capacity) this.evict(this.entries.keys().next().value as number);
    }
    entry.leases++;
    try {
      return await fn(await entry.model);
    } finally {
      entry.leases--;
      if (entry.evicted && entry.leases === 0) await this.release(entry.model);
    }
  }

  /** Run ids currently loaded (or loading), least recently used first. */
  loaded(): number[] {
    return [...this.entries.keys()];
  }

  /** Disposes every model nobody is using (the rest as their leases end). */
  async clear(): Promise<void> {
    for (const runId of [...this.entries.keys()]) this.evict(runId);
  }

  private evict(runId: number): void {
    const entry = this.entries.get(runId);
    if (!entry) return;
    this.entries.delete(runId);
    entry.evicted = true;
    if (entry.leases === 0) void this.release(entry.model);
  }

  private async release(model: Promise<RunModel>): Promise<void> {
    try {
      (await model).dispose();
    } catch {
      // A model that failed to load has nothing to dispose.
    }
  }
}

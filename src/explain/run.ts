/**
 * The driver shared by every method: parameter merging, class targets, outer batches of bounded size,
 * progress, cancellation and the copy of each batch's maps into one Float32Array. Methods only say how to
 * explain one batch; nothing here knows about any method.
 */
import { defaultMicroBatch } from '../engine/parallel/index.js';
import { tf } from '../engine/tf.js';
import type { XwbModel } from '../models/types.js';
import { checkInt } from './checks.js';
import { LocalPasses } from './passes/local.js';
import type { Passes } from './passes/types.js';
import type {
  ClassTarget,
  ExplainContext,
  ExplainMethod,
  ExplainResult,
  MethodFamily,
  Params,
} from './types.js';

/** What a method's batch function gets: one slice of the images and its classes. */
export interface BatchJob<P extends Params> {
  model: XwbModel;
  /** [n, S, S, C], owned by the driver. */
  x: tf.Tensor4D;
  classes: number[];
  params: P;
  /** Index of the first image of this batch in the whole input (seeds derive from it). */
  offset: number;
  step: Stepper;
  /** Where the repeated passes of many-pass methods run: ctx.passes (e.g. a PassPool), or this thread. */
  passes: Passes;
}

export interface BatchOutput {
  /** [n, S, S] or [n, S, S, 1]; the driver takes ownership and disposes it. */
  map: tf.Tensor;
  debug?: Record<string, number[]>;
}

export interface MethodSpec<P extends Params> {
  name: string;
  family: MethodFamily;
  description: string;
  classSpecific: boolean;
  /** Defaults of the method's own parameters; `batchSize` is added by the driver. */
  defaults: P;
  /** Throws an Error naming the parameter when a value is out of range or of the wrong type. */
  check(p: P, where: string): void;
  /** Work units (see ExplainProgress) to explain `n` images in one batch. */
  cost?(p: P, n: number, model: XwbModel): number;
  run(job: BatchJob<P>): Promise<BatchOutput>;
}

/** Progress and cancellation inside a batch: methods with inner loops call `tick` after each unit of work. */
export class Stepper {
  private done = 0;
  constructor(
    private readonly total: number,
    private readonly ctx: ExplainContext,
    private readonly where: string,
  ) {}

  /** Reports `units` more work done, lets pending events (an abort) run, and throws if cancelled. */
  async tick(units = 1): Promise<void> {
    this.done = Math.min(this.total, this.done + units);
    this.ctx.onProgress?.({ done: this.done, total: this.total });
    await yieldToEventLoop();
    throwIfAborted(this.ctx.signal, this.where);
  }

  /** Jumps to the expected count at the end of a batch (a method may tick less than it estimated). */
  settle(done: number): void {
    if (done > this.done) {
      this.done = Math.min(this.total, done);
      this.ctx.onProgress?.({ done: this.done, total: this.total });
    }
  }

  check(): void {
    throwIfAborted(this.ctx.signal, this.where);
  }

  /** Whether anyone takes coarse maps (methods skip computing them otherwise). */
  get wantsPartial(): boolean {
    return this.ctx.onPartial !== undefined;
  }

  /** Hands a coarse map [1, S, S] (or [S, S]) of image `image` of the whole input to ctx.onPartial; keeps `map`. */
  async partial(image: number, map: tf.Tensor, note: string): Promise<void> {
    if (!this.ctx.onPartial) return;
    const values = (await map.data()) as Float32Array;
    this.ctx.onPartial({ image, map: Float32Array.from(values), note });
  }
}

const DEFAULT_BATCH_SIZE = 8;

/** Families whose methods take gradients (a backward pass holds every activation of its images). */
const BACKWARD_FAMILIES: ReadonlySet<MethodFamily> = new Set([
  'gradient',
  'modified-backprop',
  'class-activation',
  'relevance',
]);

/**
 * Most images one backward pass may hold on the engine in use at this input size (Infinity: no known bound).
 * wasm's heap ends at 4 GB and aborts the process past it; a 224 px pass needs ~640 MB per image.
 */
export function backwardPassLimit(inputSize: number): number {
  return tf.getBackend() === 'wasm' ? defaultMicroBatch('wasm', inputSize) : Number.POSITIVE_INFINITY;
}

/**
 * Caps the sizes that set how many images go through one backward pass: the outer batch and a method's
 * `internalBatch` (IG's interpolation points, SmoothGrad's noisy copies). Given values are capped too: a
 * process killed by the heap is worse than a smaller batch, and the params recorded with the result say what ran.
 */
export function boundPasses<P extends Params>(params: P & { batchSize: number }, limit: number): void {
  if (!Number.isFinite(limit)) return;
  const bounded = params as Params;
  for (const key of ['batchSize', 'internalBatch']) {
    const v = bounded[key];
    if (typeof v === 'number' && v > limit) bounded[key] = limit;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Cancellation always surfaces as a DOMException named AbortError, whatever reason the caller aborted with. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (!signal?.aborted) return;
  const err = new DOMException(`${where}: cancelled`, 'AbortError');
  Object.defineProperty(err, 'cause', { value: signal.reason });
  throw err;
}

export function resolveClasses(target: ClassTarget, n: number, classes: number, where: string): number[] {
  const list = typeof target === 'number' ? new Array<number>(n).fill(target) : [...target];
  if (list.length !== n) {
    throw new Error(
      `${where}: ${list.length} class indices for ${n} images; give one per image or a single one`,
    );
  }
  for (const c of list) {
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new Error(`${where}: class index ${c} is not an integer in [0, ${classes - 1}]`);
    }
  }
  return list;
}

function mergeParams<P extends Params>(
  defaults: P,
  given: Partial<Params> | undefined,
  where: string,
): P & { batchSize: number } {
  const merged: Params = { batchSize: DEFAULT_BATCH_SIZE, ...defaults };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!(key in merged)) {
      throw new Error(
        `${where}: unknown parameter '${key}'; known parameters: ${Object.keys(merged).join(', ')}`,
      );
    }
    if (value !== undefined) merged[key] = value;
  }
  return merged as P & { batchSize: number };
}

function checkInput(model: XwbModel, x: tf.Tensor4D, where: string): void {
  const { inputSize: s, channels } = model.spec.options;
  if (
    !(x instanceof tf.Tensor) ||
    x.rank !== 4 ||
    x.shape[1] !== s ||
    x.shape[2] !== s ||
    x.shape[3] !== channels
  ) {
    const got = x instanceof tf.Tensor ? `[${x.shape.join(', ')}]` : typeof x;
    throw new Error(`${where}: expected images [N, ${s}, ${s}, ${channels}] for this model, got ${got}`);
  }
  if (x.shape[0] === 0) throw new Error(`${where}: no images to explain`);
}

/** Turns a method spec into a registered method: validation, batching, progress, cancellation, copying. */
export function defineMethod<P extends Params>(spec: MethodSpec<P>): ExplainMethod {
  const cost = spec.cost ?? (() => 1);
  return {
    name: spec.name,
    family: spec.family,
    description: spec.description,
    classSpecific: spec.classSpecific,
    defaults: Object.freeze({ batchSize: DEFAULT_BATCH_SIZE, ...spec.defaults }),
    async explain(model, x, target, given, ctx = {}) {
      const where = `explain ${spec.name}`;
      const params = mergeParams(spec.defaults, given, where);
      checkInt(params.batchSize, 'batchSize', where, 1);
      spec.check(params, where);
      checkInput(model, x, where);
      if (BACKWARD_FAMILIES.has(spec.family)) boundPasses(params, backwardPassLimit(model.inputSize));
      if (ctx.passes && ctx.passes.model !== model) {
        throw new Error(`${where}: the passes given in the context were made for another model`);
      }
      const n = x.shape[0];
      const s = model.inputSize;
      const classes = resolveClasses(target, n, model.classes, where);
      const batches: [number, number][] = [];
      for (let start = 0; start < n; start += params.batchSize) {
        batches.push([start, Math.min(n, start + params.batchSize)]);
      }
      const units = batches.map(([a, b]) => Math.max(1, cost(params, b - a, model)));
      const total = units.reduce((a, b) => a + b, 0);
      const step = new Stepper(total, ctx, where);
      step.check();
      const maps = new Float32Array(n * s * s);
      const debug: Record<string, number[]> = {};
      let expected = 0;
      const local = ctx.passes ? null : new LocalPasses(model, backwardPassLimit(model.inputSize));
      const passes = ctx.passes ?? (local as LocalPasses);
      try {
        for (let k = 0; k < batches.length; k++) {
          const [a, b] = batches[k];
          const xb = tf.slice(x, [a, 0, 0, 0], [b - a, s, s, x.shape[3]]);
          let out: BatchOutput;
          try {
            out = await spec.run({
              model,
              x: xb,
              classes: classes.slice(a, b),
              params,
              offset: a,
              step,
              passes,
            });
          } finally {
            xb.dispose();
          }
          try {
            const size = (b - a) * s * s;
            if (out.map.size !== size || out.map.shape[1] !== s || out.map.shape[2] !== s) {
              throw new Error(
                `internal: ${spec.name} returned maps [${out.map.shape.join(', ')}], expected [${b - a}, ${s}, ${s}]`,
              );
            }
            maps.set(await out.map.data(), a * s * s);
          } finally {
            out.map.dispose();
          }
          for (const [key, values] of Object.entries(out.debug ?? {})) {
            debug[key] = (debug[key] ?? []).concat(values);
          }
          expected += units[k];
          step.settle(expected);
          step.check();
        }
      } finally {
        local?.dispose();
      }
      const result: ExplainResult = { maps, shape: [n, s, s], params: { ...params } };
      if (Object.keys(debug).length > 0) result.debug = debug;
      return result;
    },
  };
}

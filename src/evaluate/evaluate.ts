/**
 * `xwb eval` without the terminal: explain a run's images with each method (from the cache when present), run
 * each metric on every map with the explained class's ground truth, store every value with its parameters next
 * to its explanation, and summarise method × metric (mean, 95 % CI, NaN count).
 *
 * Everything is measured at the model's input resolution S×S: the maps as the methods produce them, the images
 * as the model sees them, the boxes carried into the input by the image's placement (groundtruth.ts).
 *
 * How the work is shared (the numbers are those of measuring each image and method alone, test/evaluate/
 * reference.ts; the order of the work is what changes):
 * - Images go in chunks of `batchSize`; per chunk every method's maps come first (getOrCompute), then each
 *   metric runs on every method × image of the chunk at once, so their model calls pool into large batches
 *   over the cores and a perturbed copy met twice is scored once (scorer.ts).
 * - The class-comparing metrics (random-logit, diffusion) ask for other classes' maps; each (image, class) is
 *   explained once per method and chunk, whichever metric asks.
 * - Model-parameter randomisation: the cascade is shuffled once for the whole evaluation (cascade.ts); each
 *   chunk walks its stages on the one copy, every method explaining the chunk at each stage.
 */
import type { Box } from '../data/types.js';
import { tf } from '../engine/tf.js';
import type { PassPool } from '../explain/passes/pool.js';
import { explainPixels, MANY_PASS_METHODS, modelScores, type RunModel } from '../explain/run-model.js';
import { type CacheResult, type ClassChoice, getOrCompute, type MapEncoding } from '../explain/store.js';
import type { Params as MethodParams } from '../explain/types.js';
import {
  type ExplainFn,
  type MetricDefinition,
  type MetricInput,
  type Params as MetricParams,
  type ScalarMap,
  type Summary,
  summarise,
} from '../metrics/index.js';
import type { ImageRecord, JsonObject, Store } from '../store/index.js';
import { mapLimit } from '../util/pool.js';
import { RandomisationCascade, StageChannel } from './cascade.js';
import { classBoxes, groundTruth } from './groundtruth.js';
import { BatchingScorer, type ScorerStats, scoreBatchSize } from './scorer.js';

export interface EvaluateOptions {
  /** Method names (see select.ts). */
  methods: readonly string[];
  metrics: readonly MetricDefinition[];
  imageIds: readonly number[];
  /** Which class to explain and measure; default 'target' (ground-truth boxes belong to the true class). */
  classChoice?: ClassChoice;
  /** Per-method parameter overrides. */
  methodParams?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Per-metric parameter overrides. */
  metricParams?: Readonly<Record<string, Readonly<MetricParams>>>;
  /** Images per chunk (explanations, randomisation stages). Default 8. */
  batchSize?: number;
  encoding?: MapEncoding;
  /** Seed of the model-parameter randomisation's weight shuffles. Default 0. */
  randomisationSeed?: number;
  signal?: AbortSignal;
  onProgress?: (p: EvaluateProgress) => void;
}

export interface EvaluateProgress {
  /** What is running now: explaining, a metric (its name), or the randomisation stages. */
  phase: 'explain' | 'measure' | 'randomise';
  /** The method being explained (explain), or the first of the chunk's methods. */
  method: string;
  /** The metric running (measure), when one is. */
  metric?: string;
  /** Images completely measured so far (every method and metric) and in total. */
  done: number;
  total: number;
  /**
   * Finer progress for an ETA: work units done and in all (per chunk, one unit per method explained, per
   * metric run on it and per randomisation stage), so the rate is known well before the first chunk ends.
   */
  units: number;
  unitsTotal: number;
}

export interface EvaluateRow extends Summary {
  method: string;
  metric: string;
  higherIsBetter: boolean;
  /** The metric's parameters as used (defaults filled in). */
  params: MetricParams;
}

export interface MethodRun {
  method: string;
  params: MethodParams;
  computed: number;
  cached: number;
}

/** Wall seconds spent per part of the evaluation, summed over chunks. */
export interface EvaluateTimings {
  /** Explaining each method's maps (cache reads included). */
  explain: Record<string, number>;
  /** Each metric over every method and image (the randomisation's stage maps included in its metric). */
  metrics: Record<string, number>;
  /** Model calls of the metrics: images asked for, images the model scored (the rest were known), calls. */
  scores: ScorerStats;
}

export interface EvaluateResult {
  runId: number;
  images: number;
  classChoice: ClassChoice;
  methods: MethodRun[];
  metrics: string[];
  rows: EvaluateRow[];
  /** Values measured and stored (images × methods × metrics). */
  values: number;
  /** The per-image values behind each row, keyed `${method}\u0000${metric}`, in image order. */
  perImage: Map<string, number[]>;
  timings: EvaluateTimings;
}

export const rowKey = (method: string, metric: string) => `${method}\u0000${metric}`;

function imageRecords(store: Store, ids: readonly number[]): ImageRecord[] {
  return ids.map((id) => {
    const im = store.images.get(id);
    if (im === undefined) throw new Error(`no image ${id} in ${store.path}`);
    return im;
  });
}

/**
 * The explanation function the class-comparing metrics call, one image at a time (as the method's seeded
 * noise is drawn per position in the batch, batching these would change SmoothGrad's and the random
 * control's maps); each (image, class) is explained once, whichever metric asks.
 */
function explainFnOf(run: RunModel, method: string, params: MethodParams): ExplainFn {
  const s = run.inputSize;
  const memo = new WeakMap<Float32Array, Map<number, Promise<ScalarMap>>>();
  return (image, classIndex, signal) => {
    let byClass = memo.get(image.data);
    if (!byClass) {
      byClass = new Map();
      memo.set(image.data, byClass);
    }
    let map = byClass.get(classIndex);
    if (!map) {
      map = run
        .explain(method, [image.data], [classIndex], { ...params, batchSize: 1 }, { signal })
        .then(({ maps: [data] }) => ({ data, width: s, height: s }));
      const mine = map;
      map.catch(() => {
        if (byClass.get(classIndex) === mine) byClass.delete(classIndex);
      });
      byClass.set(classIndex, map);
    }
    return map;
  };
}

/** One method's maps of the chunk and what its metrics get besides the map. */
interface MethodChunk {
  method: string;
  cache: CacheResult;
  explain: ExplainFn;
}

interface ImageContext {
  pixels: Float32Array;
  boxes: Box[];
  mask: MetricInput['mask'];
}

interface Measured {
  value: number;
  params: MetricParams;
}

/** Tasks in flight per metric: enough to fill a pooled model call, few enough to bound the copies held. */
const CONCURRENCY = 16;

const yieldTurn = () => new Promise((resolve) => setImmediate(resolve));

export async function evaluateRun(
  store: Store,
  run: RunModel,
  opts: EvaluateOptions,
): Promise<EvaluateResult> {
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error('evaluateRun: batchSize must be an integer ≥ 1');
  if (opts.methods.length === 0) throw new Error('evaluateRun: no explanation method to evaluate');
  if (opts.metrics.length === 0) throw new Error('evaluateRun: no metric to run');
  if (opts.imageIds.length === 0) throw new Error('evaluateRun: no image to evaluate');
  for (const name of Object.keys(opts.metricParams ?? {})) {
    if (!opts.metrics.some((m) => m.name === name)) {
      throw new Error(`parameters given for metric "${name}", which is not among the selected metrics`);
    }
  }
  const classChoice = opts.classChoice ?? 'target';
  const signal = opts.signal;
  const images = imageRecords(store, opts.imageIds);
  const size = run.inputSize;
  const cascaded = opts.metrics.filter((m) => m.requires.includes('randomised'));
  // The stages go through one channel per map, which one metric consumes.
  if (cascaded.length > 1) throw new Error('internal: more than one metric takes the randomised stages');
  const direct = opts.metrics.filter((m) => !m.requires.includes('randomised'));
  const perImage = new Map<string, number[]>();
  for (const method of opts.methods) for (const m of opts.metrics) perImage.set(rowKey(method, m.name), []);
  const paramsOf = new Map<string, MetricParams>();
  const methodRuns = new Map<string, MethodRun>();
  const timings: EvaluateTimings = {
    explain: {},
    metrics: {},
    scores: { requested: 0, computed: 0, calls: 0 },
  };
  const time = (bucket: Record<string, number>, key: string, since: number) => {
    bucket[key] = (bucket[key] ?? 0) + (performance.now() - since) / 1000;
  };
  let values = 0;

  const pool = await run.passes();
  const scorer = new BatchingScorer(
    size,
    async (pixels) => {
      if (!pool) return modelScores(run.model, pixels, false);
      const x = tf.tensor4d(concatPixels(pixels), [pixels.length, size, size, 3]);
      try {
        const logits = await pool.logits(x);
        try {
          return splitRows((await logits.data()) as Float32Array, pixels.length);
        } finally {
          logits.dispose();
        }
      } finally {
        x.dispose();
      }
    },
    scoreBatchSize(size, pool?.replicas ?? 1),
  );

  let cascade: RandomisationCascade | null = null;
  let copyPool: PassPool | null = null;
  const chunks = Math.ceil(images.length / batchSize);
  let units = 0;
  let unitsTotal = 0;
  const report = (phase: EvaluateProgress['phase'], method: string, done: number, metric?: string) =>
    opts.onProgress?.({ phase, method, metric, done, total: images.length, units, unitsTotal });

  try {
    if (cascaded.length > 0) {
      const copy = await run.loadCopy();
      try {
        cascade = RandomisationCascade.create(copy, opts.randomisationSeed ?? 0);
      } catch (e) {
        copy.dispose();
        throw e;
      }
      copyPool = await run.poolFor(copy);
    }
    const perChunk = opts.methods.length + direct.length + (cascade?.stages.length ?? 0);
    unitsTotal = chunks * perChunk;

    for (let start = 0; start < images.length; start += batchSize) {
      const records = images.slice(start, start + batchSize);
      const ids = opts.imageIds.slice(start, start + batchSize);
      // 1. Every method's maps of the chunk.
      const methods: MethodChunk[] = [];
      for (const method of opts.methods) {
        signal?.throwIfAborted();
        report('explain', method, start);
        const t = performance.now();
        const given = opts.methodParams?.[method] ?? {};
        const cache = await getOrCompute(store, run, ids, method, given, classChoice, {
          batchSize,
          encoding: opts.encoding,
          signal,
        });
        time(timings.explain, method, t);
        const seen = methodRuns.get(method);
        if (seen) {
          seen.computed += cache.computed;
          seen.cached += cache.cached;
        } else {
          methodRuns.set(method, {
            method,
            params: cache.params,
            computed: cache.computed,
            cached: cache.cached,
          });
        }
        methods.push({ method, cache, explain: explainFnOf(run, method, cache.params) });
        units++;
      }
      const inputs = await run.inputs(records);
      const contexts: ImageContext[] = methods[0].cache.items.map((item, k) => {
        const gt = groundTruth(classBoxes(store, records[k], run.classes[item.classIndex]), item.placement);
        return { pixels: inputs[k].pixels, boxes: gt.boxes, mask: gt.mask };
      });
      const tasks = methods.flatMap((mc, mi) => mc.cache.items.map((_, k) => ({ mi, k })));
      const where = (mi: number, k: number) => {
        const item = methods[mi].cache.items[k];
        return `run ${run.runId}, ${methods[mi].method}, image ${item.imageId} (class ${item.classIndex})`;
      };
      const inputOf = (mi: number, k: number): MetricInput => {
        const item = methods[mi].cache.items[k];
        const ctx = contexts[k];
        return {
          map: { data: item.map, width: size, height: size },
          mask: ctx.mask,
          boxes: ctx.boxes,
          image: { data: ctx.pixels, width: size, height: size, channels: 3 },
          target: item.classIndex,
          model: scorer,
          explain: methods[mi].explain,
          numClasses: run.classes.length,
        };
      };
      const runMetric = async (m: MetricDefinition, mi: number, k: number, input: MetricInput) => {
        try {
          const r = await m.run(input, opts.metricParams?.[m.name], { signal });
          return { value: r.value, params: r.params } satisfies Measured;
        } catch (e) {
          if ((e as Error)?.name === 'AbortError' || signal?.aborted) throw e;
          throw new Error(`${where(mi, k)}, metric ${m.name}: ${(e as Error).message}`);
        }
      };
      const measured = new Map<string, Measured[][]>();

      // 2. Each metric on every method × image of the chunk, concurrently.
      for (const m of direct) {
        signal?.throwIfAborted();
        report('measure', opts.methods[0], start, m.name);
        const t = performance.now();
        const out = methods.map((mc) => mc.cache.items.map(() => undefined as unknown as Measured));
        await mapLimit(tasks, CONCURRENCY, async ({ mi, k }) => {
          signal?.throwIfAborted();
          out[mi][k] = await runMetric(m, mi, k, inputOf(mi, k));
          // Metrics run synchronous loops; give a server's other requests a turn between them.
          await yieldTurn();
        });
        measured.set(m.name, out);
        time(timings.metrics, m.name, t);
        units++;
      }

      // 3. The randomisation cascade: at each stage every method explains the chunk; the waiting metrics
      // compare stage by stage.
      if (cascade) {
        const t = performance.now();
        const channels = methods.map((mc) => mc.cache.items.map(() => new StageChannel()));
        const running = cascaded.map((m) => {
          const out = methods.map((mc) => mc.cache.items.map(() => undefined as unknown as Measured));
          const all = Promise.all(
            tasks.map(async ({ mi, k }) => {
              out[mi][k] = await runMetric(m, mi, k, {
                ...inputOf(mi, k),
                randomised: () => channels[mi][k],
              });
            }),
          );
          return { m, out, all };
        });
        try {
          cascade.reset();
          if (copyPool) await copyPool.refresh();
          for (let stage = 0; stage < cascade.stages.length; stage++) {
            signal?.throwIfAborted();
            report('randomise', opts.methods[0], start, cascaded[0].name);
            cascade.advance(stage);
            if (copyPool) await copyPool.refresh();
            for (const [mi, mc] of methods.entries()) {
              const items = mc.cache.items;
              const maps = await explainPixels(
                cascade.model,
                run.method(mc.method),
                contexts.map((c) => c.pixels),
                items.map((i) => i.classIndex),
                { ...mc.cache.params, batchSize },
                { signal, passes: copyPool && MANY_PASS_METHODS.has(mc.method) ? copyPool : undefined },
              );
              for (const [k, data] of maps.entries()) {
                channels[mi][k].push({
                  layer: cascade.stages[stage],
                  map: { data, width: size, height: size },
                });
              }
            }
            units++;
            report('randomise', opts.methods[0], start, cascaded[0].name);
          }
          for (const row of channels) for (const c of row) c.end();
        } catch (e) {
          for (const row of channels) for (const c of row) c.fail(e as Error);
          await Promise.allSettled(running.map((r) => r.all));
          throw e;
        }
        for (const r of running) {
          await r.all;
          measured.set(r.m.name, r.out);
        }
        time(timings.metrics, cascaded[0].name, t);
      }

      // 4. Store and collect in the metrics' order, per explanation.
      for (const [mi, mc] of methods.entries()) {
        for (const [k, item] of mc.cache.items.entries()) {
          const rows = opts.metrics.map((m) => ({ metric: m.name, ...measured.get(m.name)![mi][k] }));
          store.explanations.putMetrics(
            item.explanationId,
            rows.map((r) => ({ metric: r.metric, params: r.params as JsonObject, value: r.value })),
          );
          for (const r of rows) {
            perImage.get(rowKey(mc.method, r.metric))!.push(r.value);
            paramsOf.set(r.metric, r.params);
            values++;
          }
        }
      }
      scorer.clear();
      report('measure', opts.methods[opts.methods.length - 1], start + records.length);
    }
  } finally {
    await copyPool?.close();
    if (cascade) {
      cascade.dispose();
      cascade.model.dispose();
    }
  }
  timings.scores = { ...scorer.stats };

  const rows: EvaluateRow[] = [];
  for (const method of opts.methods) {
    for (const m of opts.metrics) {
      rows.push({
        method,
        metric: m.name,
        higherIsBetter: m.higherIsBetter,
        params: paramsOf.get(m.name) ?? { ...m.defaults },
        ...summarise(perImage.get(rowKey(method, m.name)) ?? []),
      });
    }
  }
  return {
    runId: run.runId,
    images: images.length,
    classChoice,
    methods: opts.methods.map((m) => methodRuns.get(m)!),
    metrics: opts.metrics.map((m) => m.name),
    rows,
    values,
    perImage,
    timings,
  };
}

function concatPixels(pixels: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(pixels.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of pixels) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function splitRows(flat: Float32Array, rows: number): Float32Array[] {
  const width = flat.length / rows;
  return Array.from({ length: rows }, (_, i) => flat.slice(i * width, (i + 1) * width));
}

/**
 * `xwb eval` without the terminal: explain a run's images with each method (from the cache when present), run
 * each metric on every map with the explained class's ground truth, store every value with its parameters next
 * to its explanation, and summarise method × metric (mean, 95 % CI, NaN count).
 *
 * Everything is measured at the model's input resolution S×S: the maps as the methods produce them, the images
 * as the model sees them, the boxes carried into the input by the image's placement (groundtruth.ts).
 * Images are processed in chunks of `batchSize` so memory stays bounded whatever the split's size.
 */
import type { Box } from '../../src/data/types.js';
import { classBoxes, groundTruth } from '../../src/evaluate/groundtruth.js';
import { randomisationStages } from '../../src/evaluate/randomise.js';
import type { RunModel } from '../../src/explain/run-model.js';
import { explainPixels } from '../../src/explain/run-model.js';
import {
  type CacheResult,
  type ClassChoice,
  getOrCompute,
  type MapEncoding,
} from '../../src/explain/store.js';
import type { Params as MethodParams } from '../../src/explain/types.js';
import {
  type ExplainFn,
  type MetricDefinition,
  type MetricInput,
  type Params as MetricParams,
  type RandomisationStage,
  type Summary,
  summarise,
} from '../../src/metrics/index.js';
import type { ImageRecord, JsonObject, Store } from '../../src/store/index.js';

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
  phase: 'explain' | 'measure';
  method: string;
  done: number;
  total: number;
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
}

export const rowKey = (method: string, metric: string) => `${method}\u0000${metric}`;

function imageRecords(store: Store, ids: readonly number[]): ImageRecord[] {
  return ids.map((id) => {
    const im = store.images.get(id);
    if (im === undefined) throw new Error(`no image ${id} in ${store.path}`);
    return im;
  });
}

/** The explanation function the class-comparing metrics call (random-logit, diffusion), on one image. */
function explainFnOf(run: RunModel, method: string, params: MethodParams): ExplainFn {
  const s = run.inputSize;
  return async (image, classIndex, signal) => {
    const [data] = await explainPixels(
      run.model,
      run.method(method),
      [image.data],
      [classIndex],
      {
        ...params,
        batchSize: 1,
      },
      { signal },
    );
    return { data, width: s, height: s };
  };
}

/** What one image's metrics get, besides the map. */
interface ImageContext {
  pixels: Float32Array;
  boxes: Box[];
  mask: MetricInput['mask'];
  stages?: RandomisationStage[];
}

async function measureImage(
  metrics: readonly MetricDefinition[],
  base: Omit<MetricInput, 'map'>,
  map: Float32Array,
  size: number,
  overrides: EvaluateOptions['metricParams'],
  signal: AbortSignal | undefined,
  where: string,
): Promise<{ metric: string; value: number; params: MetricParams }[]> {
  const out: { metric: string; value: number; params: MetricParams }[] = [];
  for (const m of metrics) {
    signal?.throwIfAborted();
    try {
      const r = await m.run({ ...base, map: { data: map, width: size, height: size } }, overrides?.[m.name], {
        signal,
      });
      out.push({ metric: m.name, value: r.value, params: r.params });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError' || signal?.aborted) throw e;
      throw new Error(`${where}, metric ${m.name}: ${(e as Error).message}`);
    }
  }
  return out;
}

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
  const images = imageRecords(store, opts.imageIds);
  const size = run.inputSize;
  const needsRandomised = opts.metrics.some((m) => m.requires.includes('randomised'));
  const perImage = new Map<string, number[]>();
  const paramsOf = new Map<string, MetricParams>();
  const methodRuns: MethodRun[] = [];
  let values = 0;

  for (const method of opts.methods) {
    const given = opts.methodParams?.[method] ?? {};
    const report = (phase: EvaluateProgress['phase'], done: number, total: number) =>
      opts.onProgress?.({ phase, method, done, total });
    const cache: CacheResult = await getOrCompute(store, run, opts.imageIds, method, given, classChoice, {
      batchSize,
      encoding: opts.encoding,
      signal: opts.signal,
      onProgress: (p) => report('explain', p.done, p.total),
    });
    methodRuns.push({ method, params: cache.params, computed: cache.computed, cached: cache.cached });
    const explain = explainFnOf(run, method, cache.params);
    for (const m of opts.metrics) perImage.set(rowKey(method, m.name), []);

    for (let start = 0; start < images.length; start += batchSize) {
      const chunk = cache.items.slice(start, start + batchSize);
      const inputs = await run.inputs(images.slice(start, start + batchSize));
      const contexts: ImageContext[] = chunk.map((item, k) => {
        const gt = groundTruth(
          classBoxes(store, images[start + k], run.classes[item.classIndex]),
          item.placement,
        );
        return { pixels: inputs[k].pixels, boxes: gt.boxes, mask: gt.mask };
      });
      if (needsRandomised) {
        const copy = await run.loadCopy();
        try {
          const stages = await randomisationStages(
            copy,
            run.method(method),
            inputs.map((x) => x.pixels),
            chunk.map((item) => item.classIndex),
            { ...cache.params, batchSize },
            opts.randomisationSeed ?? 0,
            opts.signal,
          );
          stages.forEach((s, k) => {
            contexts[k].stages = s;
          });
        } finally {
          copy.dispose();
        }
      }
      for (const [k, item] of chunk.entries()) {
        const ctx = contexts[k];
        const stages = ctx.stages;
        const base: Omit<MetricInput, 'map'> = {
          mask: ctx.mask,
          boxes: ctx.boxes,
          image: { data: ctx.pixels, width: size, height: size, channels: 3 },
          target: item.classIndex,
          model: run.scoreModel,
          explain,
          numClasses: run.classes.length,
          ...(stages
            ? {
                randomised: async function* () {
                  yield* stages;
                },
              }
            : {}),
        };
        const where = `run ${run.runId}, ${method}, image ${item.imageId} (class ${item.classIndex})`;
        const results = await measureImage(
          opts.metrics,
          base,
          item.map,
          size,
          opts.metricParams,
          opts.signal,
          where,
        );
        store.explanations.putMetrics(
          item.explanationId,
          results.map((r) => ({ metric: r.metric, params: r.params as JsonObject, value: r.value })),
        );
        for (const r of results) {
          perImage.get(rowKey(method, r.metric))!.push(r.value);
          paramsOf.set(r.metric, r.params);
          values++;
        }
        report('measure', start + k + 1, images.length);
        // Metrics run synchronous loops; give a server's other requests a turn between images.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

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
    methods: methodRuns,
    metrics: opts.metrics.map((m) => m.name),
    rows,
    values,
    perImage,
  };
}

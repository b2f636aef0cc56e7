/**
 * The handlers that need the engine (prediction, explanations) and the ones built on explanations (the metrics
 * table). Kept apart from service.ts, and their modules imported on first use, so that listing datasets never
 * loads TensorFlow: the engine starts once, on the first request that needs it (or `app.info`, which reports it).
 *
 * Loaded models are cached per run (the two most recently used; an evicted model is disposed once no request
 * uses it). Explanations go through the store's cache (explain/store.ts); a map computed for the viewer is
 * the same row `xwb eval` later measures.
 */
import type { EngineInfo } from '../engine/types.js';
import type { RunModelCache } from '../explain/run-model.js';
import type { ImageRecord } from '../store/index.js';
import { ApiError, type AppInfo, type ExplanationView } from './contract.js';
import type { XwbService } from './service.js';

export interface CoreHandlerOptions {
  /** Loaded run models kept at once (default 2). */
  models?: number;
}

/** What registerCoreHandlers leaves for its owner: release the models (on shutdown, in tests). */
export interface CoreHandlers {
  dispose(): Promise<void>;
  /** Runs with a loaded model, least recently used first. */
  loadedRuns(): number[];
}

function finiteRange(data: Float32Array): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/** Core errors are written for people; those about the request itself become 400/404 for the renderer. */
function requestError(e: unknown, field?: string): never {
  if (e instanceof ApiError) throw e;
  const message = (e as Error)?.message ?? String(e);
  if (/^no (run|image) \d+/.test(message)) throw new ApiError(message, 404);
  if (
    /unknown (explanation method|parameter)|not a class of run|must be|is not an integer|belongs to dataset|is not in run/.test(
      message,
    )
  ) {
    throw new ApiError(message, 400, /unknown explanation method/.test(message) ? 'method' : field);
  }
  if (/has no checkpoint/.test(message)) throw new ApiError(message, 409);
  throw e;
}

export async function registerCoreHandlers(
  service: XwbService,
  options: CoreHandlerOptions = {},
): Promise<CoreHandlers> {
  const store = service.store;
  let engine: Promise<EngineInfo> | undefined;
  let models: RunModelCache | undefined;

  const ensureEngine = (): Promise<EngineInfo> => {
    engine ??= import('../engine/select.js')
      .then((m) => m.initEngine())
      .catch((e: unknown) => {
        engine = undefined;
        throw e;
      });
    return engine;
  };
  const withModel = async <T>(
    runId: number,
    fn: (m: import('../explain/run-model.js').RunModel) => Promise<T>,
  ) => {
    if (!store.runs.get(runId)) throw new ApiError(`no run ${runId}`, 404);
    await ensureEngine();
    if (!models) {
      const { RunModelCache } = await import('../explain/run-model.js');
      models ??= new RunModelCache(store, options.models ?? 2);
    }
    try {
      return await models.use(runId, fn);
    } catch (e) {
      return requestError(e);
    }
  };
  const imageOf = (imageId: number): ImageRecord => {
    const image = store.images.get(imageId);
    if (!image) throw new ApiError(`no image ${imageId}`, 404);
    return image;
  };

  service.register('app.info', async (_req, { caller }) => {
    const baseInfo: AppInfo = service.appInfo(caller);
    // A rater's page needs no engine, and is not told which one runs.
    if (caller.role === 'rater' || caller.role === 'reviewer') return baseInfo;
    try {
      const e = await ensureEngine();
      return { ...baseInfo, engine: { name: e.name, backend: e.backend, device: e.device } };
    } catch {
      // The workbench still browses data without an engine; training and explaining will report why.
      return { ...baseInfo, engine: null };
    }
  });

  service.register('explain.methods', async () => {
    const { listMethods } = await import('../explain/registry.js');
    return listMethods().map((m) => ({ name: m.name, family: m.family }));
  });

  service.register('predict', async (req) => {
    const image = imageOf(req.imageId);
    return withModel(req.runId, async (rm) => {
      const [input] = await rm.inputs([image]);
      const [probs] = await rm.probabilities([input.pixels]);
      const { argmax } = await import('../explain/store.js');
      const { predictionRows } = await import('../explain/predictions.js');
      const classIndex = argmax(probs);
      // The viewer's prediction is kept like a batch job's: the gallery's filters see this image at once.
      store.predictions.putMany(predictionRows(rm, [image], [probs]));
      return {
        probs: Array.from(probs),
        classIndex,
        className: rm.classes[classIndex] ?? String(classIndex),
        classes: [...rm.classes],
      };
    });
  });

  service.register('explain', async (req) => {
    imageOf(req.imageId);
    const { getOrCompute, explanationAtImage, mapToImageResolution, f32leBytes, CONSERVATION } = await import(
      '../explain/store.js'
    );
    return withModel(req.runId, async (rm): Promise<ExplanationView> => {
      let result: Awaited<ReturnType<typeof getOrCompute>>;
      try {
        result = await getOrCompute(
          store,
          rm,
          [req.imageId],
          req.method,
          req.params,
          req.classIndex ?? 'predicted',
          {
            batchSize: 1,
            // The many-pass methods' first, coarse map goes to the viewer at once (the answer is the exact one).
            onPartial: (p) => {
              const data = mapToImageResolution(p.map, p.placement);
              service.emit({
                type: 'explain.partial',
                runId: req.runId,
                imageId: p.imageId,
                method: req.method,
                classIndex: p.classIndex,
                width: p.placement.srcWidth,
                height: p.placement.srcHeight,
                ...finiteRange(data),
                data: f32leBytes(data).toString('base64'),
                note: p.note,
              });
            },
          },
        );
      } catch (e) {
        return requestError(e, 'params');
      }
      const [item] = result.items;
      const row = store.explanations.getById(item.explanationId);
      if (!row) throw new ApiError(`explanation ${item.explanationId} vanished while it was being read`, 500);
      const atImage = explanationAtImage(store, row);
      const view: ExplanationView = {
        method: req.method,
        classIndex: item.classIndex,
        width: atImage.width,
        height: atImage.height,
        ...finiteRange(atImage.data),
        url: service.explanationUrl(item.explanationId),
        cached: item.cached,
      };
      if (item.conservation !== undefined) view.conservation = item.conservation;
      // Conservation is a property of the map, stored among its metric rows; the view has its own field for it.
      const measured = store.explanations
        .metrics(item.explanationId)
        .filter((m) => m.metric !== CONSERVATION);
      if (measured.length > 0) {
        const hashes = new Map<string, Set<string>>();
        for (const m of measured) hashes.set(m.metric, (hashes.get(m.metric) ?? new Set()).add(m.paramsHash));
        view.metrics = Object.fromEntries(
          measured.map((m) => [
            (hashes.get(m.metric)?.size ?? 0) > 1 ? `${m.metric}[${m.paramsHash.slice(0, 6)}]` : m.metric,
            Number.isFinite(m.value) ? m.value : null,
          ]),
        );
      }
      return view;
    });
  });

  service.register('metrics.table', async (req) => {
    if (!store.runs.get(req.runId)) throw new ApiError(`no run ${req.runId}`, 404);
    const { metricsTable } = await import('../evaluate/table.js');
    return metricsTable(store, req.runId);
  });

  // Shutting the transport down releases the loaded models (their tensors live outside the JS heap).
  service.onClose(() => models?.clear());

  return {
    async dispose() {
      await models?.clear();
    },
    loadedRuns: () => models?.loaded() ?? [],
  };
}

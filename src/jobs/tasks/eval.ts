/**
 * Evaluation of a run as a job (`xwb eval`): explain (from the cache when present), run the metrics, store every
 * value; the result is the method × metric table. Progress counts images over (explain, measure) × methods.
 */
import type { EvalJobParams } from '../../api/contract.js';
import { initEngine } from '../../engine/select.js';
import { evaluateRun, resolveMethods, resolveMetrics, toJson } from '../../evaluate/index.js';
import { storePredictions } from '../../explain/predictions.js';
import { loadRunModel } from '../../explain/run-model.js';
import type { Json } from '../../store/index.js';
import { listSplit } from '../../training/data/load.js';
import { engineLabel, type Task } from '../task.js';

export const task: Task = {
  async run(raw, ctx) {
    const p = raw as unknown as EvalJobParams;
    const metrics = resolveMetrics(p.metrics);
    const engine = await initEngine(p.engine ? { prefer: p.engine } : {});
    ctx.engine(engineLabel(engine));
    const rm = await loadRunModel(ctx.store, p.runId);
    try {
      const methods = resolveMethods(p.methods?.join(','), rm.config.model.kind);
      const images = listSplit(ctx.store, rm.datasetId, p.split).slice(0, p.limit);
      if (images.length === 0) throw new Error(`run ${p.runId}'s dataset has no ${p.split} images`);
      // The model is loaded: say so at once (the first chunk of metrics can take a while).
      let total = 1;
      ctx.progress({ done: 0, total, stage: 'predict' });
      // The gallery filters and sorts by the run's predictions: every image evaluated gets one stored.
      await storePredictions(ctx.store, rm, images, { batchSize: p.batchSize, signal: ctx.signal });
      ctx.progress({ done: 0, total, stage: `explain ${methods[0]}` });
      const result = await evaluateRun(ctx.store, rm, {
        methods,
        metrics,
        imageIds: images.map((i) => i.id),
        classChoice: p.classChoice,
        batchSize: p.batchSize,
        signal: ctx.signal,
        onProgress: (q) => {
          // Units (a method explained, a metric run, a randomisation stage, per chunk) are alike from chunk
          // to chunk, so the runner's ETA from them holds.
          total = Math.max(1, q.unitsTotal);
          const what = q.phase === 'explain' ? q.method : (q.metric ?? q.method);
          ctx.progress({ done: q.units, total, stage: `${q.phase} ${what} (${q.done}/${q.total} images)` });
        },
      });
      ctx.progress({ done: total, total, stage: 'done' });
      return JSON.parse(JSON.stringify(toJson(result, { engine: engine.name, split: p.split }))) as Json;
    } finally {
      rm.dispose();
    }
  },
};

/**
 * Batch explanation of a run's split as a job (`xwb explain`): every method's maps computed (or found in the
 * cache) and stored. tfjs work: it runs on the job thread's own engine.
 */
import type { ExplainJobParams } from '../../api/contract.js';
import { initEngine } from '../../engine/select.js';
import { resolveMethods } from '../../evaluate/select.js';
import { storePredictions } from '../../explain/predictions.js';
import { loadRunModel } from '../../explain/run-model.js';
import { getOrCompute } from '../../explain/store.js';
import { listSplit } from '../../training/data/load.js';
import { engineLabel, type Task } from '../task.js';

export const task: Task = {
  async run(raw, ctx) {
    const p = raw as unknown as ExplainJobParams;
    const engine = await initEngine(p.engine ? { prefer: p.engine } : {});
    ctx.engine(engineLabel(engine));
    const rm = await loadRunModel(ctx.store, p.runId);
    try {
      const methods = resolveMethods(p.methods?.join(','), rm.config.model.kind);
      const images = listSplit(ctx.store, rm.datasetId, p.split).slice(0, p.limit);
      if (images.length === 0) throw new Error(`run ${p.runId}'s dataset has no ${p.split} images`);
      const ids = images.map((i) => i.id);
      const total = methods.length * ids.length;
      const rows: { method: string; computed: number; cached: number; seconds: number }[] = [];
      // The gallery filters and sorts by the run's predictions: every image explained gets one stored.
      ctx.progress({ done: 0, total, stage: 'predict' });
      const predicted = await storePredictions(ctx.store, rm, images, {
        batchSize: p.batchSize,
        signal: ctx.signal,
      });
      ctx.progress({ done: 0, total, stage: `explain ${methods[0]}` });
      for (const [m, method] of methods.entries()) {
        const t0 = performance.now();
        const r = await getOrCompute(ctx.store, rm, ids, method, {}, p.classChoice, {
          batchSize: p.batchSize,
          signal: ctx.signal,
          onProgress: (q) =>
            ctx.progress({ done: m * ids.length + q.done, total, stage: `explain ${method}` }),
        });
        rows.push({
          method,
          computed: r.computed,
          cached: r.cached,
          seconds: (performance.now() - t0) / 1000,
        });
      }
      return {
        runId: p.runId,
        engine: engine.name,
        split: p.split,
        images: ids.length,
        predicted,
        methods: rows,
      };
    } finally {
      rm.dispose();
    }
  },
};

/**
 * Evaluation of a run as a job (`xwb eval`): explain (from the cache when present), run the metrics, store every
 * value; the result is the method × metric table. Progress counts images over (explain, measure) × methods.
 */
import type { EvalJobParams } from '../../api/contract.js';
import { initEngine } from '../../engine/select.js';
import { evaluateRun, resolveMethods, resolveMetrics, toJson } from '../../evaluate/index.js';
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
      const n = images.length;
      const total = methods.length * 2 * n;
      // The model is loaded: say so at once (the first chunk of metrics can take a while).
      ctx.progress({ done: 0, total, stage: `explain ${methods[0]}` });
      const result = await evaluateRun(ctx.store, rm, {
        methods,
        metrics,
        imageIds: images.map((i) => i.id),
        classChoice: p.classChoice,
        batchSize: p.batchSize,
        signal: ctx.signal,
        onProgress: (q) => {
          const step = methods.indexOf(q.method) * 2 + (q.phase === 'measure' ? 1 : 0);
          const done = step * n + Math.round((q.done / Math.max(1, q.total)) * n);
          ctx.progress({ done, total, stage: `${q.phase} ${q.method}` });
        },
      });
      ctx.progress({ done: total, total, stage: 'done' });
      return JSON.parse(JSON.stringify(toJson(result, { engine: engine.name, split: p.split }))) as Json;
    } finally {
      rm.dispose();
    }
  },
};

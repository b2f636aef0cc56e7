/**
 * The analysis's evaluation itself: the session's plan measured group by group with `evaluateRun` (maps from the
 * cache, values stored next to them), on whatever engine this thread started. The server's own thread (worker.ts)
 * and a team worker's job (src/jobs/tasks/review-eval.ts) both run it.
 */
import { evaluateRun, resolveMetrics } from '../../evaluate/index.js';
import { loadRunModel } from '../../explain/run-model.js';
import type { Store } from '../../store/index.js';
import type { EvalGroup } from './plan.js';

export interface MeasureOptions {
  /** Metric selection as `xwb eval --metrics` takes it; default the cheap set. */
  metrics?: string;
  /** Honoured between images. */
  signal: AbortSignal;
  onProgress(done: number, total: number): void;
}

/** Measures every explanation of the plan with every metric; answers how many values were stored. */
export async function measurePlan(
  store: Store,
  plan: readonly EvalGroup[],
  opts: MeasureOptions,
): Promise<{ values: number }> {
  const metrics = resolveMetrics(opts.metrics);
  const total = plan.reduce((n, g) => n + g.imageIds.length, 0);
  let done = 0;
  let values = 0;
  opts.onProgress(done, total);
  for (const runId of [...new Set(plan.map((g) => g.runId))]) {
    const model = await loadRunModel(store, runId);
    try {
      for (const g of plan.filter((x) => x.runId === runId)) {
        const base = done;
        const r = await evaluateRun(store, model, {
          methods: [g.method],
          methodParams: { [g.method]: g.params },
          metrics,
          imageIds: g.imageIds,
          classChoice: g.classIndex,
          signal: opts.signal,
          onProgress: (p) => {
            if (p.phase !== 'measure') return;
            done = base + p.done;
            opts.onProgress(done, total);
          },
        });
        values += r.values;
        done = base + g.imageIds.length;
      }
    } finally {
      model.dispose();
    }
  }
  return { values };
}

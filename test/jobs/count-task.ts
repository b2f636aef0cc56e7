/**
 * A task for the runner's tests: counts to `n`, one step per `stepMs` (awaiting) or spinning synchronously
 * (`sync`: never yields, so only the shared cancel flag can stop it), and reports each step. `fail` throws at
 * that step. Its result says on which thread it ran.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import type { Task } from '../../src/jobs/task.js';

export const task: Task = {
  async run(params, ctx) {
    const n = Number(params.n ?? 5);
    const stepMs = Number(params.stepMs ?? 20);
    for (let i = 1; i <= n; i++) {
      if (params.sync) {
        const until = Date.now() + stepMs;
        while (Date.now() < until) {}
      } else {
        await new Promise((r) => setTimeout(r, stepMs));
        ctx.signal.throwIfAborted();
      }
      if (params.fail === i) throw new Error(`step ${i} failed on purpose`);
      ctx.progress({ done: i, total: n, stage: `step ${i}` });
    }
    return { counted: n, isMainThread, threadId, datasets: ctx.store.datasets.list().length };
  },
};

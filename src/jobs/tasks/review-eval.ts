/**
 * The review analysis's background evaluation as a job of the team's queue: the session's plan (made by the
 * server when it was started, see review/evaluation/queued.ts) measured on this worker's engine. Values are
 * upserts next to the maps, so a retry after a killed worker measures again what it must and changes nothing else.
 */
import { initEngine } from '../../engine/select.js';
import { measurePlan } from '../../review/evaluation/measure.js';
import { reviewEvalParams } from '../../review/evaluation/queued.js';
import { engineLabel, type Task } from '../task.js';

export const task: Task = {
  async run(raw, ctx) {
    const p = reviewEvalParams(raw);
    const engine = await initEngine({ logger: () => {} });
    ctx.engine(engineLabel(engine));
    const { values } = await measurePlan(ctx.store, p.plan, {
      ...(p.metrics !== undefined ? { metrics: p.metrics } : {}),
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress({ done, total, stage: `measure session ${p.sessionId}` }),
    });
    return { sessionId: p.sessionId, values, explanations: p.total };
  },
};

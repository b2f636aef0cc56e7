/**
 * A training run as a job of the team's queue: trains the run the server recorded (status 'queued') in that same
 * run, on this worker's engine, from its latest checkpoint when an earlier attempt was killed (continueRun). Steps
 * are the job's progress, worded by trainStage so the server can show the step on the Training screen; the epochs
 * themselves are the run's rows, which the server reads.
 */
import { initEngine } from '../../engine/select.js';
import { trainJobParams, trainStage } from '../../training/queued.js';
import { continueRun } from '../../training/trainer.js';
import { engineLabel, type Task } from '../task.js';

export const task: Task = {
  async run(raw, ctx) {
    const p = trainJobParams(raw);
    const engine = await initEngine(p.engine ? { prefer: p.engine } : {});
    ctx.engine(engineLabel(engine));
    let plan: { epochs: number }[] = [];
    let phaseIndex = 0;
    /** Where this attempt began (its first phase event), when that is not the run's very start. */
    let from: string | null | undefined;
    const report = (done: number, total: number, stage: string) => {
      try {
        ctx.progress({ done, total, stage });
      } catch {
        // Cancelled: ctx.signal has aborted too, and the trainer stops after this step (checkpoints kept).
      }
    };
    const result = await continueRun(ctx.store, p.runId, {
      engine,
      signal: ctx.signal,
      onEvent(e) {
        if (e.type === 'start') plan = e.phases;
        else if (e.type === 'load') report(0, 0, `load ${e.split} ${e.done}/${e.total}`);
        else if (e.type === 'phase') {
          phaseIndex = e.index;
          if (from === undefined) {
            from = e.startEpoch > 1 || e.index > 0 ? `${e.phase} epoch ${e.startEpoch}` : null;
          }
        } else if (e.type === 'step') {
          const before = plan.slice(0, phaseIndex).reduce((n, ph) => n + ph.epochs, 0);
          const all = plan.reduce((n, ph) => n + ph.epochs, 0);
          const epochs = plan[phaseIndex]?.epochs ?? e.epoch;
          report(
            (before + e.epoch - 1) * e.steps + e.step,
            all * e.steps,
            trainStage({ phase: e.phase, epoch: e.epoch, epochs, step: e.step, steps: e.steps }),
          );
        }
      },
    });
    return {
      runId: result.runId,
      status: result.status,
      engine: engineLabel(engine),
      checkpoint: result.checkpoint,
      epochs: ctx.store.runs.epochs(result.runId).length,
      /** Where this attempt began: null from the start, else the first epoch it trained (a resumed attempt). */
      resumedAt: from ?? null,
      seconds: Math.round(result.seconds * 10) / 10,
    };
  },
};

/**
 * Training as a job of the team's queue (kind 'train', src/jobs/tasks/train.ts): what the job carries, how its
 * progress is worded so the server can tell the Training screen the step it is at, and how a run whose job ended
 * without its trainer (a worker killed on the last attempt, a cancel while no worker had it) is ended too.
 * No tfjs here: the server and the queue's reconciler import it.
 */
import type { Job, JsonObject, Store } from '../store/index.js';

/** What a queued run's engine says until a worker takes it and fills in its own. */
export const QUEUED_ENGINE = 'worker';

export const TRAIN_JOB_KIND = 'train';

export interface TrainJobParams {
  runId: number;
  /** The engine a worker should prefer (it uses its best one when that does not start). */
  engine?: 'gpu' | 'node' | 'wasm' | 'cpu';
}

export function trainJobParams(raw: JsonObject): TrainJobParams {
  const { runId, engine } = raw as { runId?: unknown; engine?: unknown };
  if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId < 1) {
    throw new Error(`train job: runId must be a run id, got ${JSON.stringify(runId)}`);
  }
  if (engine !== undefined && !['gpu', 'node', 'wasm', 'cpu'].includes(engine as string)) {
    throw new Error(`train job: engine must be gpu, node, wasm or cpu, got ${JSON.stringify(engine)}`);
  }
  return engine === undefined ? { runId } : { runId, engine: engine as TrainJobParams['engine'] };
}

/** Where a training is, as the Training screen's progress bar shows it. */
export interface TrainPosition {
  phase: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
}

/** The job's stage for a step: "classifier · epoch 2/3 · step 4/6" (a team worker appends where it runs). */
export function trainStage(p: TrainPosition): string {
  return `${p.phase} · epoch ${p.epoch}/${p.epochs} · step ${p.step}/${p.steps}`;
}

/** trainStage read back from a stored stage; null for any other stage ("starting on …", "attempt 1 lost …"). */
export function parseTrainStage(stage: string | null | undefined): TrainPosition | null {
  const m = /^([a-z]+) · epoch (\d+)\/(\d+) · step (\d+)\/(\d+)(?: · |$)/.exec(stage ?? '');
  if (!m) return null;
  return { phase: m[1], epoch: Number(m[2]), epochs: Number(m[3]), step: Number(m[4]), steps: Number(m[5]) };
}

/**
 * A training job has ended: if its run has not (its trainer never got to say so), the run ends the job's way —
 * cancelled, or failed with the job's reason — so the run's status never says 'running' with nobody training it.
 * Answers whether it changed the run.
 */
export function settleQueuedRun(
  store: Store,
  job: Pick<Job, 'kind' | 'params' | 'status' | 'error'>,
): boolean {
  if (job.kind !== TRAIN_JOB_KIND || (job.status !== 'failed' && job.status !== 'cancelled')) return false;
  let runId: number;
  try {
    runId = trainJobParams(job.params).runId;
  } catch {
    return false;
  }
  return store.transaction(() => {
    const run = store.runs.get(runId);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return false;
    if (job.status === 'cancelled') store.runs.setStatus(runId, 'cancelled');
    else store.runs.setStatus(runId, 'failed', `training job: ${job.error ?? 'it ended without a result'}`);
    return true;
  });
}

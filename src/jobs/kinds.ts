import type { Job, Store } from '../store/index.js';
import { settleQueuedRun } from '../training/queued.js';

/**
 * The task module of each job kind the workbench runs. The server and the team workers both resolve a kind
 * through this table: a queue entry names a kind, never a module, so what a worker executes is chosen by its own
 * code, not by whoever can write to the queue.
 */
export const WORKBENCH_JOB_KINDS: Readonly<Record<string, URL>> = {
  export: new URL('./tasks/export.js', import.meta.url),
  explain: new URL('./tasks/explain.js', import.meta.url),
  eval: new URL('./tasks/eval.js', import.meta.url),
  /** Only team mode queues training (training-handlers.ts); the desktop trains in its own thread as before. */
  train: new URL('./tasks/train.js', import.meta.url),
  /** Team mode's review analysis evaluation (review/evaluation/queued.ts); the desktop keeps its own thread. */
  'review-eval': new URL('./tasks/review-eval.js', import.meta.url),
};

/** Kinds from the compiled .js, or from the sources when this file runs as .ts (tests, tsx). */
export function jobKinds(extra: Readonly<Record<string, URL>> = {}): Record<string, URL> {
  const out: Record<string, URL> = {};
  for (const [k, url] of Object.entries({ ...WORKBENCH_JOB_KINDS, ...extra })) {
    out[k] = import.meta.url.endsWith('.ts') ? new URL(url.href.replace(/\.js$/, '.ts')) : url;
  }
  return out;
}

/**
 * What has to follow a job's end that its task did not see: a row ended by the queue (its worker killed on the
 * last attempt, cancelled while no worker had it, its thread stopped) leaves the task's own records as they were.
 * For a training job that is its run, which must not stay 'running' with nobody training it. Never throws: the
 * job's end is already committed, and this only tidies what hangs on it.
 */
export function settleJobSubject(store: Store, job: Job, log?: (line: string) => void): void {
  try {
    if (settleQueuedRun(store, job)) {
      log?.(`job ${job.id}: its run ${String(job.params.runId)} ended ${job.status} with it`);
    }
  } catch (e) {
    log?.(`job ${job.id}: could not end what it was working on: ${(e as Error).message}`);
  }
}

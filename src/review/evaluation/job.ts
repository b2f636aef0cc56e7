/**
 * Background evaluations started from a session's analysis: one worker thread per job (worker.ts), so measuring
 * never holds the server's event loop; its progress, end and cancellation as plain job states the API relays as
 * events. Kept small and local to review on purpose: a generic job module can take it over later.
 */
import type { Worker } from 'node:worker_threads';
import type { Store } from '../../store/index.js';
import { spawnModuleWorker } from '../../util/worker.js';
import { planSize, sessionEvalPlan } from './plan.js';
import type { EvalWorkerMessage, EvalWorkerRequest } from './worker.js';

export interface EvalJobState {
  jobId: number;
  sessionId: number;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  values: number;
  error: string | null;
}

/** The worker thread of one job (from the .ts sources through tsx's loader: see spawnModuleWorker). */
function spawn(workerData: EvalWorkerRequest): Worker {
  return spawnModuleWorker(new URL('./worker.js', import.meta.url), workerData, import.meta.url);
}

export class EvalJobs {
  private next = 1;
  private readonly jobs = new Map<number, { state: EvalJobState; worker: Worker }>();

  /** `onChange` hears every state change (throttled progress included); the store is read only to plan. */
  constructor(
    private readonly store: Store,
    private readonly onChange: (s: EvalJobState) => void,
    private readonly opts: { metrics?: string; progressMs?: number } = {},
  ) {}

  /** The session's running job, or a new one; throws (plan errors) before any thread starts. */
  start(sessionId: number): EvalJobState {
    const running = this.latest(sessionId);
    if (running?.state === 'running') return running;
    const plan = sessionEvalPlan(this.store, sessionId);
    const state: EvalJobState = {
      jobId: this.next++,
      sessionId,
      state: 'running',
      done: 0,
      total: planSize(plan),
      values: 0,
      error: null,
    };
    const worker = spawn({ dbPath: this.store.path, plan, metrics: this.opts.metrics });
    this.jobs.set(state.jobId, { state, worker });
    let last = 0;
    const tell = (force: boolean) => {
      const now = Date.now();
      if (!force && now - last < (this.opts.progressMs ?? 250)) return;
      last = now;
      this.onChange({ ...state });
    };
    const end = (s: EvalJobState['state'], error: string | null) => {
      if (state.state !== 'running') return;
      state.state = s;
      state.error = error;
      tell(true);
      void worker.terminate();
    };
    worker.on('message', (m: EvalWorkerMessage) => {
      if (m.type === 'progress') {
        state.done = m.done;
        state.total = m.total;
        tell(m.done === 0);
      } else if (m.type === 'done') {
        state.values = m.values;
        state.done = state.total;
        end('done', null);
      } else end(m.cancelled ? 'cancelled' : 'failed', m.cancelled ? null : m.message);
    });
    worker.on('error', (e) => end('failed', `the evaluation worker crashed: ${e.message}`));
    worker.on('exit', (code) =>
      end('failed', `the evaluation worker exited (code ${code}) before the job ended`),
    );
    tell(true);
    return { ...state };
  }

  /** Asks a running job to stop after its current image; false when it is not running. */
  cancel(jobId: number): boolean {
    const j = this.jobs.get(jobId);
    if (j?.state.state !== 'running') return false;
    j.worker.postMessage({ type: 'cancel' });
    return true;
  }

  get(jobId: number): EvalJobState | undefined {
    const j = this.jobs.get(jobId);
    return j && { ...j.state };
  }

  latest(sessionId: number): EvalJobState | undefined {
    const mine = [...this.jobs.values()].filter((j) => j.state.sessionId === sessionId);
    const j = mine.at(-1);
    return j && { ...j.state };
  }

  /** Stops every worker (the server is shutting down). */
  async close(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.worker.terminate()));
  }
}

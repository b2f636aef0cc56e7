/**
 * One job's worker thread (worker.ts) for a job row that already exists, for a process that takes jobs from
 * elsewhere (the team queue's `xwb worker`). The same thread, task modules and cancellation as the JobRunner's
 * (runner.ts): a message and a shared flag, then termination after a grace time.
 */
import type { Json, JsonObject } from '../store/index.js';
import { spawnModuleWorker } from '../util/worker.js';
import type { JobWorkerData, TaskProgress, WorkerMessage } from './task.js';

export type ThreadOutcome =
  | { status: 'done'; result: Json }
  | { status: 'failed'; error: string }
  | { status: 'cancelled' };

export interface JobThread {
  readonly ended: Promise<ThreadOutcome>;
  /** Asks the task to stop; past `cancelGraceMs` the thread is terminated. */
  cancel(): void;
  /** Stops the thread at once (the process is handing the job back); `ended` then says failed. */
  terminate(): Promise<void>;
}

export interface JobThreadOptions {
  dbPath: string;
  jobId: number;
  module: URL;
  params: JsonObject;
  storeIntervalMs?: number;
  cancelGraceMs?: number;
  /** Said after the stage in stored progress ("host-1:4242"); see JobWorkerData.where. */
  where?: string;
  onProgress?: (p: TaskProgress) => void;
  onEngine?: (engine: string) => void;
}

export function startJobThread(opts: JobThreadOptions): JobThread {
  const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  const data: JobWorkerData = {
    dbPath: opts.dbPath,
    jobId: opts.jobId,
    storeIntervalMs: opts.storeIntervalMs ?? 1000,
    module: opts.module.href,
    params: opts.params,
    cancel: cancelFlag.buffer as SharedArrayBuffer,
    where: opts.where,
  };
  const worker = spawnModuleWorker(new URL('./worker.js', import.meta.url), data, import.meta.url);
  let cancelled = false;
  let settle!: (o: ThreadOutcome) => void;
  const ended = new Promise<ThreadOutcome>((r) => (settle = r));
  let done = false;
  const end = (o: ThreadOutcome) => {
    if (done) return;
    done = true;
    void worker.terminate();
    settle(o);
  };
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === 'progress') opts.onProgress?.(m);
    else if (m.type === 'engine') opts.onEngine?.(m.engine);
    else if (m.type === 'done') end({ status: 'done', result: m.result });
    else if (m.cancelled || cancelled) end({ status: 'cancelled' });
    else end({ status: 'failed', error: m.message });
  });
  worker.on('error', (e) =>
    end(
      cancelled
        ? { status: 'cancelled' }
        : { status: 'failed', error: `the job thread crashed: ${e.message}` },
    ),
  );
  worker.on('exit', (code) =>
    end(
      cancelled
        ? { status: 'cancelled' }
        : { status: 'failed', error: `the job thread exited (code ${code}) before the job ended` },
    ),
  );
  return {
    ended,
    cancel() {
      if (cancelled || done) return;
      cancelled = true;
      Atomics.store(cancelFlag, 0, 1);
      worker.postMessage({ type: 'cancel' });
      setTimeout(() => void worker.terminate(), opts.cancelGraceMs ?? 5000).unref();
    },
    async terminate() {
      await worker.terminate();
      end({ status: 'failed', error: 'the job thread was stopped' });
    },
  };
}

/**
 * A small generic job runner: jobs of registered kinds run one at a time (the rest wait 'queued') in a worker
 * thread each, so heavy work never blocks the caller's event loop. Status, progress and result are kept in the
 * store's jobs table, so a reloaded page (or a restarted server) finds them; every change is an event.
 *
 * Kinds map to task modules (task.ts) chosen by the server, never by a request. Nothing here knows what a task
 * does: the review's evaluation job or any other can register its own kind.
 */
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { Job, JobProgressRecord, Json, JsonObject, Store } from '../store/index.js';
import { spawnModuleWorker } from '../util/worker.js';
import { type EtaAnchor, etaSeconds } from './eta.js';
import type { JobWorkerData, WorkerMessage } from './task.js';

/** A job as the runner reports it: the stored record and, while it runs, the estimated time left. */
export interface JobState extends Job {
  etaSeconds: number | null;
}

export interface JobRunnerOptions {
  store: Store;
  /** Kind → URL of its task module. */
  kinds: Readonly<Record<string, URL>>;
  /** Jobs running at once (default 1: the heavy ones use every core they get). */
  concurrency?: number;
  /**
   * Least time between two progress events of one job (ms, default 250) and two progress writes to the store
   * (default 1000; the worker writes them).
   */
  eventIntervalMs?: number;
  storeIntervalMs?: number;
  /** How long a cancelled task may take to stop by itself before its thread is terminated (ms, default 5000). */
  cancelGraceMs?: number;
}

interface Active {
  worker: Worker | null;
  cancel: Int32Array;
  cancelled: boolean;
  anchor: EtaAnchor | null;
  progress: JobProgressRecord | null;
  lastEvent: number;
  done: Promise<void>;
  settle: () => void;
}

const INTERRUPTED = 'interrupted: the workbench stopped while the job ran; start it again';

export class JobRunner {
  readonly events = new EventEmitter<{ job: [JobState] }>();
  private readonly store: Store;
  private readonly kinds: Readonly<Record<string, URL>>;
  private readonly concurrency: number;
  private readonly eventInterval: number;
  private readonly storeInterval: number;
  private readonly cancelGraceMs: number;
  private readonly active = new Map<number, Active>();
  private readonly queue: number[] = [];
  private closed = false;

  constructor(opts: JobRunnerOptions) {
    this.store = opts.store;
    this.kinds = opts.kinds;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.eventInterval = opts.eventIntervalMs ?? 250;
    this.storeInterval = opts.storeIntervalMs ?? 1000;
    this.cancelGraceMs = opts.cancelGraceMs ?? 5000;
    // No other runner owns this store's jobs: what is left unfinished belonged to a process that is gone.
    this.store.jobs.failUnfinished(INTERRUPTED);
    this.events.on('job', () => {}); // no listener is fine
  }

  /** Records the job and starts it (or queues it behind the running ones). */
  start(kind: string, params: JsonObject, label: string): JobState {
    if (this.closed) throw new Error('the job runner is closed');
    if (!Object.hasOwn(this.kinds, kind)) throw new Error(`unknown job kind "${kind}"`);
    const job = this.store.jobs.create({ kind, label, params });
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    this.active.set(job.id, {
      worker: null,
      cancel: new Int32Array(new SharedArrayBuffer(4)),
      cancelled: false,
      anchor: null,
      progress: null,
      lastEvent: 0,
      done,
      settle,
    });
    this.queue.push(job.id);
    this.emit(job.id);
    this.pump();
    return this.get(job.id)!;
  }

  /** Asks a queued or running job to stop; false when it is not (or no longer) active. */
  cancel(id: number): boolean {
    const a = this.active.get(id);
    if (!a || a.cancelled) return false;
    a.cancelled = true;
    if (a.worker === null) {
      // Not started: it never will be.
      this.queue.splice(this.queue.indexOf(id), 1);
      this.finish(id, 'cancelled', null, null);
      return true;
    }
    Atomics.store(a.cancel, 0, 1);
    a.worker.postMessage({ type: 'cancel' });
    // A task deep in a long computation may not look at its signal for a while: past the grace time the thread
    // is stopped. SQLite rolls back whatever transaction it had open, so nothing half-written is kept.
    const worker = a.worker;
    setTimeout(() => void worker.terminate(), this.cancelGraceMs).unref();
    return true;
  }

  get(id: number): JobState | undefined {
    const job = this.store.jobs.get(id);
    return job && this.state(job);
  }

  list(limit = 50): JobState[] {
    return this.store.jobs.list({ limit }).map((j) => this.state(j));
  }

  /** Resolves when the job has ended (at once when it is not active). */
  async wait(id: number): Promise<JobState | undefined> {
    await this.active.get(id)?.done;
    return this.get(id);
  }

  /** Cancels everything active and waits for the workers to end (jobs end 'cancelled'). */
  async close(): Promise<void> {
    this.closed = true;
    const ids = [...this.active.keys()];
    for (const id of ids) this.cancel(id);
    await Promise.all(ids.map((id) => this.active.get(id)?.done));
  }

  private state(job: Job): JobState {
    const a = this.active.get(job.id);
    const progress = a?.progress ?? job.progress;
    const eta =
      a && progress && job.status === 'running'
        ? etaSeconds(a.anchor, Date.now(), progress.done, progress.total)
        : null;
    return { ...job, progress, etaSeconds: eta };
  }

  private emit(id: number): void {
    const s = this.get(id);
    if (s) this.events.emit('job', s);
  }

  private pump(): void {
    const running = [...this.active.values()].filter((a) => a.worker !== null).length;
    for (let free = this.concurrency - running; free > 0 && this.queue.length > 0; free--) {
      this.launch(this.queue.shift()!);
    }
  }

  private launch(id: number): void {
    const a = this.active.get(id)!;
    const job = this.store.jobs.get(id)!;
    const data: JobWorkerData = {
      dbPath: this.store.path,
      jobId: id,
      storeIntervalMs: this.storeInterval,
      module: this.kinds[job.kind].href,
      params: job.params,
      cancel: a.cancel.buffer as SharedArrayBuffer,
    };
    this.store.jobs.setStatus(id, 'running');
    const worker = spawnModuleWorker(new URL('./worker.js', import.meta.url), data, import.meta.url);
    a.worker = worker;
    this.emit(id);
    let ended = false;
    const end = (
      status: 'done' | 'failed' | 'cancelled',
      result: WorkerMessage | null,
      error: string | null,
    ) => {
      if (ended) return;
      ended = true;
      void worker.terminate();
      this.finish(id, status, result?.type === 'done' ? result.result : null, error);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') this.onProgress(id, a, m);
      else if (m.type === 'done') end('done', m, null);
      else if (m.type === 'error') end(m.cancelled || a.cancelled ? 'cancelled' : 'failed', null, m.message);
    });
    worker.on('error', (e) =>
      end(a.cancelled ? 'cancelled' : 'failed', null, `the job worker crashed: ${e.message}`),
    );
    worker.on('exit', (code) =>
      end(
        a.cancelled ? 'cancelled' : 'failed',
        null,
        `the job worker exited (code ${code}) before the job ended`,
      ),
    );
  }

  private onProgress(id: number, a: Active, m: WorkerMessage & { type: 'progress' }): void {
    const now = Date.now();
    a.progress = { done: m.done, total: m.total, stage: m.stage ?? null };
    a.anchor ??= { t0: now, done0: m.done };
    // The worker stores progress itself (see JobWorkerData.storeIntervalMs); this thread only relays it.
    const last = m.done >= m.total;
    if (last || now - a.lastEvent >= this.eventInterval) {
      a.lastEvent = now;
      this.emit(id);
    }
  }

  private finish(
    id: number,
    status: 'done' | 'failed' | 'cancelled',
    result: Json | null,
    error: string | null,
  ): void {
    const a = this.active.get(id);
    this.store.jobs.setStatus(id, status, {
      error: status === 'cancelled' ? null : error,
      result,
      progress: a?.progress ?? null,
    });
    this.active.delete(id);
    this.emit(id);
    a?.settle();
    if (!this.closed) this.pump();
  }
}

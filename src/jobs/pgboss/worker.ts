/**
 * `xwb worker`'s engine room: takes jobs from the pg-boss queue, runs each in a job thread with the same task code
 * as the desktop (thread.ts → worker.ts → tasks/*), and writes status and result into the store's job rows, where
 * the UI reads them.
 *
 * What keeps a job from being lost or finished twice:
 * - While it runs a job the worker holds the job's advisory lock on its own session. When the process dies the
 *   session ends and the lock goes with it; any worker (or the server) then finds the job active but unlocked and
 *   fails that attempt in pg-boss, which hands it out again (reconcile.ts) up to the retry limit.
 * - The result is committed once: the store moves the row running → done in one transaction, and refuses any
 *   move out of 'done'. A second attempt finds the row ended and leaves it; a crashed attempt never got there, so
 *   the next one restarts the task (explanations already stored are found in the cache, so it resumes in effect).
 */
import { hostname } from 'node:os';
import type { Job, JobProgressRecord, Json, Store } from '../../store/index.js';
import { settleJobSubject } from '../kinds.js';
import { type JobThread, startJobThread } from '../thread.js';
import { type PgBoss, type QueuePolicy, startBoss } from './boss.js';
import { isQueuedJobData, QUEUE, type QueuedJobData, queueJobId } from './ids.js';
import { reconcile } from './reconcile.js';
import { QueueSession } from './session.js';

export interface QueueWorkerOptions {
  /** This process's connection to the store (status and result writes). */
  store: Store;
  /** What each job thread opens for its own connection (the same store). */
  dbPath: string;
  url: string;
  kinds: Readonly<Record<string, URL>>;
  /** Jobs at once (default 1: the heavy ones use every core they get). */
  concurrency?: number;
  /** Polling for new jobs when no notification came (ms, default 2000). */
  pollMs?: number;
  /** Looking for orphaned jobs (ms, default 5000). */
  reconcileMs?: number;
  /** Checking a running job's queue entry for a cancel the notification missed (ms, default 1000). */
  cancelCheckMs?: number;
  storeIntervalMs?: number;
  cancelGraceMs?: number;
  /** See reconcile.ts (default 5 s). */
  pickupGraceMs?: number;
  policy?: QueuePolicy;
  log: (line: string) => void;
  /** Lost the queue's database: the worker has stopped and its jobs go back (exit the process). */
  onFatal?: (e: Error) => void;
}

interface Attempt {
  job: Job;
  queueId: string;
  attempt: number;
  thread: JobThread | null;
  engine: string | null;
  /** The last progress the task reported (the thread stores it at most once a second). */
  progress: JobProgressRecord | null;
}

export class QueueWorker {
  /** "host:pid", as job rows and logs name this worker. */
  readonly name = `${hostname()}:${process.pid}`;
  private readonly running = new Map<number, Attempt>();
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private pumping = false;
  private again = false;
  private reconciling = false;
  /** Stops the worker for good and tells the process (set by start). */
  private fatal: (e: Error) => void = () => {};
  /** The attempts in hand, from fetch to end (stop() waits for them; pump() counts them). */
  private idle: Promise<void>[] = [];

  private constructor(
    private readonly opts: QueueWorkerOptions,
    private readonly boss: PgBoss,
    private readonly session: QueueSession,
  ) {}

  static async start(opts: QueueWorkerOptions): Promise<QueueWorker> {
    const label = `xwb worker ${hostname()}:${process.pid}`;
    let w: QueueWorker | undefined;
    const fatal = (e: Error) => {
      opts.log(`lost the job queue's database: ${e.message}`);
      void w?.stop().finally(() => opts.onFatal?.(e));
    };
    const boss = await startBoss(opts.url, label, (e) => opts.log(`job queue: ${e.message}`), opts.policy);
    const session = await QueueSession.open(opts.url, label, fatal);
    w = new QueueWorker(opts, boss, session);
    const me = w;
    me.fatal = (e) => {
      opts.log(e.message);
      void me.stop().finally(() => opts.onFatal?.(e));
    };
    await session.listen({ onNew: () => me.pump(), onCancel: (id) => me.cancelLocal(id) });
    me.timers.push(setInterval(() => me.pump(), opts.pollMs ?? 2000));
    me.timers.push(setInterval(() => void me.reconcileNow(), opts.reconcileMs ?? 5000));
    me.timers.push(setInterval(() => void me.checkCancels(), opts.cancelCheckMs ?? 1000));
    await me.reconcileNow();
    me.pump();
    return me;
  }

  /** Jobs this worker runs now (store ids). */
  get active(): number[] {
    return [...this.running.keys()];
  }

  /**
   * Stops taking jobs and hands the running ones back: their threads stop, their attempts are failed in pg-boss
   * (which gives them to another worker) and their rows stay 'running' until then. A restart of the worker is not
   * the user's cancel.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const a of this.running.values()) {
      await a.thread?.terminate();
      await this.boss
        .fail(QUEUE, a.queueId, { message: `worker ${this.name} stopped; handed back` })
        .catch(() => {});
      this.opts.log(`job ${a.job.id}: handed back to the queue (worker stopping)`);
    }
    await Promise.allSettled(this.idle);
    await this.session.close();
    await this.boss.stop({ graceful: false, wait: true }).catch(() => {});
  }

  async reconcileNow(): Promise<void> {
    if (this.reconciling || this.stopping) return;
    this.reconciling = true;
    try {
      const r = await reconcile({
        store: this.opts.store,
        boss: this.boss,
        session: this.session,
        mine: new Set(this.running.keys()),
        pickupGraceMs: this.opts.pickupGraceMs,
        log: (l) => this.opts.log(l),
      });
      if (r.reaped.length) this.pump();
    } catch (e) {
      this.opts.log(`looking for orphaned jobs failed: ${(e as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }

  /** Takes jobs while there is room. */
  pump(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          // Counted from the fetch on (not from the lock), so the loop never takes more than its share.
          while (!this.stopping && this.idle.length < Math.max(1, this.opts.concurrency ?? 1)) {
            const [q] = await this.boss.fetch<QueuedJobData>(QUEUE, { batchSize: 1, includeMetadata: true });
            if (!q) break;
            const p = this.take(q);
            this.idle.push(p);
            void p.finally(() => {
              this.idle = this.idle.filter((x) => x !== p);
              this.pump();
            });
          }
        } while (this.again && !this.stopping);
      } catch (e) {
        this.opts.log(`taking a job failed: ${(e as Error).message}`);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private cancelLocal(jobId: number): void {
    const a = this.running.get(jobId);
    if (!a) return;
    this.opts.log(`job ${jobId}: cancel asked`);
    a.thread?.cancel();
  }

  /** The backstop for a cancel notification this session did not get. */
  private async checkCancels(): Promise<void> {
    for (const a of [...this.running.values()]) {
      const q = await this.boss.getJobById(QUEUE, a.queueId).catch(() => null);
      if (q?.state === 'cancelled') this.cancelLocal(a.job.id);
    }
  }

  /** One attempt of one queue entry; every path ends the entry or leaves it to pg-boss's retry. */
  private async take(q: PgBoss.JobWithMetadata<QueuedJobData>): Promise<void> {
    const { store, log } = this.opts;
    const fail = (message: string) => this.boss.fail(QUEUE, q.id, { message }).catch(() => {});
    if (!isQueuedJobData(q.data)) {
      log(`queue entry ${q.id} is not an xwb job (${JSON.stringify(q.data)}); failed`);
      await fail('not an xwb job');
      return;
    }
    const jobId = q.data.jobId;
    const row = store.jobs.get(jobId);
    if (!row || queueJobId(row) !== q.id) {
      // Another store's job: running it here would run the wrong job, or write into the wrong row. Every job
      // would be refused the same way, each time using up one of its attempts, so the worker stops instead.
      const why = `job ${jobId} (queue entry ${q.id}) is not a job of ${store.path}: is this worker's --db the server's store?`;
      await fail(`worker ${this.name} has another store (${store.path})`);
      this.fatal(new Error(`${why} Stopping.`));
      return;
    }
    const module = Object.hasOwn(this.opts.kinds, row.kind) ? this.opts.kinds[row.kind] : undefined;
    if (!module) {
      log(`job ${jobId}: this worker does not know the kind "${row.kind}"`);
      this.endRow(jobId, 'failed', null, `no worker knows the job kind "${row.kind}"`);
      await this.boss.complete(QUEUE, q.id, { unknownKind: row.kind });
      return;
    }
    if (!(await this.lock(q.id))) {
      log(`job ${jobId}: another live worker holds it; leaving it to that one`);
      await fail(`job ${jobId} is running on another worker`);
      return;
    }
    const attempt: Attempt = {
      job: row,
      queueId: q.id,
      attempt: q.retryCount + 1,
      thread: null,
      engine: null,
      progress: null,
    };
    this.running.set(jobId, attempt);
    try {
      await this.run(attempt, module);
    } finally {
      this.running.delete(jobId);
      await this.session.unlock(q.id).catch(() => {});
    }
  }

  /** The lock, retried briefly: a reconcile elsewhere may hold it for a moment while it checks the job. */
  private async lock(queueId: string): Promise<boolean> {
    for (let i = 0; i < 20; i++) {
      if (await this.session.tryLock(queueId)) return true;
      await new Promise((r) => setTimeout(r, 150));
    }
    return false;
  }

  private async run(a: Attempt, module: URL): Promise<void> {
    const { store, log } = this.opts;
    const id = a.job.id;
    // Reaped (or cancelled) between the fetch and the lock: that entry is no longer ours to run.
    const q = await this.boss.getJobById(QUEUE, a.queueId);
    if (q?.state !== 'active') {
      log(`job ${id}: its queue entry is ${q?.state ?? 'gone'} now; not started`);
      return;
    }
    const row = store.jobs.get(id)!;
    if (row.status !== 'queued' && row.status !== 'running') {
      // Ended already (a finished earlier attempt, or cancelled while waiting): nothing to run again.
      await this.boss.complete(QUEUE, a.queueId, { alreadyEnded: row.status });
      log(`job ${id}: already ${row.status}; not run again`);
      return;
    }
    if (row.status === 'queued') {
      try {
        store.jobs.setStatus(id, 'running');
      } catch {
        log(`job ${id}: ended while it was being taken (${store.jobs.get(id)?.status}); not started`);
        await this.boss.complete(QUEUE, a.queueId, { alreadyEnded: store.jobs.get(id)?.status ?? null });
        return;
      }
    }
    const of = a.attempt > 1 ? ` (attempt ${a.attempt} of ${(q.retryLimit ?? 0) + 1})` : '';
    store.jobs.setProgress(id, {
      done: 0,
      total: row.progress?.total ?? 0,
      stage: `starting on ${this.name}${of}`,
    });
    log(`job ${id} (${row.kind}) started${of}: ${row.label}`);
    const t0 = performance.now();
    a.thread = startJobThread({
      dbPath: this.opts.dbPath,
      jobId: id,
      module,
      params: row.params,
      storeIntervalMs: this.opts.storeIntervalMs,
      cancelGraceMs: this.opts.cancelGraceMs,
      where: this.name,
      onProgress: (p) => {
        a.progress = { done: p.done, total: p.total, stage: p.stage ?? null };
      },
      onEngine: (engine) => {
        a.engine = engine;
        log(`job ${id}: engine ${engine}`);
      },
    });
    // A cancel that came while the thread started.
    if ((await this.boss.getJobById(QUEUE, a.queueId))?.state === 'cancelled') a.thread.cancel();
    const out = await a.thread.ended;
    if (this.stopping) return; // handed back by stop()
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const worker = { name: this.name, engine: a.engine, attempt: a.attempt, seconds };
    if (out.status === 'done') {
      const result: Json =
        typeof out.result === 'object' && out.result !== null && !Array.isArray(out.result)
          ? { ...out.result, worker }
          : { value: out.result, worker };
      const committed = this.endRow(id, 'done', result, null, a.progress);
      log(`job ${id}: done in ${seconds} s${committed ? '' : ' (already ended elsewhere; result dropped)'}`);
    } else if (out.status === 'cancelled') {
      this.endRow(id, 'cancelled', null, null, a.progress);
      log(`job ${id}: cancelled`);
    } else {
      // The task's own error (bad input, missing data): trying again gives the same answer, so no retry.
      this.endRow(id, 'failed', null, out.error, a.progress);
      log(`job ${id}: failed: ${out.error}`);
    }
    await this.boss.complete(QUEUE, a.queueId, { status: out.status }).catch(() => {});
  }

  /**
   * The one commit of a job's end, keyed by its id: running → done | failed | cancelled in one store
   * transaction. False when the row had ended already (another attempt, or the server), which is left as it was.
   */
  private endRow(
    id: number,
    status: 'done' | 'failed' | 'cancelled',
    result: Job['result'],
    error: string | null,
    progress: JobProgressRecord | null = null,
  ): boolean {
    const { store } = this.opts;
    const now = store.jobs.get(id);
    if (!now || (now.status !== 'running' && now.status !== 'queued')) return false;
    let ended: Job;
    try {
      ended = store.jobs.setStatus(id, status, { result, error, progress: progress ?? now.progress });
    } catch {
      return false;
    }
    settleJobSubject(store, ended, this.opts.log);
    return true;
  }
}

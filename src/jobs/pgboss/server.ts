/**
 * The server's side of the team queue: a job is recorded in the store (status 'queued') and sent to pg-boss;
 * `xwb worker` processes take it from there and write its progress and end into the same store rows. This side
 * watches the unfinished rows (the store is where the truth is, whichever process wrote it) and tells each change
 * as a `job` event, so the UI sees a worker's progress as it sees a local job's.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Job, JsonObject, Store } from '../../store/index.js';
import { type EtaAnchor, etaSeconds } from '../eta.js';
import { settleJobSubject } from '../kinds.js';
import type { JobQueue, JobState } from '../queue.js';
import { DEFAULT_POLICY, describeQueueUrl, type PgBoss, type QueuePolicy, startBoss } from './boss.js';
import { CHANNEL_CANCEL, CHANNEL_NEW, QUEUE, type QueuedJobData, queueJobId } from './ids.js';
import { reconcile } from './reconcile.js';
import { QueueSession } from './session.js';

export interface PgBossJobQueueOptions {
  store: Store;
  /** postgres://… of the queue's database. */
  url: string;
  /** The kinds this server may enqueue (the workers must know them too). */
  kinds: Readonly<Record<string, URL>>;
  /** How often the unfinished rows are read for changes (ms, default 500). */
  watchMs?: number;
  /** How often orphans are looked for (ms, default 5000). */
  reconcileMs?: number;
  policy?: QueuePolicy;
  log?: (line: string) => void;
}

interface Watched {
  seen: string;
  anchor: EtaAnchor | null;
  waiters: (() => void)[];
}

export class PgBossJobQueue implements JobQueue {
  readonly events = new EventEmitter<{ job: [JobState] }>();
  readonly where: string;
  private readonly watched = new Map<number, Watched>();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private reconciling = false;

  private constructor(
    private readonly opts: PgBossJobQueueOptions,
    private readonly boss: PgBoss,
    private readonly session: QueueSession,
  ) {
    this.where = `workers on ${describeQueueUrl(opts.url)}`;
    this.events.on('job', () => {});
  }

  static async connect(opts: PgBossJobQueueOptions): Promise<PgBossJobQueue> {
    const log = opts.log ?? ((l: string) => console.error(`xwb: ${l}`));
    const name = `xwb server ${hostname()}:${process.pid}`;
    const boss = await startBoss(opts.url, name, (e) => log(`job queue: ${e.message}`), opts.policy);
    let session: QueueSession;
    try {
      session = await QueueSession.open(opts.url, name, (e) => log(`job queue session: ${e.message}`));
    } catch (e) {
      await boss.stop({ graceful: false, wait: true });
      throw e;
    }
    const q = new PgBossJobQueue({ ...opts, log }, boss, session);
    // Jobs a previous server left unfinished are still the workers' to run: watch them, do not fail them.
    for (const j of q.unfinished()) q.watch(j);
    q.timers.push(setInterval(() => q.tick(), opts.watchMs ?? 500));
    q.timers.push(setInterval(() => void q.reconcileNow(), opts.reconcileMs ?? 5000));
    for (const t of q.timers) t.unref();
    return q;
  }

  async start(kind: string, params: JsonObject, label: string): Promise<JobState> {
    if (this.closed) throw new Error('the job queue is closed');
    if (!Object.hasOwn(this.opts.kinds, kind)) throw new Error(`unknown job kind "${kind}"`);
    const { store } = this.opts;
    const job = store.jobs.create({ kind, label, params });
    const data: QueuedJobData = { jobId: job.id, kind };
    const policy = this.opts.policy ?? DEFAULT_POLICY;
    try {
      await this.boss.send(QUEUE, data as unknown as object, { id: queueJobId(job), ...policy });
      await this.session.notify(CHANNEL_NEW);
    } catch (e) {
      // The row must not wait 'queued' for a queue that never got it.
      const failed = store.jobs.setStatus(job.id, 'failed', {
        error: `could not reach the job queue (${describeQueueUrl(this.opts.url)}): ${(e as Error).message}`,
      });
      settleJobSubject(store, failed, this.opts.log);
      throw e;
    }
    this.watch(job);
    return this.state(store.jobs.get(job.id)!);
  }

  async cancel(id: number): Promise<boolean> {
    const { store } = this.opts;
    const job = store.jobs.get(id);
    if (!job || !['queued', 'running'].includes(job.status)) return false;
    // A waiting entry is never handed out after this; a running one's worker hears the notification (and checks
    // the entry's state as a backstop) and ends the row 'cancelled' itself.
    await this.boss.cancel(QUEUE, queueJobId(job));
    await this.session.notify(CHANNEL_CANCEL, String(id));
    const now = store.jobs.get(id)!;
    if (now.status === 'queued') {
      try {
        settleJobSubject(
          store,
          store.jobs.setStatus(id, 'cancelled', { progress: now.progress }),
          this.opts.log,
        );
      } catch {
        // A worker took it in between: it ends it 'cancelled' (its entry is cancelled).
      }
    }
    this.tick();
    return true;
  }

  get(id: number): JobState | undefined {
    const job = this.opts.store.jobs.get(id);
    return job && this.state(job);
  }

  list(limit = 50): JobState[] {
    return this.opts.store.jobs.list({ limit }).map((j) => this.state(j));
  }

  async wait(id: number): Promise<JobState | undefined> {
    const w = this.watched.get(id);
    if (w) await new Promise<void>((r) => w.waiters.push(r));
    return this.get(id);
  }

  /** Looks for orphans now (also every `reconcileMs`). */
  async reconcileNow(): Promise<void> {
    if (this.reconciling || this.closed) return;
    this.reconciling = true;
    try {
      await reconcile({ store: this.opts.store, boss: this.boss, session: this.session, log: this.opts.log });
      this.tick();
    } catch (e) {
      this.opts.log?.(`job queue: looking for orphaned jobs failed: ${(e as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }

  /** Stops watching and leaves the queue; jobs the workers run go on (they are theirs, not this server's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watched.values()) for (const r of w.waiters) r();
    this.watched.clear();
    await this.session.close();
    await this.boss.stop({ graceful: false, wait: true });
  }

  private unfinished(): Job[] {
    const { store } = this.opts;
    return [
      ...store.jobs.list({ status: 'running', limit: 1000 }),
      ...store.jobs.list({ status: 'queued', limit: 1000 }),
    ];
  }

  private watch(job: Job): void {
    if (!this.watched.has(job.id)) this.watched.set(job.id, { seen: '', anchor: null, waiters: [] });
    this.changed(job);
  }

  /** Reads the watched rows and the new unfinished ones (started by another server) and tells what changed. */
  private tick(): void {
    if (this.closed) return;
    const { store } = this.opts;
    for (const j of this.unfinished()) if (!this.watched.has(j.id)) this.watch(j);
    for (const id of [...this.watched.keys()]) {
      const job = store.jobs.get(id);
      if (job) this.changed(job);
      else this.unwatch(id);
    }
  }

  private changed(job: Job): void {
    const w = this.watched.get(job.id);
    if (!w) return;
    const sig = JSON.stringify([job.status, job.progress, job.error]);
    if (sig === w.seen) return;
    w.seen = sig;
    if (job.status === 'running' && job.progress && job.progress.done > 0) {
      w.anchor ??= { t0: Date.now(), done0: job.progress.done };
    }
    const over = !['queued', 'running'].includes(job.status);
    // The backstop: whichever process ended the row, what hangs on it (a training's run) ends too.
    if (over) settleJobSubject(this.opts.store, job, this.opts.log);
    this.events.emit('job', this.state(job));
    if (over) this.unwatch(job.id);
  }

  private unwatch(id: number): void {
    const w = this.watched.get(id);
    this.watched.delete(id);
    for (const r of w?.waiters ?? []) r();
  }

  private state(job: Job): JobState {
    const w = this.watched.get(job.id);
    const p = job.progress;
    const eta = w && p && job.status === 'running' ? etaSeconds(w.anchor, Date.now(), p.done, p.total) : null;
    return { ...job, etaSeconds: eta };
  }
}

/**
 * Brings the store's unfinished job rows in line with the queue, where no live worker holds the job's lock: an
 * attempt whose worker died is failed in pg-boss (which retries it, or gives up after the retry limit), and a row
 * whose queue entry ended without the worker saying so (cancelled while its worker was gone, given up, never
 * enqueued) gets that end. The server and every worker run it now and then; running it twice at once is harmless
 * (each step is a conditional update).
 */
import type PgBoss from 'pg-boss';
import type { Job, JobStatus, Store } from '../../store/index.js';
import { settleJobSubject } from '../kinds.js';
import { QUEUE, queueJobId } from './ids.js';
import type { QueueSession } from './session.js';

export interface ReconcileDeps {
  store: Store;
  boss: PgBoss;
  session: QueueSession;
  /** Store job ids this process runs (its own session holds their locks, and a session's locks re-enter). */
  mine?: ReadonlySet<number>;
  /**
   * How long after pg-boss marked a job active its worker may take to lock it (ms, default 5 s; a worker locks
   * within milliseconds): between the fetch and the lock there is a moment when the job is active and unlocked.
   */
  pickupGraceMs?: number;
  /** How old a 'queued' row with no queue entry must be before it is given up (ms, default 60 s). */
  lostGraceMs?: number;
  log?: (line: string) => void;
}

export interface ReconcileReport {
  /** Attempts whose worker was gone, handed back to pg-boss. */
  reaped: number[];
  /** Rows ended here: [id, status]. */
  ended: [number, JobStatus][];
}

const GONE = 'lost its worker (killed, crashed, or cut off from the queue)';

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const { store, session } = deps;
  const report: ReconcileReport = { reaped: [], ended: [] };
  const rows = [
    ...store.jobs.list({ status: 'running', limit: 1000 }),
    ...store.jobs.list({ status: 'queued', limit: 1000 }),
  ];
  for (const row of rows) {
    if (deps.mine?.has(row.id)) continue;
    const qid = queueJobId(row);
    if (!(await session.tryLock(qid))) continue; // a live worker runs it
    try {
      await settle(deps, row, qid, report);
    } finally {
      await session.unlock(qid);
    }
  }
  return report;
}

async function settle(deps: ReconcileDeps, row: Job, qid: string, report: ReconcileReport): Promise<void> {
  const { store, boss } = deps;
  const q = await boss.getJobById(QUEUE, qid, { includeArchive: true });
  const end = (status: 'failed' | 'cancelled', error: string | null) => {
    const now = store.jobs.get(row.id);
    if (!now || !['queued', 'running'].includes(now.status)) return;
    const ended = store.jobs.setStatus(row.id, status, { error, progress: now.progress });
    settleJobSubject(store, ended, deps.log);
    report.ended.push([row.id, status]);
    deps.log?.(`job ${row.id}: ${status}${error ? ` (${error})` : ''}`);
  };
  if (!q) {
    if (Date.now() - Date.parse(row.createdAt) > (deps.lostGraceMs ?? 60_000)) {
      end('failed', 'never reached the job queue (the server stopped while starting it); start it again');
    }
    return;
  }
  switch (q.state) {
    case 'active': {
      const since = (await deps.session.now()) - new Date(q.startedOn).getTime();
      if (since < (deps.pickupGraceMs ?? 5000)) return;
      await boss.fail(QUEUE, qid, { message: `attempt ${q.retryCount + 1} ${GONE}` });
      report.reaped.push(row.id);
      const after = await boss.getJobById(QUEUE, qid, { includeArchive: true });
      const attempts = q.retryCount + 1;
      if (after?.state === 'failed') {
        end('failed', `${attempts} attempt${attempts > 1 ? 's' : ''} ${GONE}; start it again`);
      } else {
        store.jobs.setProgress(row.id, {
          done: row.progress?.done ?? 0,
          total: row.progress?.total ?? 0,
          stage: `attempt ${attempts} ${GONE}; waiting for a worker to start it again`,
        });
        deps.log?.(`job ${row.id}: attempt ${attempts} ${GONE}; handed back to the queue`);
      }
      return;
    }
    case 'failed':
      end('failed', failMessage(q.output) ?? 'the job queue gave up on it');
      return;
    case 'cancelled':
      end('cancelled', null);
      return;
    case 'completed':
      end('failed', 'its worker ended it without storing a result');
      return;
    default: // created, retry: waiting for a worker
      return;
  }
}

function failMessage(output: unknown): string | null {
  const o = output as { message?: unknown; value?: { message?: unknown } } | null;
  const m = o?.message ?? o?.value?.message;
  return typeof m === 'string' ? m : null;
}

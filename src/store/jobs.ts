/**
 * Background jobs (export, batch explain, evaluation, …): what was asked, how far it got and how it ended, so a
 * workbench reloaded mid-job finds it, and one restarted after a crash says the job was interrupted rather than
 * showing it running for ever. The job runner (src/jobs/) is the only writer.
 */
import { nonEmptyText, positiveInt, type StoreContext } from './context.js';
import { fromJson, type Json, type JsonObject, toJson, toJsonObject } from './json.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['done', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};
const TERMINAL: readonly JobStatus[] = ['done', 'failed', 'cancelled'];

export interface JobProgressRecord {
  done: number;
  total: number;
  /** What the job is doing now, in words ("explain gradcam"). */
  stage: string | null;
}

export interface Job {
  id: number;
  kind: string;
  /** A short description for lists ("eval run 3"). */
  label: string;
  params: JsonObject;
  status: JobStatus;
  progress: JobProgressRecord | null;
  result: Json | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface JobRow {
  id: number;
  kind: string;
  label: string;
  params: string;
  status: JobStatus;
  progress: string | null;
  result: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    kind: r.kind,
    label: r.label,
    params: fromJson<JsonObject>(r.params),
    status: r.status,
    progress: r.progress === null ? null : fromJson<JobProgressRecord>(r.progress),
    result: r.result === null ? null : fromJson<Json>(r.result),
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export interface JobsApi {
  create(input: { kind: string; label: string; params: JsonObject }): Job;
  get(id: number): Job | undefined;
  /** Newest first. */
  list(filter?: { limit?: number; status?: JobStatus }): Job[];
  /** queued → running → done | failed | cancelled; an illegal move is an error. */
  setStatus(
    id: number,
    status: JobStatus,
    extra?: { error?: string | null; result?: Json | null; progress?: JobProgressRecord | null },
  ): Job;
  setProgress(id: number, progress: JobProgressRecord): void;
  /**
   * Jobs left queued or running by a process that is gone become failed with `reason`; answers their ids. Called
   * once when a runner starts, before it starts anything itself.
   */
  failUnfinished(reason: string): number[];
}

export function jobsApi(ctx: StoreContext): JobsApi {
  const get = (id: number) => {
    const r = ctx.get<JobRow>('SELECT * FROM jobs WHERE id = ?', id);
    return r && toJob(r);
  };
  return {
    create(input) {
      const where = `job "${input.kind}"`;
      nonEmptyText(input.kind, `${where}: kind`);
      const params = toJsonObject(input.params, `${where}: params`);
      const id = ctx.insert(
        `INSERT INTO jobs (kind, label, params, status, created_at) VALUES (?, ?, ?, 'queued', ?)`,
        input.kind,
        input.label,
        params,
        ctx.now(),
      );
      return get(id)!;
    },
    get: (id) => get(id),
    list(filter = {}) {
      const limit = Math.max(1, Math.min(1000, Math.floor(filter.limit ?? 100)));
      const rows =
        filter.status === undefined
          ? ctx.all<JobRow>('SELECT * FROM jobs ORDER BY id DESC LIMIT ?', limit)
          : ctx.all<JobRow>(
              'SELECT * FROM jobs WHERE status = ? ORDER BY id DESC LIMIT ?',
              filter.status,
              limit,
            );
      return rows.map(toJob);
    },
    setStatus(id, status, extra = {}) {
      positiveInt(id, 'job id');
      return ctx.tx(() => {
        const job = get(id);
        if (!job) throw new Error(`no job with id ${id} in ${ctx.file}`);
        if (!TRANSITIONS[job.status].includes(status)) {
          throw new Error(`job ${id}: cannot go from "${job.status}" to "${status}"`);
        }
        const now = ctx.now();
        ctx.run(
          `UPDATE jobs SET status = ?, error = ?, result = ?, started_at = coalesce(started_at, ?),
             finished_at = ? WHERE id = ?`,
          status,
          extra.error ?? null,
          extra.result === undefined || extra.result === null
            ? null
            : toJson(extra.result, `job ${id}: result`),
          status === 'running' ? now : null,
          TERMINAL.includes(status) ? now : null,
          id,
        );
        if (extra.progress) {
          ctx.run(
            'UPDATE jobs SET progress = ? WHERE id = ?',
            toJson(extra.progress, `job ${id}: progress`),
            id,
          );
        }
        return get(id)!;
      });
    },
    setProgress(id, progress) {
      ctx.run('UPDATE jobs SET progress = ? WHERE id = ?', toJson(progress, `job ${id}: progress`), id);
    },
    failUnfinished(reason) {
      return ctx.tx(() => {
        const ids = ctx
          .all<{ id: number }>(`SELECT id FROM jobs WHERE status IN ('queued', 'running')`)
          .map((r) => r.id);
        const now = ctx.now();
        for (const id of ids) {
          ctx.run(
            `UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?`,
            reason,
            now,
            id,
          );
        }
        return ids;
      });
    },
  };
}

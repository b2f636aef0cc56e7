/**
 * The analysis's background evaluation in team mode: each one is a 'review-eval' job of the team's queue
 * (src/jobs/tasks/review-eval.ts) that a worker runs, instead of a thread of this server (job.ts). Same surface as
 * EvalJobs, so the review handlers and the renderer's `review.eval` events do not change; the job ids are the
 * store's, so a restarted server still knows them.
 */
import type { JobQueue, JobState } from '../../jobs/queue.js';
import type { JsonObject, Store } from '../../store/index.js';
import type { EvalJobState } from './job.js';
import { type EvalGroup, planSize, sessionEvalPlan } from './plan.js';

export const REVIEW_EVAL_KIND = 'review-eval';

export interface ReviewEvalParams {
  sessionId: number;
  plan: EvalGroup[];
  /** Explanations the plan measures. */
  total: number;
  metrics?: string;
}

const positive = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

export function reviewEvalParams(raw: JsonObject): ReviewEvalParams {
  const p = raw as Partial<ReviewEvalParams>;
  if (!positive(p.sessionId))
    throw new Error(`review-eval job: sessionId must be a session id, got ${JSON.stringify(p.sessionId)}`);
  const groups = Array.isArray(p.plan) ? p.plan : [];
  const ok = groups.every(
    (g) =>
      positive(g?.runId) &&
      typeof g.method === 'string' &&
      Number.isSafeInteger(g.classIndex) &&
      typeof g.params === 'object' &&
      Array.isArray(g.imageIds) &&
      g.imageIds.every(positive),
  );
  if (groups.length === 0 || !ok)
    throw new Error(`review-eval job of session ${p.sessionId}: its plan is not a list of groups`);
  if (p.metrics !== undefined && typeof p.metrics !== 'string')
    throw new Error('review-eval job: metrics must be text');
  return {
    sessionId: p.sessionId!,
    plan: groups,
    total: planSize(groups),
    ...(p.metrics !== undefined ? { metrics: p.metrics } : {}),
  };
}

/** A job row as the analysis shows its evaluation: queued counts as running (it will, on the next free worker). */
function toState(j: JobState): EvalJobState {
  const p = reviewEvalParams(j.params);
  const result = j.result as { values?: unknown } | null;
  const state = j.status === 'queued' || j.status === 'running' ? 'running' : j.status;
  return {
    jobId: j.id,
    sessionId: p.sessionId,
    state,
    done: state === 'done' ? p.total : (j.progress?.done ?? 0),
    total: j.progress?.total || p.total,
    values: typeof result?.values === 'number' ? result.values : 0,
    error: j.error,
  };
}

export class QueuedEvalJobs {
  constructor(
    private readonly store: Store,
    private readonly queue: JobQueue,
    onChange: (s: EvalJobState) => void,
    private readonly opts: { metrics?: string } = {},
  ) {
    queue.events.on('job', (j) => {
      if (j.kind !== REVIEW_EVAL_KIND) return;
      try {
        onChange(toState(j));
      } catch {
        // Not one of ours (a row with other params): nothing to tell.
      }
    });
  }

  /** The session's running job, or a new one on the queue; throws (plan errors) before anything is queued. */
  async start(sessionId: number): Promise<EvalJobState> {
    const running = this.latest(sessionId);
    if (running?.state === 'running') return running;
    const plan = sessionEvalPlan(this.store, sessionId);
    const params: ReviewEvalParams = {
      sessionId,
      plan,
      total: planSize(plan),
      ...(this.opts.metrics !== undefined ? { metrics: this.opts.metrics } : {}),
    };
    const label = `evaluate review session ${sessionId}: ${params.total} explanations`;
    return toState(await this.queue.start(REVIEW_EVAL_KIND, params as unknown as JsonObject, label));
  }

  async cancel(jobId: number): Promise<boolean> {
    return this.get(jobId) ? this.queue.cancel(jobId) : false;
  }

  get(jobId: number): EvalJobState | undefined {
    const j = this.queue.get(jobId);
    return j?.kind === REVIEW_EVAL_KIND ? toState(j) : undefined;
  }

  latest(sessionId: number): EvalJobState | undefined {
    const j = this.queue
      .list(200)
      .find(
        (x) => x.kind === REVIEW_EVAL_KIND && (x.params as { sessionId?: unknown }).sessionId === sessionId,
      );
    return j && toState(j);
  }

  /** The workers' jobs go on without this server. */
  async close(): Promise<void> {}
}

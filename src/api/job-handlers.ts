/**
 * Jobs started from the workbench (issue 12): export, batch explain, evaluation. Each request is checked here,
 * next to the form (what exists, what the names mean), then handed to the job queue (src/jobs/queue.ts): this
 * process's worker threads by default, team workers through pg-boss when the server was started with a queue. The
 * queue stores the job's status; every change is relayed as a `job.update` event.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { jobKinds } from '../jobs/kinds.js';
import { type JobQueue, type JobState, LocalJobQueue } from '../jobs/queue.js';
import type { JsonObject } from '../store/index.js';
import { ApiError, type JobView } from './contract.js';
import type { XwbService } from './service.js';

export { WORKBENCH_JOB_KINDS } from '../jobs/kinds.js';

const queues = new WeakMap<XwbService, JobQueue>();

/** The service's job queue, for other handler groups that start jobs of their own kinds. */
export function jobQueueOf(service: XwbService): JobQueue | undefined {
  return queues.get(service);
}
/** The old name of jobQueueOf. */
export const jobRunnerOf = jobQueueOf;

export function jobView(j: JobState): JobView {
  return {
    id: j.id,
    kind: j.kind,
    label: j.label,
    status: j.status,
    params: j.params,
    progress: j.progress,
    etaSeconds: j.etaSeconds,
    result: j.result,
    error: j.error,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
  };
}

function checkRun(service: XwbService, runId: number): void {
  const run = service.store.runs.get(runId);
  if (!run) throw new ApiError(`no run ${runId}`, 404, 'runId');
  if (service.store.runs.checkpoints(runId).length === 0) {
    throw new ApiError(
      `run ${runId} has no checkpoint yet (status ${run.status}): nothing to explain`,
      400,
      'runId',
    );
  }
}

async function checkMethods(
  service: XwbService,
  runId: number,
  methods: string[] | undefined,
): Promise<void> {
  const { resolveMethods } = await import('../evaluate/select.js');
  const kind = String(
    (service.store.runs.get(runId)!.config.model as { kind?: unknown } | undefined)?.kind ?? '',
  );
  try {
    resolveMethods(methods?.join(','), kind);
  } catch (e) {
    throw new ApiError((e as Error).message, 400, 'methods');
  }
}

/**
 * `queue` is team mode's (pgboss/server.ts, connected by the caller); without one, jobs run in this process's
 * worker threads as they always did.
 */
export function registerJobHandlers(
  service: XwbService,
  extraKinds: Readonly<Record<string, URL>> = {},
  queue?: JobQueue,
): JobQueue {
  const runner = queue ?? new LocalJobQueue({ store: service.store, kinds: jobKinds(extraKinds) });
  queues.set(service, runner);
  runner.events.on('job', (j) => service.emit({ type: 'job.update', job: jobView(j) }));
  service.onClose(() => runner.close());

  const mustGet = (jobId: number) => {
    const j = runner.get(jobId);
    if (!j) throw new ApiError(`no job ${jobId}`, 404, 'jobId');
    return j;
  };

  service.register('jobs.list', async (req) => runner.list(req.limit).map(jobView));
  service.register('jobs.get', async (req) => jobView(mustGet(req.jobId)));
  service.register('jobs.cancel', async (req) => {
    mustGet(req.jobId);
    return { cancelled: await runner.cancel(req.jobId) };
  });

  service.register('export.start', async (req) => {
    const ds = service.store.datasets.getById(req.datasetId);
    if (!ds) throw new ApiError(`no dataset ${req.datasetId}`, 404, 'datasetId');
    // Relative to what? The server's working folder means nothing to the person at the form.
    if (!isAbsolute(req.outDir)) {
      throw new ApiError(`${req.outDir}: give the full path of the folder to export to`, 400, 'outDir');
    }
    const out = resolve(req.outDir);
    if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
      throw new ApiError(`${out}: exists and is not an empty folder; choose a new folder`, 409, 'outDir');
    }
    const params = { ...req, outDir: out };
    const label = `export ${ds.name}${req.with.length ? ` with ${req.with.join(', ')}` : ''} → ${out}`;
    return jobView(await runner.start('export', params as unknown as JsonObject, label));
  });

  service.register('explain.start', async (req) => {
    checkRun(service, req.runId);
    await checkMethods(service, req.runId, req.methods);
    const what = req.methods ? req.methods.join(', ') : 'default methods';
    const label = `explain run ${req.runId}: ${what} on ${req.split}${req.limit ? ` (first ${req.limit})` : ''}`;
    return jobView(await runner.start('explain', req as unknown as JsonObject, label));
  });

  service.register('eval.start', async (req) => {
    checkRun(service, req.runId);
    await checkMethods(service, req.runId, req.methods);
    const { resolveMetrics } = await import('../evaluate/select.js');
    try {
      resolveMetrics(req.metrics);
    } catch (e) {
      throw new ApiError((e as Error).message, 400, 'metrics');
    }
    const what = req.methods ? req.methods.join(', ') : 'default methods';
    const label = `eval run ${req.runId}: ${what} × ${req.metrics} metrics on ${req.split}${req.limit ? ` (first ${req.limit})` : ''}`;
    return jobView(await runner.start('eval', req as unknown as JsonObject, label));
  });
  return runner;
}

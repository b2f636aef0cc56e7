/**
 * Jobs started from the workbench (issue 12): export, batch explain, evaluation. Each request is checked here,
 * next to the form (what exists, what the names mean), then handed to the generic job runner (src/jobs/), which
 * runs it in a worker thread and stores its status; every change is relayed as a `job.update` event.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { JobRunner, type JobState } from '../jobs/runner.js';
import type { JsonObject } from '../store/index.js';
import { ApiError, type JobView } from './contract.js';
import type { XwbService } from './service.js';

/** The task module of each kind this workbench runs. */
export const WORKBENCH_JOB_KINDS: Readonly<Record<string, URL>> = {
  export: new URL('../jobs/tasks/export.js', import.meta.url),
  explain: new URL('../jobs/tasks/explain.js', import.meta.url),
  eval: new URL('../jobs/tasks/eval.js', import.meta.url),
};

const runners = new WeakMap<XwbService, JobRunner>();

/** The service's job runner, for other handler groups that start jobs of their own kinds. */
export function jobRunnerOf(service: XwbService): JobRunner | undefined {
  return runners.get(service);
}

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

/** Kinds from the compiled .js, or from the sources when this file runs as .ts (tests, tsx). */
function kindsFor(extra: Readonly<Record<string, URL>>): Record<string, URL> {
  const out: Record<string, URL> = {};
  for (const [k, url] of Object.entries({ ...WORKBENCH_JOB_KINDS, ...extra })) {
    out[k] = import.meta.url.endsWith('.ts') ? new URL(url.href.replace(/\.js$/, '.ts')) : url;
  }
  return out;
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

export function registerJobHandlers(
  service: XwbService,
  extraKinds: Readonly<Record<string, URL>> = {},
): JobRunner {
  const runner = new JobRunner({ store: service.store, kinds: kindsFor(extraKinds) });
  runners.set(service, runner);
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
    return { cancelled: runner.cancel(req.jobId) };
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
    return jobView(runner.start('export', params as unknown as JsonObject, label));
  });

  service.register('explain.start', async (req) => {
    checkRun(service, req.runId);
    await checkMethods(service, req.runId, req.methods);
    const what = req.methods ? req.methods.join(', ') : 'default methods';
    const label = `explain run ${req.runId}: ${what} on ${req.split}${req.limit ? ` (first ${req.limit})` : ''}`;
    return jobView(runner.start('explain', req as unknown as JsonObject, label));
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
    return jobView(runner.start('eval', req as unknown as JsonObject, label));
  });
  return runner;
}

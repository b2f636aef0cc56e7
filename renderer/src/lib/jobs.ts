/**
 * The workbench's view of long jobs and runs' status: pure functions over the contract's views, so the Jobs
 * screen, the runs table and the viewer's run picker agree, and they are tested under Node.
 */
import type { JobView, RunView, XwbEvent } from '../../../src/api/contract.js';
import { formatDuration } from './format.js';

export const EXPORT_PARTS = ['ratings', 'masks', 'explanations'] as const;
export type ExportPart = (typeof EXPORT_PARTS)[number];

const ACTIVE = new Set(['queued', 'running']);

export function jobActive(j: Pick<JobView, 'status'>): boolean {
  return ACTIVE.has(j.status);
}

/** The list with `job` put in (replacing its older self), newest first. */
export function upsertJob(jobs: readonly JobView[], job: JobView): JobView[] {
  const rest = jobs.filter((j) => j.id !== job.id);
  return [job, ...rest].sort((a, b) => b.id - a.id);
}

/** Share done, 0..1, or null when the job has not reported progress. */
export function jobFraction(j: Pick<JobView, 'progress'>): number | null {
  const p = j.progress;
  if (!p || p.total <= 0) return null;
  return Math.min(1, Math.max(0, p.done / p.total));
}

/** One line under a job's progress bar: "12 / 48 · explain gradcam · ETA 1 min 03 s". */
export function jobLine(j: JobView): string {
  const parts: string[] = [];
  if (j.progress) parts.push(`${j.progress.done} / ${j.progress.total}`);
  if (j.progress?.stage && jobActive(j)) parts.push(j.progress.stage);
  if (j.status === 'running') parts.push(`ETA ${formatDuration(j.etaSeconds)}`);
  if (j.status === 'queued') parts.push('waiting for the running job');
  if (j.status === 'failed' && j.error) parts.push(j.error);
  return parts.join(' · ');
}

/** What a finished job produced, in a few words (the full result stays in the job). */
export function jobOutcome(j: JobView): string | null {
  if (j.status !== 'done' || j.result === null || typeof j.result !== 'object') return null;
  const r = j.result as Record<string, unknown>;
  if (j.kind === 'export') return `${r.images} images written to ${r.outDir}`;
  if (j.kind === 'explain') {
    const methods = (r.methods as { method: string; computed: number; cached: number }[] | undefined) ?? [];
    return methods.map((m) => `${m.method}: ${m.computed} new, ${m.cached} cached`).join('; ');
  }
  if (j.kind === 'eval') return `${r.values} values on ${r.images} images (see the run's metric table)`;
  if (j.kind === 'train') {
    const from = typeof r.resumedAt === 'string' ? `, this attempt from ${r.resumedAt}` : '';
    return `run ${r.runId} ${r.status}: ${r.epochs} epochs${from} (see the Training screen)`;
  }
  return null;
}

/**
 * The runs list after an event, or the same array when the event says nothing new about a run's row. The runs
 * table shows these fields, so a status move (queued → running → done) shows without reloading the list.
 */
export function applyRunEvent(runs: RunView[], e: XwbEvent): RunView[] {
  let patch: Partial<RunView> | null = null;
  let runId: number | null = null;
  if (e.type === 'run.status') {
    runId = e.runId;
    patch = { status: e.status };
  } else if (e.type === 'train.finished') {
    runId = e.runId;
    patch = { status: e.status, error: e.error };
  } else if (e.type === 'train.progress') {
    runId = e.runId;
    // A step is only reported by a run that trains, whatever its row said (an event missed during a reload).
    patch = { status: 'running', phase: e.phase, epoch: e.epoch };
  }
  if (runId === null || patch === null) return runs;
  const i = runs.findIndex((r) => r.id === runId);
  if (i < 0) return runs;
  const old = runs[i];
  const changed = Object.entries(patch).some(([k, v]) => old[k as keyof RunView] !== v);
  if (!changed) return runs;
  const next = runs.slice();
  next[i] = { ...old, ...patch };
  return next;
}

/** A run the trainer can continue (`train.resume`). */
export function resumable(r: Pick<RunView, 'status'>): boolean {
  return r.status === 'failed' || r.status === 'cancelled';
}

/**
 * The viewer's run choices: this dataset's runs, without cancelled ones unless asked for (they rarely hold the
 * model one wants to look at) — but the selected run stays, so the picker never shows a run that is not in it.
 */
export function viewerRuns(
  runs: readonly RunView[],
  datasetId: number | null,
  showCancelled: boolean,
  selected: number | null,
): RunView[] {
  return runs.filter(
    (r) => r.datasetId === datasetId && (showCancelled || r.status !== 'cancelled' || r.id === selected),
  );
}

export interface ExportForm {
  outDir: string;
  parts: Record<ExportPart, boolean>;
}

/** The export form → the request, or the field and message to show next to it. */
export function exportRequest(
  datasetId: number,
  f: ExportForm,
):
  | { ok: true; req: { datasetId: number; outDir: string; with: ExportPart[] } }
  | { ok: false; field: string; message: string } {
  const outDir = f.outDir.trim();
  if (outDir === '') return { ok: false, field: 'outDir', message: 'give the folder to export to' };
  // Absolute on this machine: / on Linux and macOS, C:\ or \\server on Windows.
  if (!/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(outDir)) {
    return {
      ok: false,
      field: 'outDir',
      message: `${outDir}: give the full path of the folder (e.g. /home/me/export)`,
    };
  }
  return { ok: true, req: { datasetId, outDir, with: EXPORT_PARTS.filter((p) => f.parts[p]) } };
}

/** "gradient, gradcam" → ['gradient', 'gradcam']; empty → undefined (the server's default methods). */
export function methodList(text: string): string[] | undefined {
  const names = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return names.length ? names : undefined;
}

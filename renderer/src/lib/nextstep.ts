/**
 * The gallery's "next step" strip: where a person is on the path data → trained model → explanation → review,
 * worked out from the dataset's runs and the training events, so a newcomer always sees what to do next (on
 * first start: the demo model's progress, then a link to its explanation).
 */
import type { RunView } from '../../../src/api/contract.js';

export interface RunProgress {
  phase: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  etaSeconds: number | null;
}

export type NextStep =
  | { kind: 'untrained' }
  | { kind: 'training'; runId: number; fraction: number | null; text: string }
  | { kind: 'trained'; runId: number; model: string }
  | { kind: 'failed'; runId: number; error: string };

const PHASES = ['classifier', 'explainer', 'joint'] as const;

/** The epochs of each phase a run's config plans (0 for phases it does not run). */
export function plannedEpochs(config: Record<string, unknown>): Record<string, number> {
  const phases = (config.phases ?? {}) as Record<string, { epochs?: unknown } | undefined>;
  const out: Record<string, number> = {};
  for (const p of PHASES) {
    const e = phases[p]?.epochs;
    out[p] = typeof e === 'number' && e > 0 ? e : 0;
  }
  return out;
}

/** How far a run is, over all its phases, from its latest progress event (null before the first one). */
export function runFraction(config: Record<string, unknown>, p: RunProgress | undefined): number | null {
  if (!p) return null;
  const plan = plannedEpochs(config);
  const total = PHASES.reduce((s, k) => s + plan[k], 0);
  if (total === 0) return null;
  const i = PHASES.indexOf(p.phase as (typeof PHASES)[number]);
  if (i < 0) return null;
  const before = PHASES.slice(0, i).reduce((s, k) => s + plan[k], 0);
  const within = p.steps > 0 ? p.epoch - 1 + p.step / p.steps : p.epoch - 1;
  return Math.min(1, Math.max(0, (before + within) / total));
}

function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  return seconds < 60
    ? ` · about ${Math.max(1, Math.round(seconds))} s left in this phase`
    : ` · about ${Math.round(seconds / 60)} min left in this phase`;
}

/** The strip's state for a dataset: a running run first, then the newest finished one, then the newest failure. */
export function nextStep(
  datasetId: number,
  runs: readonly RunView[],
  progress: Readonly<Record<number, RunProgress | undefined>>,
): NextStep {
  const mine = runs.filter((r) => r.datasetId === datasetId);
  const running = mine.find((r) => r.status === 'running' || r.status === 'queued');
  if (running) {
    const p = progress[running.id];
    const text = p
      ? `${p.phase} phase, epoch ${p.epoch} of ${p.epochs}${eta(p.etaSeconds)}`
      : 'starting (loading the images and the engine)…';
    return { kind: 'training', runId: running.id, fraction: runFraction(running.config, p), text };
  }
  const done = mine.find((r) => r.status === 'done');
  if (done) return { kind: 'trained', runId: done.id, model: done.model };
  const failed = mine.find((r) => r.status === 'failed');
  if (failed) return { kind: 'failed', runId: failed.id, error: failed.error ?? 'no reason recorded' };
  return { kind: 'untrained' };
}

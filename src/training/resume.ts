/**
 * Where a resumed run starts, worked out from what the stopped run recorded (pure: rows in, plan out).
 *
 * The store keeps stopped runs as they ended (a failed or cancelled run never runs again), so a resume is a NEW
 * run that copies the old one's history up to its latest checkpoint and continues from there:
 * - its latest checkpoint C (phase P, epoch e) is the starting model; epochs P/e+1… are run again (rows the old
 *   run recorded after its last checkpoint are not copied, so each epoch appears once);
 * - if phase P had ended at e (its last epoch, or early stopping, or a dead explainer: the epoch row says
 *   `phase_end = 1`), the next phase starts from P's best checkpoint, as it would have;
 * - the best-so-far of phase P is restored from its `is_best` checkpoint, so early stopping and the choice of the
 *   best continue as before. The optimiser state is not restored: it restarts at C.
 */
import type { Checkpoint, EpochRecord } from '../store/index.js';
import { activePhases, type PhaseName, phaseConfig, type TrainConfig } from './config.js';

export interface BestSoFar {
  epoch: number;
  valLoss: number;
}

export interface ResumePlan {
  /** Index into activePhases(config) of the first phase to run; = its length when nothing is left to do. */
  phaseIndex: number;
  /** First epoch (1-based) to run in that phase. */
  startEpoch: number;
  /** The model to start from; null = a freshly initialised one. */
  startFrom: Checkpoint | null;
  /** Best validation loss of that phase so far (when continuing a phase). */
  best: BestSoFar | null;
  /** The history to copy into the new run. */
  epochs: EpochRecord[];
  checkpoints: Checkpoint[];
}

/** A fresh run's plan. */
export function startPlan(): ResumePlan {
  return { phaseIndex: 0, startEpoch: 1, startFrom: null, best: null, epochs: [], checkpoints: [] };
}

/**
 * The checkpoint a phase hands on to the next: its best, else (a phase with no live epoch) what it was given,
 * i.e. the previous phase's hand-on; null when no phase before has one (start from fresh weights).
 */
export function handOn(
  phases: readonly PhaseName[],
  index: number,
  checkpoints: readonly Checkpoint[],
): Checkpoint | null {
  for (let k = index; k >= 0; k--) {
    const best = checkpoints.find((c) => c.phase === phases[k] && c.isBest);
    if (best) return best;
  }
  return null;
}

export function planResume(
  config: TrainConfig,
  epochs: readonly EpochRecord[],
  checkpoints: readonly Checkpoint[],
): ResumePlan {
  const phases = activePhases(config);
  const order = (c: { phase: string; epoch: number }) =>
    [phases.indexOf(c.phase as PhaseName), c.epoch] as const;
  const usable = checkpoints.filter((c) => phases.includes(c.phase as PhaseName));
  if (usable.length === 0) return startPlan();
  const latest = usable.reduce((a, b) => {
    const [pa, ea] = order(a);
    const [pb, eb] = order(b);
    return pb > pa || (pb === pa && eb > ea) ? b : a;
  });
  const [p, e] = order(latest);
  const upTo = (c: { phase: string; epoch: number }) => {
    const [pc, ec] = order(c);
    return pc >= 0 && (pc < p || (pc === p && ec <= e));
  };
  const keptEpochs = epochs.filter(upTo);
  const keptCheckpoints = usable.filter(upTo);
  const phase = phases[p];
  const row = keptEpochs.find((r) => r.phase === phase && r.epoch === e);
  const ended = row?.metrics.phase_end === 1 || e >= phaseConfig(config, phase).epochs;
  if (ended) {
    return {
      phaseIndex: p + 1,
      startEpoch: 1,
      startFrom: handOn(phases, p, keptCheckpoints),
      best: null,
      epochs: keptEpochs,
      checkpoints: keptCheckpoints,
    };
  }
  const best = keptCheckpoints.find((c) => c.phase === phase && c.isBest);
  return {
    phaseIndex: p,
    startEpoch: e + 1,
    startFrom: latest,
    best: best && best.valLoss !== null ? { epoch: best.epoch, valLoss: best.valLoss } : null,
    epochs: keptEpochs,
    checkpoints: keptCheckpoints,
  };
}

/**
 * A run's summary, derived from its recorded epoch rows alone (so a resumed run summarises its copied history the
 * same way), and the names of the per-epoch metrics.
 */
import type { EpochRecord } from '../store/index.js';
import { activePhases, type PhaseName, phaseConfig, type TrainConfig } from './config.js';
import type { PhaseSummary } from './events.js';

/**
 * Keys of the metrics recorded for every epoch. Losses are means per image; `expl_mean` is the mean map value of
 * the training steps, `val_expl_mean` of the validation pass (inference mode; 1 in the classifier phase, which
 * runs on a white map). Flags are 0/1.
 */
export const METRIC_KEYS = [
  'loss',
  'ce',
  'l1',
  'tv',
  'hybrid',
  'block',
  'acc',
  'expl_mean',
  'val_loss',
  'val_ce',
  'val_acc',
  'val_expl_mean',
  'train_seconds',
  'images_per_s',
  'is_best',
  'dead_explainer',
  'phase_end',
  'early_stop',
] as const;

export function deadExplainerMessage(
  phase: PhaseName,
  epoch: number,
  mean: number,
  threshold: number,
): string {
  return (
    `phase ${phase}, epoch ${epoch}: the explainer is dead (mean validation activation ${mean.toExponential(2)} < ` +
    `${threshold}). Its tanh-then-ReLU output is 0, which passes no gradient, so it cannot recover. Give the ` +
    'explanation loss less weight (a higher alpha or a lower --l1), or start the map whiter (explainerBias).'
  );
}

export function summarise(
  config: TrainConfig,
  epochs: readonly EpochRecord[],
): { phases: PhaseSummary[]; warnings: string[] } {
  const warnings: string[] = [];
  const phases = activePhases(config).map((phase): PhaseSummary => {
    const rows = epochs.filter((r) => r.phase === phase).sort((a, b) => a.epoch - b.epoch);
    let best: PhaseSummary['best'] = null;
    let seconds = 0;
    let trainSeconds = 0;
    let images = 0;
    let stoppedBy: PhaseSummary['stoppedBy'] = null;
    for (const r of rows) {
      const m = r.metrics;
      if (m.is_best === 1) best = { epoch: r.epoch, valLoss: m.val_loss, valAcc: m.val_acc };
      if (m.dead_explainer === 1) {
        warnings.push(deadExplainerMessage(phase, r.epoch, m.val_expl_mean, config.deadExplainer.threshold));
      }
      seconds += r.seconds ?? 0;
      if (m.train_seconds > 0 && m.images_per_s > 0) {
        trainSeconds += m.train_seconds;
        images += m.images_per_s * m.train_seconds;
      }
      if (m.phase_end === 1) {
        stoppedBy =
          m.dead_explainer === 1 && config.deadExplainer.stopPhase
            ? 'dead-explainer'
            : m.early_stop === 1
              ? 'patience'
              : null;
      }
    }
    const last = rows.at(-1);
    return {
      phase,
      epochs: rows.length,
      plannedEpochs: phaseConfig(config, phase).epochs,
      stoppedBy,
      best,
      final: last
        ? {
            epoch: last.epoch,
            loss: last.metrics.loss,
            acc: last.metrics.acc,
            valLoss: last.metrics.val_loss,
            valAcc: last.metrics.val_acc,
          }
        : null,
      seconds,
      imagesPerSecond: trainSeconds > 0 ? images / trainSeconds : null,
    };
  });
  return { phases, warnings };
}

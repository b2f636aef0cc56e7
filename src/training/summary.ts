/**
 * A run's summary, derived from its recorded epoch rows alone (so a resumed run summarises its copied history the
 * same way), and the names of the per-epoch metrics.
 */
import type { EpochRecord } from '../store/index.js';
import { activePhases, type PhaseName, phaseConfig, type TrainConfig } from './config.js';
import { epochWarning, mapWarning } from './diagnostics.js';
import type { PhaseSummary } from './events.js';

/**
 * Keys of the metrics recorded for every epoch. Losses are means per image; `expl_mean` is the mean map value of
 * the training steps, `val_expl_mean` of the validation pass (inference mode; 1 in the classifier phase, which
 * runs on a white map). `val_map_std` and `val_map_across_std` are the map's spread within an image and across
 * images (diagnostics.ts; NaN where the map is not measured: the classifier phase, the classifier kind). Flags
 * are 0/1; `map_flat` and `map_saturated` are the diagnostics' verdicts.
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
  'val_map_std',
  'val_map_across_std',
  'train_seconds',
  'images_per_s',
  'is_best',
  'dead_explainer',
  'map_flat',
  'map_saturated',
  'phase_end',
  'early_stop',
] as const;

export function deadExplainerMessage(
  phase: PhaseName,
  epoch: number,
  mean: number,
  threshold: number,
  head: 'tanh-relu' | 'sigmoid' = 'tanh-relu',
): string {
  const w = mapWarning(
    'dead',
    phase,
    epoch,
    { mean, withinStd: Number.NaN, acrossStd: Number.NaN },
    threshold,
    head,
  );
  return `${w.message} ${w.advice}`;
}

export function summarise(
  config: TrainConfig,
  epochs: readonly EpochRecord[],
): { phases: PhaseSummary[]; warnings: string[] } {
  const warnings: string[] = [];
  const threshold = config.deadExplainer.threshold;
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
        warnings.push(
          deadExplainerMessage(
            phase,
            r.epoch,
            m.val_expl_mean,
            config.deadExplainer.threshold,
            config.model.explainerHead,
          ),
        );
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
    // A flat or white map is reported as the phase left it (an early epoch's that later recovered is history);
    // a dead one at every dead epoch, above.
    const w =
      last && last.metrics.dead_explainer !== 1
        ? epochWarning(phase, last.epoch, last.metrics, threshold, config.model.explainerHead)
        : null;
    if (w) warnings.push(`${w.message} ${w.advice}`);
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

/**
 * What each training phase trains and how it runs the model (Rio-Torto et al. 2019, and the reference code):
 *
 * - classifier: only the classifier's variables get gradients; it runs in training mode on a constant white map
 *   (the model's `whiteExplanation`), so the explainer is neither trained nor even run.
 * - explainer: only the explainer's variables get gradients. With `frozenStatistics` (the reference) the
 *   classifier runs in INFERENCE mode, so its batch norm statistics stay put and its dropout is off. Without it
 *   (the default) its weights stay put but it runs in training mode: batch norm normalises with the batch's own
 *   statistics and its moving averages follow the gated features. A classifier whose statistics were fixed on a
 *   white map sees a shrinking map as an ever stranger input, and its gradient does not say which pixels to
 *   keep: measured, the map then collapses to zero within an epoch or two (docs/paper-reproduction.md).
 * - joint: everything trains, both parts in training mode.
 * Validation always runs both parts in inference mode, on the white map in the classifier phase.
 */
import type { tf } from '../engine/tf.js';
import type { ForwardOptions, XwbModel } from '../models/index.js';
import type { PhaseName } from './config.js';

export interface PhaseBehaviour {
  phase: PhaseName;
  /** Forward options of a training step. */
  train: ForwardOptions;
  /** Forward options of validation and prediction within the phase. */
  evaluate: ForwardOptions;
  /** The variables the phase's optimiser updates. */
  variables(model: XwbModel): tf.Variable[];
  /** The same as parts of the model (what a data-parallel step trains). */
  parts: ('explainer' | 'classifier')[];
  /** Whether the mean activation of the map says anything about the explainer (for dead-explainer checks). */
  watchesExplainer: boolean;
}

export function phaseBehaviour(
  model: Pick<XwbModel, 'kind'>,
  phase: PhaseName,
  frozenStatistics = true,
): PhaseBehaviour {
  const kind = model.kind;
  if (phase === 'classifier') {
    if (kind === 'xcnn')
      throw new Error('an xcnn model has no classifier-alone phase (its classifier sees only the map)');
    // The classifier kind always gates with a white map; expclass asks for one.
    const white = kind === 'expclass';
    return {
      phase,
      train: { training: { explainer: false, classifier: true }, whiteExplanation: white },
      evaluate: { training: false, whiteExplanation: white },
      variables: (m) => [...m.variables.classifier],
      parts: ['classifier'],
      watchesExplainer: false,
    };
  }
  if (kind === 'classifier')
    throw new Error(`a classifier model has no ${phase} phase (it has no explainer)`);
  if (phase === 'explainer') {
    return {
      phase,
      train: { training: { explainer: true, classifier: !frozenStatistics } },
      evaluate: { training: false },
      variables: (m) => [...m.variables.explainer],
      parts: ['explainer'],
      // Only expclass's tanh-then-ReLU map can die; xcnn's tanh map passes gradients at 0.
      watchesExplainer: kind === 'expclass',
    };
  }
  return {
    phase,
    train: { training: true },
    evaluate: { training: false },
    variables: (m) => [...m.variables.explainer, ...m.variables.classifier],
    parts: ['explainer', 'classifier'],
    watchesExplainer: kind === 'expclass',
  };
}

/**
 * The optimisers of a phase, and one update step with the weight decay the reference code uses.
 *
 * - sgd: momentum 0.9 (PyTorch's SGD as in expclass_torch.py; tfjs' momentum optimiser keeps the same
 *   v ← 0.9·v + g, w ← w − lr·v update).
 * - adadelta: ρ 0.95, ε 1e-7, Keras 2's defaults, which the 2019 paper used.
 * - adam: β₁ 0.9, β₂ 0.999, ε 1e-7 (tfjs' defaults).
 * Weight decay is coupled L2 like PyTorch's `weight_decay`: wd·w is added to the gradient before the update.
 *
 * The optimiser state (momenta, accumulators) is not saved in checkpoints: a resumed run, and each phase, starts
 * with a fresh optimiser at the saved weights.
 */
import { tf } from '../engine/tf.js';
import type { OptimizerName, PhaseConfig } from './config.js';

export function createOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.momentum(lr, 0.9);
    case 'adadelta':
      return tf.train.adadelta(lr, 0.95, 1e-7);
    case 'adam':
      return tf.train.adam(lr, 0.9, 0.999, 1e-7);
    default:
      throw new Error(`unknown optimiser ${JSON.stringify(name)}; use sgd, adadelta or adam`);
  }
}

/** An optimiser bound to the variables one phase trains. */
export class PhaseOptimizer {
  private readonly optimizer: tf.Optimizer;
  private readonly weightDecay: number;

  constructor(
    config: Pick<PhaseConfig, 'optimizer' | 'lr' | 'weightDecay'>,
    readonly variables: readonly tf.Variable[],
  ) {
    if (variables.length === 0) throw new Error('PhaseOptimizer: a phase must train at least one variable');
    this.optimizer = createOptimizer(config.optimizer, config.lr);
    this.weightDecay = config.weightDecay;
  }

  /** Applies the gradients (keyed by variable name, as tf.variableGrads returns them) and disposes them. */
  apply(grads: tf.NamedTensorMap): void {
    const byName = new Map(this.variables.map((v) => [v.name, v]));
    const decayed: tf.NamedTensorMap = {};
    try {
      for (const [name, g] of Object.entries(grads)) {
        const v = byName.get(name);
        if (v === undefined)
          throw new Error(`internal: gradient for ${name}, which this phase does not train`);
        decayed[name] = this.weightDecay > 0 ? tf.tidy(() => tf.add(g, tf.mul(this.weightDecay, v))) : g;
      }
      this.optimizer.applyGradients(decayed);
    } finally {
      tf.dispose(Object.values(grads));
      if (this.weightDecay > 0) tf.dispose(Object.values(decayed));
    }
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

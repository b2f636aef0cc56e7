import { tf } from '../engine/tf.js';

interface SeededDropoutConfig {
  name?: string;
  rate: number;
  seed?: number;
}

/**
 * Dropout whose masks are reproducible from a seed yet differ on every training call. tfjs's own
 * `layers.dropout({seed})` draws the SAME mask on every call, which silently turns dropout into a fixed pruning
 * of units; here the k-th training call uses seed + k·7919, so a seeded run repeats exactly and each step still
 * gets a fresh mask. Unseeded, it draws from tfjs's global generator.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'XwbSeededDropout';
  readonly rate: number;
  readonly seed: number | undefined;
  private calls = 0;

  constructor(config: SeededDropoutConfig) {
    super({ name: config.name });
    if (!(config.rate >= 0 && config.rate < 1))
      throw new Error(`dropout rate must be in [0, 1), got ${config.rate}`);
    this.rate = config.rate;
    this.seed = config.seed;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || this.rate === 0) return x.clone();
    const seed = this.seed === undefined ? undefined : this.seed + 7919 * this.calls++;
    return tf.dropout(x, this.rate, undefined, seed);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

tf.serialization.registerClass(SeededDropout);

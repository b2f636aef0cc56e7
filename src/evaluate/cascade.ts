/**
 * Model-parameter randomisation without re-randomising per batch: the cascade (randomise.ts's rule: each
 * layer's weights shuffled by a seeded permutation, top-down) is computed ONCE on a copy of the model and each
 * stage's weights are kept, so any batch of images can then walk the stages by setting weights — no checkpoint
 * reload, no second shuffle. The weights after stage k are exactly those `randomisationStages` produces, so the
 * maps are the same.
 *
 * Also here: the channel that hands a waiting metric its stages one by one, so every image of a batch and every
 * method can consume stage k while the model sits at stage k.
 */
import { tf } from '../engine/tf.js';
import type { RandomisationStage } from '../metrics/index.js';
import type { XwbModel } from '../models/index.js';
import { Random } from '../util/random.js';
import { layersTopDown, shuffleLayer } from './randomise.js';

export class RandomisationCascade {
  private constructor(
    readonly model: XwbModel,
    /** "<part>/<layer>" per stage, top-down. */
    readonly stages: readonly string[],
    private readonly layers: readonly tf.layers.Layer[],
    private readonly original: readonly tf.Tensor[][],
    private readonly randomised: readonly tf.Tensor[][],
    private at: number,
  ) {}

  /** Randomises `copy` (a model nobody else uses; the caller disposes it) once, keeping every stage. */
  static create(copy: XwbModel, seed: number): RandomisationCascade {
    const rng = new Random(seed);
    const layers = layersTopDown(copy);
    const original = layers.map(({ layer }) => layer.getWeights().map((w) => w.clone()));
    const randomised: tf.Tensor[][] = [];
    for (const { name, layer } of layers) {
      shuffleLayer(layer, rng.fork(name));
      randomised.push(layer.getWeights().map((w) => w.clone()));
    }
    const cascade = new RandomisationCascade(
      copy,
      layers.map((l) => l.name),
      layers.map((l) => l.layer),
      original,
      randomised,
      layers.length - 1,
    );
    cascade.reset();
    return cascade;
  }

  /** Back to the trained weights (before stage 0). */
  reset(): void {
    // Reverse order, so a layer nested in another ends with its own original values.
    for (let i = this.layers.length - 1; i >= 0; i--) this.layers[i].setWeights(this.original[i]);
    this.at = -1;
  }

  /** Moves the model to stage `k` (layers 0…k randomised); stages are walked forwards from reset(). */
  advance(k: number): void {
    if (k !== this.at + 1) throw new Error(`internal: randomisation stage ${k} after stage ${this.at}`);
    this.layers[k].setWeights(this.randomised[k]);
    this.at = k;
  }

  dispose(): void {
    for (const ws of [...this.original, ...this.randomised]) tf.dispose(ws);
  }
}

/** An async iterable fed from outside: `push` stages as they are computed, then `end` (or `fail`). */
export class StageChannel implements AsyncIterable<RandomisationStage> {
  private readonly buffer: RandomisationStage[] = [];
  private waiting: {
    resolve: (r: IteratorResult<RandomisationStage>) => void;
    reject: (e: Error) => void;
  } | null = null;
  private ended = false;
  private error: Error | null = null;

  push(stage: RandomisationStage): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value: stage, done: false });
    } else this.buffer.push(stage);
  }

  end(): void {
    this.ended = true;
    this.settle();
  }

  fail(error: Error): void {
    this.error = error;
    this.settle();
  }

  private settle(): void {
    if (!this.waiting || this.buffer.length > 0) return;
    const w = this.waiting;
    this.waiting = null;
    if (this.error) w.reject(this.error);
    else w.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<RandomisationStage> {
    return {
      next: () => {
        const stage = this.buffer.shift();
        if (stage) return Promise.resolve({ value: stage, done: false });
        if (this.error) return Promise.reject(this.error);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = { resolve, reject };
        });
      },
    };
  }
}

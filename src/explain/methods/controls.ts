/**
 * Controls every metric should be run against: the input itself (a method that scores no better than the
 * image's own brightness explains nothing) and seeded uniform noise (the chance level).
 */
import { tf } from '../../engine/tf.js';
import { Random } from '../../util/random.js';
import { checkInt, checkOneOf } from '../checks.js';
import { defineMethod } from '../run.js';
import { REDUCTIONS, type Reduction, reduceChannels } from '../tensor.js';

export const inputControl = defineMethod({
  name: 'input',
  family: 'control',
  description: 'control: the input image reduced over its channels (mean by default: the brightness)',
  classSpecific: false,
  defaults: { reduce: 'mean' as Reduction },
  check: (p, where) => checkOneOf(p.reduce, 'reduce', where, REDUCTIONS),
  async run({ x, params }) {
    return { map: tf.tidy(() => reduceChannels(x, params.reduce)) };
  },
});

export const randomControl = defineMethod({
  name: 'random',
  family: 'control',
  description: 'control: uniform noise in [0, 1), seeded per image index (independent of the batch size)',
  classSpecific: false,
  defaults: { seed: 0 },
  check: (p, where) => checkInt(p.seed, 'seed', where, 0),
  async run({ model, x, params, offset }) {
    const n = x.shape[0];
    const side = model.inputSize;
    const values = new Float32Array(n * side * side);
    const root = new Random(params.seed);
    for (let i = 0; i < n; i++) {
      const rng = root.fork(`image:${offset + i}`);
      for (let k = i * side * side; k < (i + 1) * side * side; k++) values[k] = rng.next();
    }
    return { map: tf.tensor3d(values, [n, side, side]) };
  },
});

/**
 * RISE (Petsiuk et al. 2018): saliency = Σ_i f(x ⊙ M_i) · M_i / (N · p) over N random masks. Each mask is a
 * grid of cells kept with probability p, upsampled bilinearly to (cells + 1) · cell pixels and cropped at a
 * random shift in [0, cell) so the soft edges fall anywhere. Masks depend only on the seed and their index,
 * so every image (and every batch size) sees the same masks. The score defaults to the class probability, as in
 * the paper.
 */
import { tf } from '../../engine/tf.js';
import { Random } from '../../util/random.js';
import { checkInt, checkNumber, checkOneOf } from '../checks.js';
import { defineMethod } from '../run.js';
import { classScores, logitsOf, oneHotRows, type ScoreKind } from '../tensor.js';
import { addInto, chunks, imageAt, stackMaps } from './accumulate.js';
import { SCORES } from './occlusion.js';

/** Masks [k, side, side, 1] number first .. first + k − 1 (inside tf.tidy). */
export function riseMasks(
  side: number,
  cell: number,
  p: number,
  seed: number,
  first: number,
  k: number,
): tf.Tensor4D {
  const cells = Math.ceil(side / cell);
  const up = (cells + 1) * cell;
  const grid = new Float32Array(k * (cells + 1) * (cells + 1));
  const shifts: [number, number][] = [];
  const root = new Random(seed);
  for (let m = 0; m < k; m++) {
    const rng = root.fork(`mask:${first + m}`);
    const base = m * (cells + 1) * (cells + 1);
    for (let j = 0; j < (cells + 1) * (cells + 1); j++) grid[base + j] = rng.bool(p) ? 1 : 0;
    shifts.push([rng.int(0, cell - 1), rng.int(0, cell - 1)]);
  }
  // One cell more than the image needs per side, so that every shift still covers the whole image.
  const big = tf.image.resizeBilinear(tf.tensor4d(grid, [k, cells + 1, cells + 1, 1]), [up, up], false, true);
  const crops = shifts.map(([dy, dx], m) => tf.slice(big, [m, dy, dx, 0], [1, side, side, 1]));
  return tf.concat(crops, 0) as tf.Tensor4D;
}

export const rise = defineMethod({
  name: 'rise',
  family: 'perturbation',
  description: 'RISE: class score under random soft masks, averaged with the masks (Petsiuk et al. 2018)',
  classSpecific: true,
  defaults: {
    masks: 500,
    cell: 8,
    probability: 0.5,
    seed: 0,
    score: 'probability' as ScoreKind,
    internalBatch: 32,
  },
  check: (p, where) => {
    checkInt(p.masks, 'masks', where, 1);
    checkInt(p.cell, 'cell', where, 1);
    checkNumber(p.probability, 'probability', where, 0, 1, true);
    checkInt(p.seed, 'seed', where, 0);
    checkOneOf(p.score, 'score', where, SCORES);
    checkInt(p.internalBatch, 'internalBatch', where, 1);
  },
  cost: (p, n) => n * Math.ceil(p.masks / p.internalBatch),
  async run({ model, x, classes, params, step }) {
    const side = model.inputSize;
    const n = x.shape[0];
    const sums: (tf.Tensor | null)[] = new Array(n).fill(null);
    try {
      for (const [a, b] of chunks(params.masks, params.internalBatch)) {
        const masks = tf.tidy(() => riseMasks(side, params.cell, params.probability, params.seed, a, b - a));
        try {
          for (let i = 0; i < n; i++) {
            const part = tf.tidy(() => {
              const x1 = imageAt(x, i);
              const s = classScores(
                logitsOf(model, tf.mul(x1, masks) as tf.Tensor4D),
                tf.tile(oneHotRows([classes[i]], model.classes), [b - a, 1]),
                params.score,
              );
              return tf.sum(tf.mul(masks, s.reshape([-1, 1, 1, 1])), 0, true);
            });
            sums[i] = addInto(sums[i], part);
            await step.tick();
          }
        } finally {
          masks.dispose();
        }
      }
      const maps = sums.map((s) =>
        tf.tidy(() => tf.div(tf.squeeze(s as tf.Tensor, [3]), params.masks * params.probability)),
      );
      return { map: stackMaps(maps) };
    } finally {
      tf.dispose(sums.filter((s): s is tf.Tensor => s !== null));
    }
  },
});

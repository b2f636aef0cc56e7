/**
 * SmoothGrad (Smilkov et al. 2017) and its variants from Adebayo et al. 2018: gradients averaged over noisy
 * copies of the image (mean), the mean of their squares (SquareGrad), or their variance (VarGrad).
 * The noise is Gaussian with σ = noise · (max − min) of the image, the paper's "noise level" as a fraction of
 * the input range; noise is seeded per image index and chunk, so results do not depend on the batch size.
 */
import { tf } from '../../engine/tf.js';
import { Random } from '../../util/random.js';
import { checkInt, checkNumber, checkOneOf } from '../checks.js';
import type { Passes } from '../passes/types.js';
import { defineMethod, type Stepper } from '../run.js';
import { REDUCTIONS, type Reduction, reduceChannels, repeatImage } from '../tensor.js';
import { addInto, chunks, imageAt, stackMaps } from './accumulate.js';
import { finishGradient, GRADIENT_MODES, type GradientMode } from './gradient.js';

type Variant = 'mean' | 'square' | 'var';

interface SmoothParams {
  samples: number;
  noise: number;
  seed: number;
  internalBatch: number;
  [key: string]: number | string;
}

/**
 * Sum and sum of squares of the gradients of `samples` noisy copies of one image [1, S, S, C]. The noise of
 * each chunk of internalBatch copies has its own seed (so the maps do not depend on how many replicas run);
 * a pool of R replicas takes R chunks in one call.
 */
async function noisyGradients(
  x1: tf.Tensor4D,
  cls: number,
  p: SmoothParams,
  seedLabel: string,
  step: Stepper,
  passes: Passes,
  early?: (sum: tf.Tensor4D, sumSq: tf.Tensor4D, samples: number) => Promise<void>,
): Promise<{ sum: tf.Tensor4D; sumSq: tf.Tensor4D }> {
  const sigma = tf.tidy(() => tf.sub(tf.max(x1), tf.min(x1)).mul(p.noise).dataSync()[0]);
  const root = new Random(p.seed).fork(seedLabel);
  const all = chunks(p.samples, p.internalBatch);
  let sum: tf.Tensor4D | null = null;
  let sumSq: tf.Tensor4D | null = null;
  try {
    // The first call takes one chunk (split across the replicas), so a coarse map comes early; then R chunks.
    for (let c = 0; c < all.length; c += c === 0 ? 1 : passes.replicas) {
      const group = all.slice(c, c === 0 ? 1 : c + passes.replicas);
      const noisy = tf.tidy(() =>
        tf.concat(
          group.map(([a, b]) => {
            const k = b - a;
            const seed = root.fork(`chunk:${a}`).nextUint32();
            return tf.add(
              repeatImage(x1, k),
              tf.randomNormal([k, ...x1.shape.slice(1)], 0, sigma, 'float32', seed),
            ) as tf.Tensor4D;
          }),
          0,
        ),
      );
      const k = noisy.shape[0];
      let grads: tf.Tensor4D;
      try {
        grads = await passes.inputGradients(noisy, new Array<number>(k).fill(cls));
      } finally {
        noisy.dispose();
      }
      const [g, g2] = tf.tidy(() => [
        tf.sum(grads, 0, true) as tf.Tensor4D,
        tf.sum(tf.square(grads), 0, true) as tf.Tensor4D,
      ]);
      grads.dispose();
      sum = addInto(sum, g);
      sumSq = addInto(sumSq, g2);
      if (c === 0 && k < p.samples && early) await early(sum, sumSq, k);
      await step.tick(group.length);
    }
  } catch (err) {
    tf.dispose([sum, sumSq].filter((t): t is tf.Tensor4D => t !== null));
    throw err;
  }
  return { sum: sum as tf.Tensor4D, sumSq: sumSq as tf.Tensor4D };
}

function smoothMethod(name: string, variant: Variant, description: string) {
  return defineMethod({
    name,
    family: 'gradient',
    description,
    classSpecific: true,
    defaults: {
      samples: 25,
      noise: 0.15,
      seed: 0,
      internalBatch: 16,
      // Only the mean variant has a sign to keep or drop; squares and variances are non-negative already.
      mode: (variant === 'mean' ? 'abs' : 'signed') as GradientMode,
      reduce: (variant === 'mean' ? 'max' : 'sum') as Reduction,
    },
    check: (p, where) => {
      checkInt(p.samples, 'samples', where, 1);
      checkNumber(p.noise, 'noise', where, 0, 10);
      checkInt(p.seed, 'seed', where, 0);
      checkInt(p.internalBatch, 'internalBatch', where, 1);
      checkOneOf(p.mode, 'mode', where, GRADIENT_MODES);
      checkOneOf(p.reduce, 'reduce', where, REDUCTIONS);
    },
    cost: (p, n) => n * Math.ceil(p.samples / p.internalBatch),
    async run({ x, classes, params, offset, step, passes }) {
      const maps: tf.Tensor[] = [];
      try {
        for (let i = 0; i < x.shape[0]; i++) {
          const x1 = imageAt(x, i);
          let acc: { sum: tf.Tensor4D; sumSq: tf.Tensor4D } | null = null;
          try {
            const finish = (sum: tf.Tensor4D, sumSq: tf.Tensor4D, samples: number) =>
              tf.tidy(() => {
                const mean = tf.div(sum, samples) as tf.Tensor4D;
                if (variant === 'mean') return finishGradient(mean, params.mode, params.reduce);
                const meanSq = tf.div(sumSq, samples) as tf.Tensor4D;
                if (variant === 'square') return reduceChannels(meanSq, params.reduce);
                // E[g²] − E[g]² can round a hair below zero; a variance cannot be negative.
                return reduceChannels(tf.relu(tf.sub(meanSq, tf.square(mean))) as tf.Tensor4D, params.reduce);
              });
            // The first chunks' samples make a SmoothGrad with fewer samples: shown while the rest run.
            const early = step.wantsPartial
              ? async (sum: tf.Tensor4D, sumSq: tf.Tensor4D, samples: number) => {
                  const m = finish(sum, sumSq, samples);
                  try {
                    await step.partial(offset + i, m, `${name} on ${samples} of ${params.samples} samples`);
                  } finally {
                    m.dispose();
                  }
                }
              : undefined;
            acc = await noisyGradients(x1, classes[i], params, `image:${offset + i}`, step, passes, early);
            maps.push(finish(acc.sum, acc.sumSq, params.samples));
          } finally {
            x1.dispose();
            if (acc) tf.dispose([acc.sum, acc.sumSq]);
          }
        }
      } catch (err) {
        tf.dispose(maps);
        throw err;
      }
      return { map: stackMaps(maps) };
    },
  });
}

export const smoothGrad = smoothMethod(
  'smoothgrad',
  'mean',
  'SmoothGrad: gradient averaged over noisy copies of the image (Smilkov et al. 2017)',
);
export const squareGrad = smoothMethod(
  'squaregrad',
  'square',
  'SquareGrad: mean squared gradient over noisy copies (Hooker et al. 2019)',
);
export const varGrad = smoothMethod(
  'vargrad',
  'var',
  'VarGrad: variance of the gradient over noisy copies (Adebayo et al. 2018)',
);

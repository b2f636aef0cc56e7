/**
 * Occlusion (Zeiler & Fergus 2014): slide a window × window patch of `fill` over the image with `stride`; each
 * pixel gets the mean drop of the class score, f(x) − f(x with the patch), over the windows covering it. The
 * last window of each row and column is aligned with the border so every pixel is covered. `fill` is a value
 * or 'mean' (the image's mean colour).
 */
import { tf } from '../../engine/tf.js';
import { checkInt, checkNumber, checkOneOf } from '../checks.js';
import { defineMethod } from '../run.js';
import { classScores, logitsOf, oneHotRows, type ScoreKind } from '../tensor.js';
import { chunks, imageAt } from './accumulate.js';

export const SCORES: readonly ScoreKind[] = ['logit', 'probability'];

/** Window origins along one side: every `stride`, plus the one flush with the far border. */
export function windowStarts(side: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + window <= side; s += stride) out.push(s);
  if (out[out.length - 1] !== side - window) out.push(side - window);
  return out;
}

function checkFill(v: unknown, where: string): void {
  if (v !== 'mean' && !(typeof v === 'number' && Number.isFinite(v))) {
    throw new Error(`${where}: parameter fill must be a number or 'mean', got ${JSON.stringify(v)}`);
  }
}

export const occlusion = defineMethod({
  name: 'occlusion',
  family: 'perturbation',
  description: 'occlusion: mean score drop when a sliding patch hides the pixel (Zeiler & Fergus 2014)',
  classSpecific: true,
  defaults: {
    window: 8,
    stride: 4,
    // The image's mean colour, not 0: a black patch on a white-background image is itself a feature the model
    // reacts to, which measures the patch rather than what it hides (Zeiler & Fergus occluded with grey).
    fill: 'mean' as number | string,
    score: 'logit' as ScoreKind,
    internalBatch: 32,
  },
  check: (p, where) => {
    checkInt(p.window, 'window', where, 1);
    checkInt(p.stride, 'stride', where, 1);
    checkFill(p.fill, where);
    checkOneOf(p.score, 'score', where, SCORES);
    checkInt(p.internalBatch, 'internalBatch', where, 1);
  },
  cost: (p, n, model) => {
    const starts = windowStarts(model.inputSize, Math.min(p.window, model.inputSize), p.stride).length;
    return n * Math.ceil((starts * starts) / p.internalBatch);
  },
  async run({ model, x, classes, params, step, passes }) {
    const side = model.inputSize;
    const where = 'explain occlusion';
    checkNumber(params.window, 'window', where, 1, side);
    const starts = windowStarts(side, params.window, params.stride);
    const origins = starts.flatMap((y) => starts.map((xx) => [y, xx] as const));
    const w = params.window;
    const out = new Float32Array(x.shape[0] * side * side);
    for (let i = 0; i < x.shape[0]; i++) {
      const x1 = imageAt(x, i);
      const oneHot1 = oneHotRows([classes[i]], model.classes);
      const fill =
        params.fill === 'mean'
          ? tf.mean(x1, [1, 2], true)
          : tf.fill([1, 1, 1, x1.shape[3]], params.fill as number);
      try {
        const base = tf.tidy(() => classScores(logitsOf(model, x1), oneHot1, params.score).dataSync()[0]);
        const sum = new Float64Array(side * side);
        const count = new Float64Array(side * side);
        // internalBatch windows per replica's pass; a pool of R replicas takes R × internalBatch at once.
        for (const [a, b] of chunks(origins.length, params.internalBatch * passes.replicas)) {
          const k = b - a;
          const masks = new Float32Array(k * side * side);
          for (let m = 0; m < k; m++) {
            const [y0, x0] = origins[a + m];
            for (let r = y0; r < y0 + w; r++)
              masks.fill(1, m * side * side + r * side + x0, m * side * side + r * side + x0 + w);
          }
          const occluded = tf.tidy(() => {
            const mask = tf.tensor4d(masks, [k, side, side, 1]);
            return tf.add(tf.mul(x1, tf.sub(1, mask)), tf.mul(fill, mask)) as tf.Tensor4D;
          });
          let logits: tf.Tensor2D;
          try {
            logits = await passes.logits(occluded);
          } finally {
            occluded.dispose();
          }
          const scores = tf.tidy(() => classScores(logits, tf.tile(oneHot1, [k, 1]), params.score));
          logits.dispose();
          const s = await scores.data();
          scores.dispose();
          for (let m = 0; m < k; m++) {
            const [y0, x0] = origins[a + m];
            const drop = base - s[m];
            for (let r = y0; r < y0 + w; r++) {
              for (let c = x0; c < x0 + w; c++) {
                sum[r * side + c] += drop;
                count[r * side + c] += 1;
              }
            }
          }
          await step.tick();
        }
        for (let j = 0; j < side * side; j++) out[i * side * side + j] = count[j] > 0 ? sum[j] / count[j] : 0;
      } finally {
        tf.dispose([x1, oneHot1, fill]);
      }
    }
    return { map: tf.tensor3d(out, [x.shape[0], side, side]) };
  },
});

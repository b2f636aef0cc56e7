/**
 * Integrated gradients (Sundararajan et al. 2017): (x − b) · ∫₀¹ ∂f(b + α(x − b))/∂x dα, the integral by the
 * trapezoid rule over `steps` intervals (steps + 1 gradient evaluations, in internal batches). Completeness
 * (Σ attributions = f(x) − f(b)) holds up to the quadrature error, which is reported per image in
 * debug.completenessError (|Σ attributions − (f(x) − f(b))|) next to debug.scoreDelta (f(x) − f(b)).
 */
import { tf } from '../../engine/tf.js';
import { checkInt, checkOneOf, checkRange } from '../checks.js';
import { defineMethod } from '../run.js';
import { classScores, logitsOf, oneHotRows, REDUCTIONS, type Reduction, reduceChannels } from '../tensor.js';
import { addInto, chunksAfterFirst, imageAt, stackMaps } from './accumulate.js';

export const BASELINES = ['black', 'white', 'mean'] as const;
export type Baseline = (typeof BASELINES)[number];

/** Trapezoid weights of steps + 1 equally spaced points on [0, 1]. */
export function trapezoidWeights(steps: number): number[] {
  return Array.from({ length: steps + 1 }, (_, k) => (k === 0 || k === steps ? 0.5 : 1) / steps);
}

/**
 * The order the steps + 1 points are computed in. When they take more than one chunk, the first chunk starts
 * with an evenly spread subset 0, s, 2s, …, steps (`coarse`), so a coarse map can be shown before the rest
 * arrives; the exact sum does not depend on the order (up to float rounding).
 */
export function pointOrder(steps: number, chunk: number): { order: number[]; coarse: number[] } {
  const all = Array.from({ length: steps + 1 }, (_, k) => k);
  if (steps + 1 <= chunk || chunk < 2) return { order: all, coarse: [] };
  const stride = Math.ceil(steps / (chunk - 1));
  const coarse: number[] = [];
  for (let k = 0; k < steps; k += stride) coarse.push(k);
  coarse.push(steps);
  const first = new Set(coarse);
  return { order: [...coarse, ...all.filter((k) => !first.has(k))], coarse };
}

/** Trapezoid weights of the points k/steps for k in `grid` (ascending, 0 to steps, possibly uneven). */
export function gridWeights(grid: readonly number[], steps: number): number[] {
  const t = grid.map((k) => k / steps);
  return t.map((_, j) => ((j + 1 < t.length ? t[j + 1] : t[j]) - (j > 0 ? t[j - 1] : t[j])) / 2);
}

/** black/white: the low/high end of the input range; mean: the image's own mean colour. */
function baselineOf(x1: tf.Tensor4D, kind: Baseline, range: [number, number]): tf.Tensor4D {
  if (kind === 'black') return tf.fill(x1.shape, range[0]) as tf.Tensor4D;
  if (kind === 'white') return tf.fill(x1.shape, range[1]) as tf.Tensor4D;
  // In a tidy: the ones and the mean are intermediates (they leaked two tensors per image before).
  return tf.tidy(() => tf.mul(tf.onesLike(x1), tf.mean(x1, [1, 2], true)) as tf.Tensor4D);
}

export const integratedGradients = defineMethod({
  name: 'integrated_gradients',
  family: 'gradient',
  description: 'integrated gradients along the straight path from a baseline (Sundararajan et al. 2017)',
  classSpecific: true,
  defaults: {
    baseline: 'black' as Baseline,
    range: [0, 1] as readonly number[],
    steps: 32,
    internalBatch: 16,
    reduce: 'sum' as Reduction,
  },
  check: (p, where) => {
    checkOneOf(p.baseline, 'baseline', where, BASELINES);
    checkRange(p.range, 'range', where);
    checkInt(p.steps, 'steps', where, 1);
    checkInt(p.internalBatch, 'internalBatch', where, 1);
    checkOneOf(p.reduce, 'reduce', where, REDUCTIONS);
  },
  // An estimate: with a pool of R replicas a chunk is R × internalBatch points (the driver settles the count).
  cost: (p, n) => n * (Math.ceil((p.steps + 1) / p.internalBatch) + 1),
  async run({ model, x, classes, params, offset, step, passes }) {
    const range = checkRange(params.range, 'range', 'integrated_gradients');
    const weights = trapezoidWeights(params.steps);
    const maps: tf.Tensor[] = [];
    const completenessError: number[] = [];
    const scoreDelta: number[] = [];
    try {
      for (let i = 0; i < x.shape[0]; i++) {
        const x1 = imageAt(x, i);
        const oneHot1 = oneHotRows([classes[i]], model.classes);
        const base = baselineOf(x1, params.baseline, range);
        const diff = tf.sub(x1, base) as tf.Tensor4D;
        let avg: tf.Tensor4D | null = null;
        try {
          // internalBatch bounds one replica's pass; a pool of R replicas takes R such passes at once, after a
          // first chunk of internalBatch points (the coarse grid, split across the replicas).
          const { order, coarse } = pointOrder(params.steps, params.internalBatch);
          for (const [a, b] of chunksAfterFirst(
            order.length,
            params.internalBatch,
            params.internalBatch * passes.replicas,
          )) {
            const ks = order.slice(a, b);
            const points = tf.tidy(() => {
              const alphas = tf.tensor1d(ks.map((k) => k / params.steps));
              return tf.add(base, tf.mul(alphas.reshape([-1, 1, 1, 1]), diff)) as tf.Tensor4D;
            });
            let g: tf.Tensor4D;
            try {
              g = await passes.inputGradients(points, new Array<number>(b - a).fill(classes[i]));
            } finally {
              points.dispose();
            }
            if (a === 0 && coarse.length > 0 && step.wantsPartial) {
              const early = tf.tidy(() => {
                const w = tf.tensor1d(gridWeights(coarse, params.steps)).reshape([-1, 1, 1, 1]);
                const head = tf.slice(g, [0, 0, 0, 0], [coarse.length, -1, -1, -1]);
                return reduceChannels(
                  tf.mul(diff, tf.sum(tf.mul(head, w), 0, true)) as tf.Tensor4D,
                  params.reduce,
                );
              });
              try {
                await step.partial(
                  offset + i,
                  early,
                  `integrated_gradients on ${coarse.length - 1} of ${params.steps} intervals`,
                );
              } finally {
                early.dispose();
              }
            }
            const part = tf.tidy(() => {
              const w = tf.tensor1d(ks.map((k) => weights[k])).reshape([-1, 1, 1, 1]);
              return tf.sum(tf.mul(g, w), 0, true) as tf.Tensor4D;
            });
            g.dispose();
            avg = addInto(avg, part);
            await step.tick();
          }
          const attribution = tf.mul(diff, avg as tf.Tensor4D) as tf.Tensor4D;
          const [total, delta] = tf.tidy(() => {
            const s = classScores(logitsOf(model, tf.concat([x1, base])), tf.tile(oneHot1, [2, 1]), 'logit');
            return [tf.sum(attribution), tf.sub(s.slice(0, 1), s.slice(1, 1))];
          });
          const [t, d] = [(await total.data())[0], (await delta.data())[0]];
          tf.dispose([total, delta]);
          completenessError.push(Math.abs(t - d));
          scoreDelta.push(d);
          maps.push(tf.tidy(() => reduceChannels(attribution, params.reduce)));
          attribution.dispose();
          await step.tick();
        } finally {
          tf.dispose([x1, oneHot1, base, diff]);
          if (avg) (avg as tf.Tensor).dispose();
        }
      }
    } catch (err) {
      tf.dispose(maps);
      throw err;
    }
    return { map: stackMaps(maps), debug: { completenessError, scoreDelta } };
  },
});

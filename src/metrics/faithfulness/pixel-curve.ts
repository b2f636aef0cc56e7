/**
 * The curve behind deletion and insertion (Petsiuk et al., "RISE", BMVC 2018): pixels are taken in order of
 * decreasing relevance (ties in row-major order, so the curve is deterministic), `stepFraction` of the image at
 * a time, and the target score is recorded after each step, from 0 to all pixels.
 *
 * - deletion: start from the image, replace the taken pixels (all channels) by the baseline fill.
 * - insertion: start from the baseline, put the taken pixels of the image back.
 *
 * The x axis is the exact fraction of pixels changed, so a last, partial step gets its true width in the
 * trapezoid (RISE's code spaces all points evenly; the two agree when the step divides the image).
 */

import { scoreImages } from '../core/model.js';
import { prepare } from '../core/normalise.js';
import { baselineImage, replacePixels } from '../core/perturb.js';
import { argsortDescending, trapezoid } from '../core/stats.js';
import type { MetricInput, RunOptions } from '../types.js';
import { modelSetup, type PerturbationParams } from './common.js';

export type PixelCurveParams = PerturbationParams & { stepFraction: number };

export interface PixelCurve {
  /** Fraction of pixels changed at each point, 0 … 1. */
  fractions: number[];
  scores: number[];
  auc: number;
}

export async function pixelCurve(
  metric: string,
  kind: 'deletion' | 'insertion',
  input: MetricInput,
  p: PixelCurveParams,
  options: RunOptions,
): Promise<PixelCurve> {
  const setup = modelSetup(metric, input, p, options);
  const { image } = setup;
  const n = image.width * image.height;
  const order = argsortDescending(prepare(metric, input.map.data, p.abs, 'none'));
  const perStep = Math.max(1, Math.round(n * p.stepFraction));
  const steps = Math.ceil(n / perStep);
  const baseline = baselineImage(image, setup.fill, setup.fillOptions);
  // Deletion moves pixels from the image towards the baseline, insertion the other way round.
  const source = kind === 'deletion' ? baseline : image.data;
  const working = Float32Array.from(kind === 'deletion' ? image.data : baseline);
  let applied = 0;
  const scores = await scoreImages(setup.request(steps + 1), steps + 1, (k) => {
    const upTo = Math.min(n, k * perStep);
    replacePixels(working, source, order, applied, upTo, image.channels);
    applied = upTo;
    return Float32Array.from(working);
  });
  const fractions = Array.from({ length: steps + 1 }, (_, k) => Math.min(n, k * perStep) / n);
  const ys = Array.from(scores);
  return { fractions, scores: ys, auc: trapezoid(fractions, ys) };
}

export function validateStep(metric: string, stepFraction: number): void {
  if (!(stepFraction > 0 && stepFraction <= 1)) {
    throw new Error(`${metric}: parameter "stepFraction" must be in (0, 1], got ${stepFraction}`);
  }
}

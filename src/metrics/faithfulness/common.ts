/** Shared parameters and checks of the perturbation metrics (they all score perturbed copies of the image). */
import { requireInteger } from '../core/define.js';
import { Progress, SCORE_KINDS, type ScoreKind, type ScoreRequest } from '../core/model.js';
import { FILLS, type Fill, type FillOptions } from '../core/perturb.js';
import { checkClass, checkImage } from '../core/validate.js';
import type { MetricImage, MetricInput, RunOptions, ScoreModel } from '../types.js';

/** Parameters every perturbation metric takes; `fill` decides what a removed pixel becomes. */
export type PerturbationParams = {
  fill: string;
  /** The range the image's values live in (the training data: [0, 1]); black/white/grey/noise come from it. */
  valueMin: number;
  valueMax: number;
  /** Box blur radius of the 'blur' fill, in pixels. */
  blurRadius: number;
  /** Seed of the 'noise' fill and of any random choice the metric makes. */
  seed: number;
  /** 'probability': softmax of the model's logits (as given when the model returns probabilities); 'raw': as returned. */
  score: string;
  /** Perturbed images per model call: bounds memory. */
  batchSize: number;
  abs: boolean;
};

export const PERTURBATION_CHOICES = { fill: FILLS, score: SCORE_KINDS } as const;

export function validatePerturbation(metric: string, p: PerturbationParams): void {
  requireInteger(metric, 'batchSize', p.batchSize, 1);
  requireInteger(metric, 'blurRadius', p.blurRadius, 0);
  if (!Number.isSafeInteger(p.seed))
    throw new Error(`${metric}: parameter "seed" must be a safe integer, got ${p.seed}`);
  if (!(p.valueMin < p.valueMax)) {
    throw new Error(`${metric}: valueMin must be below valueMax, got [${p.valueMin}, ${p.valueMax}]`);
  }
}

export interface ModelSetup {
  image: MetricImage;
  model: ScoreModel;
  target: number;
  fill: Fill;
  fillOptions: FillOptions;
  /** A score request for this image; `total` is the number of model evaluations the run will make. */
  request: (total: number) => ScoreRequest;
}

export function modelSetup(
  metric: string,
  input: MetricInput,
  p: PerturbationParams,
  options: RunOptions,
): ModelSetup {
  const image = input.image!;
  const model = input.model!;
  const target = input.target!;
  checkImage(metric, image, input.map);
  checkClass(metric, target);
  if (typeof model.predict !== 'function' || !['logits', 'probabilities'].includes(model.outputs)) {
    throw new Error(`${metric}: the model needs a predict function and outputs 'logits' or 'probabilities'`);
  }
  return {
    image,
    model,
    target,
    fill: p.fill as Fill,
    fillOptions: { valueMin: p.valueMin, valueMax: p.valueMax, blurRadius: p.blurRadius, seed: p.seed },
    request: (total) => ({
      metric,
      model,
      like: image,
      target,
      score: p.score as ScoreKind,
      batchSize: p.batchSize,
      signal: options.signal,
      progress: new Progress(total, options),
    }),
  };
}

/**
 * One optimisation step and one validation pass, with the numbers an epoch reports. Each reads its scalars back
 * with a single data transfer and leaves no tensor behind.
 */
import type { ParallelTrainer, StepConfig } from '../engine/parallel/index.js';
import { tf } from '../engine/tf.js';
import type { XwbModel } from '../models/index.js';
import type { Objective } from './config.js';
import { type Batch, forEachBatch } from './data/batches.js';
import type { ImageSetData } from './data/load.js';
import { type LossOptions, type LossParts, xwbLoss } from './losses.js';
import type { PhaseOptimizer } from './optimizers.js';
import type { PhaseBehaviour } from './phases.js';
import { blockDiagonalPenalty } from './regularizers.js';

/** Sums over images (losses are batch means times the batch size), so an epoch's mean weighs every image once. */
export interface Totals {
  images: number;
  loss: number;
  ce: number;
  l1: number;
  tv: number;
  hybrid: number;
  block: number;
  correct: number;
  /** Sum over images of the mean map value. */
  explanation: number;
}

export function emptyTotals(): Totals {
  return { images: 0, loss: 0, ce: 0, l1: 0, tv: 0, hybrid: 0, block: 0, correct: 0, explanation: 0 };
}

/** Means per image; accuracy in [0, 1]. NaN for an empty pass. */
export function means(t: Totals): Omit<Totals, 'images' | 'correct'> & { acc: number } {
  const n = t.images;
  return {
    loss: t.loss / n,
    ce: t.ce / n,
    l1: t.l1 / n,
    tv: t.tv / n,
    hybrid: t.hybrid / n,
    block: t.block / n,
    acc: t.correct / n,
    explanation: t.explanation / n,
  };
}

export interface StepContext {
  model: XwbModel;
  behaviour: PhaseBehaviour;
  objective: Objective;
  classWeights?: readonly number[];
  /** 0/1 per class: the classes the deletion term applies to (see LossOptions.deletionClasses). */
  deletionClasses?: readonly number[];
}

function lossOptions(ctx: StepContext): LossOptions {
  const { alpha, beta, gamma, delta, sparsity } = ctx.objective;
  return {
    alpha,
    beta,
    gamma,
    ...(sparsity === 'relative' ? { sparsity } : {}),
    ...(delta > 0 ? { delta, ...(ctx.deletionClasses ? { deletionClasses: ctx.deletionClasses } : {}) } : {}),
    ...(ctx.classWeights ? { classWeights: ctx.classWeights } : {}),
  };
}

/** The loss of a batch and the scalars to report, as [loss, ce, l1, tv, hybrid, block, correct, mapMean]. */
function batchScalars(
  ctx: StepContext,
  batch: Batch,
  training: boolean,
): { total: tf.Scalar; report: tf.Tensor1D; explanation: tf.Tensor4D } {
  const { model, behaviour, objective } = ctx;
  const forward = training ? behaviour.train : behaviour.evaluate;
  const out = model.predict(batch.x, objective.delta > 0 ? { ...forward, deletion: true } : forward);
  const parts: LossParts = xwbLoss(
    {
      logits: out.logits,
      labels: batch.y,
      explanation: out.explanation,
      ...(out.deletedLogits ? { deletedLogits: out.deletedLogits } : {}),
      ...(batch.masks ? { masks: { mask: batch.masks, present: batch.maskPresent } } : {}),
    },
    lossOptions(ctx),
  );
  const block =
    objective.blockDiagonal > 0
      ? blockDiagonalPenalty(model.denseKernels, model.classes, objective.blockDiagonal)
      : tf.scalar(0);
  const total = tf.add(parts.total, block) as tf.Scalar;
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), batch.y), 'float32'));
  const report = tf.stack([
    total,
    parts.ce,
    parts.l1,
    parts.tv,
    parts.hybrid,
    block,
    correct,
    tf.mean(out.explanation),
  ]);
  return { total, report: report as tf.Tensor1D, explanation: out.explanation };
}

function accumulate(t: Totals, values: ArrayLike<number>, n: number): void {
  t.images += n;
  t.loss += values[0] * n;
  t.ce += values[1] * n;
  t.l1 += values[2] * n;
  t.tv += values[3] * n;
  t.hybrid += values[4] * n;
  t.block += values[5] * n;
  t.correct += values[6];
  t.explanation += values[7] * n;
}

/** One gradient step on `batch`; adds its numbers to `totals`. */
export function trainStep(ctx: StepContext, optimizer: PhaseOptimizer, batch: Batch, totals: Totals): void {
  let report: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const r = batchScalars(ctx, batch, true);
    report = tf.keep(r.report);
    return r.total;
  }, optimizer.variables as tf.Variable[]);
  value.dispose();
  optimizer.apply(grads);
  if (!report) throw new Error('internal: the training step produced no report');
  try {
    accumulate(totals, report.dataSync(), batch.indices.length);
  } finally {
    report.dispose();
  }
}

/**
 * The same step through a ParallelTrainer: the batch split across replicas and, within each, into passes of at
 * most `trainer.microBatch` images, gradients summed on this thread, where the optimiser (and weight decay) and
 * the block-diagonal penalty, which depends on the weights alone, are applied once. Equal to `trainStep` when
 * batch norm is in inference mode (or absent) and the batch-wide terms (class weights, hybrid) are uniform;
 * otherwise each pass normalises and averages over its own images (see src/engine/parallel/trainer.ts).
 */
export async function parallelTrainStep(
  ctx: StepContext,
  trainer: ParallelTrainer,
  optimizer: PhaseOptimizer,
  batch: Batch,
  totals: Totals,
): Promise<void> {
  const { model, behaviour, objective } = ctx;
  if (trainer.model !== model) throw new Error('internal: the parallel trainer holds another model');
  const config: StepConfig = {
    parts: behaviour.parts,
    loss: lossOptions(ctx),
    training: behaviour.train.training ?? false,
    ...(behaviour.train.whiteExplanation ? { whiteExplanation: true } : {}),
    ...(objective.delta > 0 ? { deletion: true } : {}),
  };
  const { grads, losses } = await trainer.gradients(
    {
      images: batch.x,
      labels: batch.y,
      ...(batch.masks ? { masks: { mask: batch.masks, present: batch.maskPresent } } : {}),
    },
    config,
  );
  // gradients() lists every trainable variable (zeros for a frozen part); the optimiser gets its own only.
  const trained = new Set(optimizer.variables.map((v) => v.name));
  const named: tf.NamedTensorMap = {};
  const all = [...model.variables.explainer, ...model.variables.classifier];
  all.forEach((v, i) => {
    if (trained.has(v.name)) named[v.name] = grads[i];
    else grads[i].dispose();
  });
  let block = 0;
  try {
    if (objective.blockDiagonal > 0) block = addBlockDiagonalGradients(ctx, named);
  } catch (e) {
    tf.dispose(Object.values(named));
    throw e;
  }
  optimizer.apply(named);
  trainer.weightsChanged();
  const n = batch.indices.length;
  const values = [
    losses.total + block,
    losses.ce,
    losses.l1,
    losses.tv,
    losses.hybrid,
    block,
    Math.round(losses.acc * n),
    losses.map,
  ];
  accumulate(totals, values, n);
}

/** Adds the gradient of λ·S(W) to the dense kernels' entries of `named`; returns λ·S(W). */
function addBlockDiagonalGradients(ctx: StepContext, named: tf.NamedTensorMap): number {
  const { model, objective } = ctx;
  const { value, grads } = tf.variableGrads(
    () => blockDiagonalPenalty(model.denseKernels, model.classes, objective.blockDiagonal),
    model.denseKernels,
  );
  const penalty = value.dataSync()[0];
  value.dispose();
  for (const [name, g] of Object.entries(grads)) {
    const previous = named[name];
    if (previous === undefined) {
      tf.dispose(Object.values(grads));
      throw new Error(`internal: dense kernel ${name} is penalised but not trained in this phase`);
    }
    named[name] = tf.add(previous, g);
    previous.dispose();
    g.dispose();
  }
  return penalty;
}

/**
 * The phase's loss, accuracy and mean map over a whole split, in inference mode. `onMaps` sees each batch's
 * maps [N, S, S, 1] (disposed after it returns), for the map diagnostics.
 */
export async function evaluate(
  ctx: StepContext,
  data: ImageSetData,
  batchSize: number,
  onMaps?: (maps: tf.Tensor4D) => void,
): Promise<Totals> {
  const totals = emptyTotals();
  await forEachBatch(data, { batchSize }, (batch) => {
    const values = tf.tidy(() => {
      const r = batchScalars(ctx, batch, false);
      onMaps?.(r.explanation);
      return r.report.dataSync();
    });
    accumulate(totals, values, batch.indices.length);
  });
  return totals;
}

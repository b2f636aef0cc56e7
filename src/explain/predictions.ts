/**
 * A run's predictions kept in the store (the gallery filters and sorts by them): the batch explain and
 * evaluation jobs predict every image they work on, the viewer the one it shows. An image whose stored
 * prediction came from the run's current checkpoint is not predicted again.
 *
 * No TensorFlow here: the model work is behind {@link RunModel}.
 */
import type { ImageRecord, PredictionInput, Store } from '../store/index.js';
import type { RunModel } from './run-model.js';

/** argmax, its probability, and the labelled class's probability and correctness (null without a label). */
export function predictionOf(
  probs: ArrayLike<number>,
  classes: readonly string[],
  label: string | null,
): Pick<PredictionInput, 'classIndex' | 'probability' | 'trueProbability' | 'correct'> {
  if (probs.length === 0 || probs.length !== classes.length) {
    throw new Error(`a prediction has ${probs.length} probabilities for ${classes.length} classes`);
  }
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
  const truth = label === null ? -1 : classes.indexOf(label);
  // Float32 softmax can overshoot 1 by an ulp; the store holds probabilities in [0, 1].
  const clamp = (p: number) => Math.min(1, Math.max(0, p));
  return {
    classIndex: best,
    probability: clamp(probs[best]),
    trueProbability: truth < 0 ? null : clamp(probs[truth]),
    correct: truth < 0 ? null : truth === best,
  };
}

/** The stored rows for images predicted with `probs` (one array per image, in order). */
export function predictionRows(
  run: Pick<RunModel, 'runId' | 'classes' | 'checkpoint'>,
  images: readonly Pick<ImageRecord, 'id' | 'label'>[],
  probs: readonly ArrayLike<number>[],
): PredictionInput[] {
  return images.map((im, k) => ({
    runId: run.runId,
    imageId: im.id,
    checkpoint: run.checkpoint.path,
    ...predictionOf(probs[k], run.classes, im.label),
  }));
}

export interface StorePredictionsOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/**
 * Predicts the images whose stored prediction is missing or from another checkpoint, in batches (one store
 * transaction per batch), and returns how many were predicted.
 */
export async function storePredictions(
  store: Store,
  run: RunModel,
  images: readonly ImageRecord[],
  options: StorePredictionsOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 16;
  const have = store.predictions.current(
    run.runId,
    run.checkpoint.path,
    images.map((i) => i.id),
  );
  const todo = images.filter((i) => !have.has(i.id));
  options.onProgress?.({ done: 0, total: todo.length });
  for (let start = 0; start < todo.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const batch = todo.slice(start, start + batchSize);
    const inputs = await run.inputs(batch);
    const probs = await run.probabilities(inputs.map((x) => x.pixels));
    store.predictions.putMany(predictionRows(run, batch, probs));
    options.onProgress?.({ done: Math.min(todo.length, start + batch.length), total: todo.length });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return todo.length;
}

/**
 * Predictions of a trained run: class probabilities and the model's explanation map, brought back to each
 * image's own resolution.
 *
 * The model is the run's final one (the best checkpoint of its last phase that has one, as `summary.json`'s
 * `checkpoint` says). Images are prepared exactly as in training (the run's input size and resize mode); the map
 * [S, S] is mapped back to the W×H image by bilinear interpolation with half-pixel centres, the same sampling
 * convention the data pipeline uses going in (placement.ts), after cropping the letterbox padding if any.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type sharp from 'sharp';
import { openImage } from '../data/open-image.js';
import { tf } from '../engine/tf.js';
import type { XwbModel } from '../models/index.js';
import type { Store } from '../store/index.js';
import { CHECKPOINTS_DIR, loadCheckpoint, SUMMARY_FILE } from './checkpoint.js';
import {
  activePhases,
  endsOnWhiteMaps,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
import { decodeImage } from './data/decode.js';
import { type Placement, placeImage } from './data/placement.js';
import type { TrainResult } from './events.js';
import { handOn } from './resume.js';

export interface Prediction {
  /** The store's image id (when predicting by id). */
  imageId: number | null;
  file: string;
  /** Softmax probabilities, in the order of the run's classes. */
  probs: number[];
  classIndex: number;
  className: string;
  /** Row-major height×width map at the image's own resolution. */
  explanation: Float32Array;
  width: number;
  height: number;
}

export type PredictInputs = { imageIds: readonly number[] } | { files: readonly string[] };

export interface PredictOptions {
  /** Images per forward pass (default 16). */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

interface Target {
  imageId: number | null;
  file: string;
  sha256: string;
  width: number;
  height: number;
}

interface RunModel {
  config: TrainConfig;
  classes: string[];
  checkpoint: string;
}

function fromStore(store: Store, runId: number): RunModel {
  const run = store.runs.get(runId);
  if (run === undefined) throw new Error(`no run ${runId} in ${store.path}`);
  const config = resolveTrainConfig(run.config as unknown as TrainConfigInput);
  const dataset = store.datasets.getById(run.datasetId);
  if (dataset === undefined)
    throw new Error(`run ${runId}: its dataset ${run.datasetId} is no longer in the store`);
  const phases = activePhases(config);
  const checkpoint = handOn(phases, phases.length - 1, store.runs.checkpoints(runId));
  if (checkpoint === null)
    throw new Error(`run ${runId} has no checkpoint to predict with (status ${run.status})`);
  return { config, classes: dataset.classes, checkpoint: checkpoint.path };
}

function fromFolder(folder: string, runId: number): RunModel {
  const file = path.join(folder, SUMMARY_FILE);
  let summary: TrainResult;
  try {
    summary = JSON.parse(readFileSync(file, 'utf8')) as TrainResult;
  } catch (e) {
    throw new Error(`cannot read ${file} (is ${folder} a run folder of xwb?): ${(e as Error).message}`);
  }
  if (summary.runId !== runId) throw new Error(`${file} belongs to run ${summary.runId}, not run ${runId}`);
  if (!summary.checkpoint)
    throw new Error(`${file}: run ${runId} ended without a checkpoint to predict with`);
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(summary.config as unknown as TrainConfigInput);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  // Found through the folder rather than the recorded absolute path, so a moved run folder still predicts.
  return {
    config,
    classes: summary.classes,
    checkpoint: path.join(folder, CHECKPOINTS_DIR, path.basename(summary.checkpoint)),
  };
}

async function fileTarget(file: string): Promise<Target> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(
      `cannot read image ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await openImage(bytes, file).metadata();
  } catch (e) {
    throw new Error(`${file}: not an image sharp can read: ${(e as Error).message}`);
  }
  if (!meta.width || !meta.height) throw new Error(`${file}: the image has no size`);
  return {
    imageId: null,
    file: path.resolve(file),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    width: meta.width,
    height: meta.height,
  };
}

function storeTarget(store: Store, imageId: number): Target {
  const image = store.images.get(imageId);
  if (image === undefined) throw new Error(`no image ${imageId} in ${store.path}`);
  const dataset = store.datasets.getById(image.datasetId);
  if (!dataset?.sourcePath) throw new Error(`image ${imageId}: its dataset has no source folder recorded`);
  return {
    imageId,
    file: path.join(dataset.sourcePath, image.relPath),
    sha256: image.sha256,
    width: image.width,
    height: image.height,
  };
}

/** The [S, S] map of one image back at its W×H resolution (padding cropped first). Pure tensor maths. */
export function mapToImage(map: tf.Tensor2D, p: Placement): Float32Array {
  return tf.tidy(() => {
    const content = tf.slice(map, [p.contentY, p.contentX], [p.contentHeight, p.contentWidth]);
    const resized = tf.image.resizeBilinear(
      tf.reshape(content, [1, p.contentHeight, p.contentWidth, 1]) as tf.Tensor4D,
      [p.srcHeight, p.srcWidth],
      false,
      true,
    );
    return resized.dataSync() as Float32Array;
  });
}

async function predictBatch(model: XwbModel, run: RunModel, targets: Target[]): Promise<Prediction[]> {
  const size = run.config.model.inputSize;
  const placements = targets.map((t) => placeImage(t.width, t.height, size, run.config.data.resize));
  const pixels = await Promise.all(
    targets.map((t, i) =>
      decodeImage({
        file: t.file,
        sha256: t.sha256,
        placement: placements[i],
        kernel: 'linear',
        padValue: 1,
      }),
    ),
  );
  const x = new Float32Array(targets.length * size * size * 3);
  for (const [i, p] of pixels.entries()) x.set(p, i * size * size * 3);
  const { probs, maps } = tf.tidy(() => {
    const out = model.predict(tf.tensor4d(x, [targets.length, size, size, 3]));
    return { probs: tf.softmax(out.logits), maps: tf.reshape(out.explanation, [targets.length, size, size]) };
  });
  try {
    const probRows = probs.arraySync() as number[][];
    return targets.map((t, i) => {
      const row = probRows[i];
      const classIndex = row.indexOf(Math.max(...row));
      const map = tf.tidy(() => tf.squeeze(tf.slice(maps, [i, 0, 0], [1, size, size]), [0]) as tf.Tensor2D);
      const explanation = mapToImage(map, placements[i]);
      map.dispose();
      return {
        imageId: t.imageId,
        file: t.file,
        probs: row,
        classIndex,
        className: run.classes[classIndex] ?? String(classIndex),
        explanation,
        width: t.width,
        height: t.height,
      };
    });
  } finally {
    probs.dispose();
    maps.dispose();
  }
}

/**
 * Predicts images with a run's final model. `source` is the store (images by id or files) or a run folder
 * (files only: a folder knows its model and classes through summary.json, not the dataset's images).
 */
export async function predictImages(
  source: Store | string,
  runId: number,
  inputs: PredictInputs,
  options: PredictOptions = {},
): Promise<Prediction[]> {
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`predictImages: batchSize must be an integer ≥ 1`);
  const run = typeof source === 'string' ? fromFolder(source, runId) : fromStore(source, runId);
  let targets: Target[];
  if ('imageIds' in inputs) {
    if (typeof source === 'string')
      throw new Error('predictImages: images by id need the store, not a run folder');
    targets = inputs.imageIds.map((id) => storeTarget(source, id));
  } else {
    targets = [];
    for (const f of inputs.files) targets.push(await fileTarget(f));
  }
  const model = await loadCheckpoint({ path: run.checkpoint, runId, phase: 'final', epoch: 0 });
  model.explainerUntrained = endsOnWhiteMaps(run.config);
  try {
    const out: Prediction[] = [];
    options.onProgress?.(0, targets.length);
    for (let i = 0; i < targets.length; i += batchSize) {
      out.push(...(await predictBatch(model, run, targets.slice(i, i + batchSize))));
      options.onProgress?.(out.length, targets.length);
    }
    return out;
  } finally {
    model.dispose();
  }
}

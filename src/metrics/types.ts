/**
 * Shared types of the explanation metrics (issue 4 §2). Layout follows Quantus: one metric per file, a folder per
 * family, one signature for all (`MetricDefinition.run`), parameters explicit and returned with every result.
 *
 * Pixel layout: every map, mask and image is row-major with (x, y) at index `y * width + x`; images are HWC
 * interleaved (the layout the training data uses: float32 in [0, 1], 3 channels), so channel c of pixel i is at
 * `i * channels + c`. Boxes follow THE coordinate convention of src/data/types.ts (half-open pixel edges).
 */
import type { Box } from '../data/types.js';

/** An explanation for one image and one class: one relevance value per pixel. */
export interface ScalarMap {
  data: Float32Array;
  width: number;
  height: number;
}

/** A ground-truth mask: 1 inside the explained class's objects, 0 elsewhere. */
export interface BinaryMask {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A model input: HWC interleaved float32. */
export interface MetricImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * Runs the model on a batch of HWC images of one size and returns one vector of class scores per image. Kept
 * free of tfjs so the metrics do not depend on an engine; the caller adapts its model (and disposes tensors).
 */
export type ModelFn = (
  batch: Float32Array[],
  width: number,
  height: number,
  channels: number,
) => Promise<Float32Array[]>;

/** A model as the faithfulness metrics see it: what its scores are decides whether softmax may be applied. */
export interface ScoreModel {
  predict: ModelFn;
  outputs: 'logits' | 'probabilities';
}

/** Produces the explanation of `image` for class `classIndex` (post-hoc method or an explainer's output). */
export type ExplainFn = (image: MetricImage, classIndex: number, signal?: AbortSignal) => Promise<ScalarMap>;

/** One stage of cascading model-parameter randomisation: layers randomised so far, top-down. */
export interface RandomisationStage {
  /** The layer randomised last at this stage (e.g. "dense_2"). */
  layer: string;
  /** The explanation of the same image and class by the model randomised up to `layer`. */
  map: ScalarMap;
}

/**
 * Everything a metric may need about one image. Each metric states which fields it requires
 * (`MetricDefinition.requires`) and fails with a message naming the missing ones.
 */
export interface MetricInput {
  /** The explanation being evaluated (for `target`). */
  map: ScalarMap;
  /** Ground truth of `target` as a mask (`boxesToMask` makes one from boxes). */
  mask?: BinaryMask;
  /** Ground-truth boxes of `target`, for the box-based IoU. */
  boxes?: Box[];
  image?: MetricImage;
  /** The explained class index. */
  target?: number;
  model?: ScoreModel;
  explain?: ExplainFn;
  /** Number of classes, for random-logit. */
  numClasses?: number;
  /** Yields the explanations of the cascadingly randomised model, top-down (model-parameter randomisation). */
  randomised?: (signal?: AbortSignal) => AsyncIterable<RandomisationStage>;
}

export type InputField = Exclude<keyof MetricInput, 'map'>;

export type MetricFamily = 'localisation' | 'faithfulness' | 'randomisation' | 'complexity' | 'separability';

/** Parameters are flat records of plain values, so the CLI can parse and a store can keep them. */
export type ParamValue = number | boolean | string;
export type Params = Record<string, ParamValue>;

export interface RunOptions {
  signal?: AbortSignal;
  /** Called as work completes (model evaluations, or stages); `total` is 0 when not known in advance. */
  onProgress?: (done: number, total: number) => void;
}

export interface MetricResult<P extends Params = Params> {
  metric: string;
  /** NaN when the metric is undefined for this input; `note` then says why. */
  value: number;
  params: P;
  higherIsBetter: boolean;
  note?: string;
  /** Metric-specific extras (curves, per-stage values); plain JSON-able values. */
  details?: Record<string, unknown>;
}

export interface MetricDefinition<P extends Params = Params> {
  name: string;
  family: MetricFamily;
  higherIsBetter: boolean;
  /** The paper (and, where it matters, the reference implementation) the semantics follow. */
  reference: string;
  defaults: Readonly<P>;
  /** Allowed values of string parameters; any other value is refused. */
  choices: Readonly<Partial<Record<keyof P & string, readonly string[]>>>;
  requires: readonly InputField[];
  run(input: MetricInput, params?: Partial<P>, options?: RunOptions): Promise<MetricResult<P>>;
}

/**
 * The model contract shared by the trainer, the post-hoc methods, the metrics and the store.
 *
 * Every model, whatever its kind, maps a batch of images [N, S, S, C] (channels last, values as the data layer
 * delivers them) to class logits [N, classes] and a one-channel map [N, S, S, 1] the size of the image, so the
 * code downstream never needs to know which architecture it holds.
 */
import type { tf } from '../engine/tf.js';

/**
 * - `expclass`: Rio-Torto et al.'s explainer+classifier (the explanation gates the classifier's features).
 * - `xcnn`: Tavanaei's encoder-decoder whose heatmap is the classifier's only input.
 * - `classifier`: the same VGG-like classifier alone, gated by a constant white map (the post-hoc baseline).
 */
export type ModelKind = 'expclass' | 'xcnn' | 'classifier';

export interface CommonModelOptions {
  /** Square input side in pixels; a multiple of 16 (four 2×2 poolings in the classifier). Papers: 224. */
  inputSize: number;
  /** Number of classes (≥ 2); the logits have this many columns. */
  classes: number;
  /** Image channels (default 3). */
  channels?: number;
  /** Width of the first stage; stages use base·1, ·2, ·4, ·8 filters (default 32, as in the papers). */
  base?: number;
  /**
   * Batch normalisation after every convolution of the classifier (default true). `false` is the
   * paper-faithful classifier, which does not learn at all on the synthetic sets (see FINDINGS.md).
   */
  batchNorm?: boolean;
  /** Dropout rate of the two hidden dense layers (default 0.3, as in the reference). */
  dropout?: number;
  /** Seed for weight initialisation and dropout; absent = random. */
  seed?: number;
}

export interface ExpClassOptions extends CommonModelOptions {
  /** How the explanation follows the features down the classifier: 'avg' (reference code) or 'max' (2019 text). */
  explanationPool?: 'avg' | 'max';
  /**
   * Initial offset of the explainer's head: beta of its batch normalisation for 'tanh-relu' (3.0: tanh(3) ≈
   * 0.995, an almost white map), the bias before the sigmoid for 'sigmoid' (default 0: a grey map that can move
   * either way). Default: 3 for 'tanh-relu', 0 for 'sigmoid'.
   */
  explainerBias?: number;
  /** How the explainer's decoder upsamples (default 'resize'; 'transpose' is the reference's). See nets.ts. */
  explainerUpsample?: 'transpose' | 'resize';
  /** The explainer's output head (default 'sigmoid'; 'tanh-relu' is the reference's). See nets.ts. */
  explainerHead?: 'tanh-relu' | 'sigmoid';
  /**
   * Batch normalisation in the explainer's conv blocks. Default: on with the sigmoid head, off with the reference's
   * tanh-relu head (the reference has none). Without it the U-Net's output scale is unchecked: one Adam step at
   * 1e-3 took a fresh base-32 explainer's map from mean 0.39 to below 0.1, four steps to 0.004 (dead), where with
   * it the map fell smoothly (0.45 → 0.17 in 40 steps) and concentrated (bench/explainer/steps.ts).
   */
  explainerBatchNorm?: boolean;
  /** Where the map gates the classifier: every stage (default, the paper) or the input image only. */
  gateAt?: 'stages' | 'input';
  /** 'input' gating: the grey level in [0, 1] a pixel takes where the map is 0 (default 0.5). */
  maskFill?: number;
}

export interface XcnnOptions extends CommonModelOptions {
  /** Feature maps of the generator's convolution (default 128, the paper's 3-128-1 generator). */
  generatorFilters?: number;
  /**
   * Tavanaei's Figure 7 variant: a 1×1 convolution (then tanh) of the image is concatenated with the heatmap as
   * a second input channel of the classifier. Better accuracy, poorer heatmaps (the paper's Figure 8).
   */
  conv1x1?: boolean;
}

export type ClassifierOptions = CommonModelOptions;

/** Options with every default filled in: what a model was built with, and what is stored next to its weights. */
export type ModelSpec =
  | { kind: 'expclass'; options: Required<Omit<ExpClassOptions, 'seed'>> & { seed?: number } }
  | { kind: 'xcnn'; options: Required<Omit<XcnnOptions, 'seed'>> & { seed?: number } }
  | { kind: 'classifier'; options: Required<Omit<ClassifierOptions, 'seed'>> & { seed?: number } };

/** Which part runs in training mode (batch statistics, dropout on). `true` = both, `false`/absent = neither. */
export type TrainingMode = boolean | { explainer: boolean; classifier: boolean };

export interface ForwardOptions {
  training?: TrainingMode;
  /**
   * Replace the explainer's map by a constant white map (phase 1 of Rio-Torto et al.'s training: the classifier
   * learns on whole images). Only meaningful for `expclass`; the `classifier` kind always uses a white map, and
   * `xcnn` rejects it because its classifier sees nothing but the map.
   */
  whiteExplanation?: boolean;
  /** Also run the classifier with the map inverted (1 − map): `deletedLogits`, for the deletion loss. */
  deletion?: boolean;
}

export interface ModelOutputs {
  /** Unnormalised class scores [N, classes]. */
  logits: tf.Tensor2D;
  /** [N, S, S, 1]: expclass in [0, 1), xcnn in [-1, 1], classifier all ones. */
  explanation: tf.Tensor4D;
  /** With `deletion`: the logits of the classifier given 1 − map. */
  deletedLogits?: tf.Tensor2D;
}

/** Trainable variables by part: training phases freeze one part by passing only the other to the optimiser. */
export interface VariableGroups {
  explainer: tf.Variable[];
  classifier: tf.Variable[];
}

export interface XwbModel {
  readonly kind: ModelKind;
  readonly inputSize: number;
  readonly classes: number;
  readonly spec: ModelSpec;
  /** The parts as tfjs layers models (null explainer for the `classifier` kind), for saving and inspection. */
  readonly parts: { explainer: tf.LayersModel | null; classifier: tf.LayersModel };
  /** Trainable variables; batch-norm moving statistics are not among them (they move in training mode). */
  readonly variables: VariableGroups;
  /** Kernels [in, out] of the classifier's dense layers in order, for the block-diagonal L1 penalty. */
  readonly denseKernels: tf.Variable[];
  /**
   * True when the classifier was last trained on white maps (a run that ended after the classifier phase): its
   * predictions then use the white map it learned with, and its explainer is untrained. Set by whoever loads a
   * run's final model; an explicit `whiteExplanation: false` still runs the explainer.
   */
  explainerUntrained: boolean;
  /** Runs the model. The caller owns (and disposes) the returned tensors. */
  predict(x: tf.Tensor4D, options?: ForwardOptions): ModelOutputs;
  dispose(): void;
}

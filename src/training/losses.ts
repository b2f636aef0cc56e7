/**
 * The training objective of the in-model explainers, as pure functions on tensors:
 *
 *   L      = α·CE + (1 − α)·L_expl + δ·deletion
 *   L_expl = β·L1 + (1 − β)·TV + γ·hybrid
 *
 * after Rio-Torto et al. (the unsupervised L1 + TV loss, and the weakly supervised "hybrid" term that penalises
 * explanation outside the annotated objects). Every term is computed per image and then averaged over the batch,
 * so a term's value does not depend on the batch size and nothing crosses from one image to the next.
 *
 * Explanations are [N, H, W, 1]; masks are [N, H, W, 1] with 1 on the object and 0 elsewhere.
 */
import { tf } from '../engine/tf.js';

export interface LossOptions {
  /** Weight of the classification loss, in [0, 1]. */
  alpha: number;
  /** Share of L1 against TV inside the explanation loss, in [0, 1]. */
  beta: number;
  /** Weight of the hybrid (outside-the-mask) term, ≥ 0 (default 0). */
  gamma?: number;
  /** One positive weight per class for the cross-entropy (default: all 1). */
  classWeights?: readonly number[];
  /** Added to the hybrid term's denominator so an all-object mask gives 0, not 0/0 (default 1e-6). */
  hybridEps?: number;
  /** Weight δ ≥ 0 of the deletion term (default 0; needs `deletedLogits`). */
  delta?: number;
  /**
   * Classes whose evidence the map must hold, one 0/1 per class (default: all). The deletion term counts only
   * images of these classes: in a "target or not" dataset the negative class has no evidence to delete.
   */
  deletionClasses?: readonly number[];
  /**
   * How the L1 term measures sparsity (default 'absolute'). 'absolute': mean |e|, the paper's term. 'relative':
   * mean |e| / max |e| per image, the share of the image the map covers at its own scale. A classifier with batch
   * normalisation undoes a uniform scaling of the map, so the absolute term can be lowered for free by dimming the
   * whole map, until the sigmoid saturates and the map dies; the relative term is lowered only by concentrating.
   */
  sparsity?: 'absolute' | 'relative';
}

export interface ExplanationMasks {
  /** [N, H, W, 1], 1 = object, 0 = background; rows of images without a mask may hold anything finite. */
  mask: tf.Tensor4D;
  /** Which images have a mask: [N] of 0/1, or booleans. Images without one do not count in the hybrid term. */
  present: tf.Tensor1D | readonly boolean[];
}

export interface LossInputs {
  /** [N, classes] unnormalised scores. */
  logits: tf.Tensor2D;
  /** [N] int32 class indices. */
  labels: tf.Tensor1D;
  /** [N, H, W, 1]. */
  explanation: tf.Tensor4D;
  masks?: ExplanationMasks;
  /** [N, classes]: the classifier's scores with the map inverted (1 − map), for the deletion term. */
  deletedLogits?: tf.Tensor2D;
}

/** The loss and its parts, each a scalar, for logging. The caller owns (and disposes) all of them. */
export interface LossParts {
  total: tf.Scalar;
  ce: tf.Scalar;
  /** L_expl, the weighted explanation loss (before the (1 − α) factor). */
  expl: tf.Scalar;
  l1: tf.Scalar;
  tv: tf.Scalar;
  /** 0 when no image of the batch has a mask. */
  hybrid: tf.Scalar;
  /** 0 when δ = 0. */
  deletion: tf.Scalar;
}

function checkExplanation(where: string, e: tf.Tensor): void {
  if (e.rank !== 4 || e.shape[3] !== 1) {
    throw new Error(`${where}: the explanation must be [N, H, W, 1], got [${e.shape.join(', ')}]`);
  }
}

function unitInterval(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1))
    throw new Error(`loss option ${name} must be in [0, 1], got ${v}`);
  return v;
}

/**
 * Softmax cross-entropy, averaged over the batch. With class weights it is the weighted mean
 * Σ w[yₙ]·CEₙ / Σ w[yₙ] (PyTorch's convention), so weights rebalance classes without changing the loss's scale.
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classWeights?: readonly number[],
): tf.Scalar {
  if (logits.rank !== 2)
    throw new Error(`crossEntropy: logits must be [N, classes], got [${logits.shape.join(', ')}]`);
  const [n, classes] = logits.shape;
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(`crossEntropy: labels must be [${n}] class indices, got [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'int32')
    throw new Error(`crossEntropy: labels must be int32 class indices, got ${labels.dtype}`);
  if (classWeights !== undefined) {
    if (classWeights.length !== classes || classWeights.some((w) => !(typeof w === 'number' && w > 0))) {
      throw new Error(
        `crossEntropy: classWeights must be ${classes} positive numbers, got [${classWeights.join(', ')}]`,
      );
    }
  }
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, classes);
    const perImage = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1));
    if (classWeights === undefined) return tf.mean(perImage);
    const w = tf.sum(tf.mul(oneHot, tf.tensor1d(classWeights as number[])), 1);
    return tf.div(tf.sum(tf.mul(w, perImage)), tf.sum(w));
  });
}

/** Mean |e| of each image, then the mean over the batch. */
export function l1Loss(explanation: tf.Tensor4D): tf.Scalar {
  checkExplanation('l1Loss', explanation);
  return tf.tidy(() => tf.mean(tf.mean(tf.abs(explanation), [1, 2, 3])));
}

/** Mean |e| / (max |e| + ε) of each image, then the mean over the batch; see LossOptions.sparsity. */
export function relativeL1Loss(explanation: tf.Tensor4D, eps = 1e-6): tf.Scalar {
  checkExplanation('relativeL1Loss', explanation);
  return tf.tidy(() => {
    const a = tf.abs(explanation);
    return tf.mean(tf.div(tf.mean(a, [1, 2, 3]), tf.add(tf.max(a, [1, 2, 3]), eps)));
  });
}

/**
 * Anisotropic total variation of each image: the mean absolute difference between vertically adjacent pixels
 * plus the mean absolute difference between horizontally adjacent ones (the authors' definition), then the mean
 * over the batch. Differences are taken along H and W of each image only, never between images.
 */
export function tvLoss(explanation: tf.Tensor4D): tf.Scalar {
  checkExplanation('tvLoss', explanation);
  const [n, h, w] = explanation.shape;
  if (h < 2 || w < 2) throw new Error(`tvLoss: the explanation must be at least 2×2, got ${h}×${w}`);
  return tf.tidy(() => {
    const down = tf.sub(
      tf.slice(explanation, [0, 1, 0, 0], [n, h - 1, w, 1]),
      tf.slice(explanation, [0, 0, 0, 0], [n, h - 1, w, 1]),
    );
    const right = tf.sub(
      tf.slice(explanation, [0, 0, 1, 0], [n, h, w - 1, 1]),
      tf.slice(explanation, [0, 0, 0, 0], [n, h, w - 1, 1]),
    );
    const perImage = tf.add(tf.mean(tf.abs(down), [1, 2, 3]), tf.mean(tf.abs(right), [1, 2, 3]));
    return tf.mean(perImage);
  });
}

/**
 * The share of explanation outside the mask, per image: Σ(1 − m)·|e| / (Σ(1 − m) + ε), averaged over the images
 * that have a mask (0 when none has). |e| rather than e so that a signed map (XCNN's, in [-1, 1]) cannot lower
 * the term by going negative; for maps in [0, 1) it is the same thing.
 */
export function hybridLoss(explanation: tf.Tensor4D, masks: ExplanationMasks, eps = 1e-6): tf.Scalar {
  checkExplanation('hybridLoss', explanation);
  const { mask, present } = masks;
  if (mask.rank !== 4 || mask.shape.some((d, i) => d !== explanation.shape[i])) {
    throw new Error(
      `hybridLoss: the mask [${mask.shape.join(', ')}] must have the explanation's shape [${explanation.shape.join(', ')}]`,
    );
  }
  const n = explanation.shape[0];
  const presentLength = Array.isArray(present) ? present.length : (present as tf.Tensor1D).shape[0];
  if (presentLength !== n || (!Array.isArray(present) && (present as tf.Tensor).rank !== 1)) {
    throw new Error(`hybridLoss: present must say for each of the ${n} images whether it has a mask`);
  }
  if (!(eps > 0)) throw new Error(`hybridLoss: eps must be > 0, got ${eps}`);
  return tf.tidy(() => {
    const p = Array.isArray(present)
      ? tf.tensor1d(present.map((b) => (b ? 1 : 0)))
      : tf.cast(present as tf.Tensor1D, 'float32');
    const outside = tf.sub(1, mask);
    const perImage = tf.div(
      tf.sum(tf.mul(outside, tf.abs(explanation)), [1, 2, 3]),
      tf.add(tf.sum(outside, [1, 2, 3]), eps),
    );
    // max(count, 1): with no mask in the batch the numerator is 0 and so is the term.
    return tf.div(tf.sum(tf.mul(p, perImage)), tf.maximum(tf.sum(p), 1));
  });
}

/**
 * The deletion side of the masking game (Dabkowski & Gal 2017; Fong & Vedaldi 2017): with the map inverted the
 * classifier should no longer find the image's class, so evidence cannot hide outside the map. Per image
 * −log(1 − p_y(image with 1 − map)), averaged over the images whose class is in `deletionClasses`.
 */
export function deletionLoss(
  deletedLogits: tf.Tensor2D,
  labels: tf.Tensor1D,
  deletionClasses?: readonly number[],
): tf.Scalar {
  const [n, classes] = deletedLogits.shape;
  if (labels.shape[0] !== n)
    throw new Error(`deletionLoss: ${n} rows of deleted logits but ${labels.shape[0]} labels`);
  if (deletionClasses !== undefined && deletionClasses.length !== classes) {
    throw new Error(
      `deletionLoss: deletionClasses must have ${classes} entries, got ${deletionClasses.length}`,
    );
  }
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, classes);
    // log(1 − p_y) as the log of the other classes' probabilities: stable where p_y → 1.
    const logRest = tf.logSumExp(tf.add(tf.logSoftmax(deletedLogits), tf.mul(oneHot, -1e9)), 1);
    const perImage = tf.neg(logRest);
    const counts =
      deletionClasses === undefined
        ? tf.onesLike(perImage)
        : tf.sum(tf.mul(oneHot, tf.tensor1d(deletionClasses as number[])), 1);
    return tf.div(tf.sum(tf.mul(counts, perImage)), tf.maximum(tf.sum(counts), 1));
  });
}

/** The full objective with its parts. Inside tf.variableGrads only `total` survives unless the others are kept. */
export function xwbLoss(inputs: LossInputs, options: LossOptions): LossParts {
  const alpha = unitInterval('alpha', options.alpha);
  const beta = unitInterval('beta', options.beta);
  const gamma = options.gamma ?? 0;
  if (typeof gamma !== 'number' || !(gamma >= 0))
    throw new Error(`loss option gamma must be ≥ 0, got ${gamma}`);
  const { logits, labels, explanation, masks } = inputs;
  checkExplanation('xwbLoss', explanation);
  if (explanation.shape[0] !== logits.shape[0]) {
    throw new Error(`xwbLoss: ${logits.shape[0]} logits rows but ${explanation.shape[0]} explanations`);
  }
  return tf.tidy(() => {
    const ce = crossEntropy(logits, labels, options.classWeights);
    const sparsity = options.sparsity ?? 'absolute';
    if (sparsity !== 'absolute' && sparsity !== 'relative')
      throw new Error(`loss option sparsity must be 'absolute' or 'relative', got ${String(sparsity)}`);
    const l1 = sparsity === 'relative' ? relativeL1Loss(explanation) : l1Loss(explanation);
    const tv = tvLoss(explanation);
    const hybrid = masks ? hybridLoss(explanation, masks, options.hybridEps) : tf.scalar(0);
    const expl = tf.addN([tf.mul(beta, l1), tf.mul(1 - beta, tv), tf.mul(gamma, hybrid)]) as tf.Scalar;
    const delta = options.delta ?? 0;
    const deletion =
      delta > 0 && inputs.deletedLogits
        ? deletionLoss(inputs.deletedLogits, labels, options.deletionClasses)
        : tf.scalar(0);
    const total = tf.addN([tf.mul(alpha, ce), tf.mul(1 - alpha, expl), tf.mul(delta, deletion)]) as tf.Scalar;
    return { total, ce, expl, l1, tv, hybrid, deletion };
  });
}

/**
 * Converts the 2019 paper's L1 factors (1e-8 … 1e-4) to the weight of our mean L1 term.
 *
 * Those factors were Keras activity regularisers on the explainer's output, which add w·Σ|e| summed over every
 * pixel of every image of the batch to a cross-entropy that is a batch MEAN. Since Σ|e| = N·H·W·mean|e| for a
 * one-channel map, the paper's objective is CE + λ·mean|e| with λ = w·H·W·N: the returned value. A factor
 * therefore meant a different strength at every image size and batch size (at 224 px, batch 8: 1e-6 → 0.40).
 *
 * To use it here with β = 1 (no TV), take α = meanWeightToAlpha(λ): α·CE + (1 − α)·L1 = α·(CE + λ·L1), the
 * paper's objective scaled by α.
 */
export function kerasL1ToMeanWeight(weight: number, height: number, width: number, batch: number): number {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['batch', batch],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`kerasL1ToMeanWeight: ${name} must be a positive integer`);
  }
  if (!(weight >= 0)) throw new Error(`kerasL1ToMeanWeight: the weight must be ≥ 0, got ${weight}`);
  return weight * height * width * batch;
}

/** The α for which α·CE + (1 − α)·L1 is proportional to CE + λ·L1. */
export function meanWeightToAlpha(lambda: number): number {
  if (!(lambda >= 0) || !Number.isFinite(lambda))
    throw new Error(`meanWeightToAlpha: λ must be finite and ≥ 0`);
  return 1 / (1 + lambda);
}

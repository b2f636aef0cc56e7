/**
 * Messages between a ParallelTrainer and its worker replicas, and the shared-memory layout they use.
 *
 * Weights and gradients travel through SharedArrayBuffers, so a step copies each parameter once per direction
 * instead of cloning megabytes through postMessage; only the shard of images (and the small per-step results)
 * is posted.
 */
import type { ModelSpec } from '../../models/types.js';
import type { LossOptions } from '../../training/losses.js';
import type { EngineName } from '../types.js';

export type PartName = 'explainer' | 'classifier';

/** What one training step computes; the same for every replica. */
export interface StepConfig {
  /** Parts whose trainable variables get gradients, e.g. ['classifier'] in phase 1, both in phase 3. */
  parts: PartName[];
  loss: LossOptions;
  /** Forward-pass options (batch statistics/dropout, white explanation for phase 1). */
  training: boolean | { explainer: boolean; classifier: boolean };
  whiteExplanation?: boolean;
  /** Also run the classifier on the inverted map (the deletion term). */
  deletion?: boolean;
}

/** A shard of a batch as plain arrays (images NHWC float32, labels int32, optional masks). */
export interface ShardData {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  mask?: Float32Array;
  present?: Uint8Array;
}

/**
 * The scalars of LossParts plus the shard's accuracy and mean map value, each already weighted by the shard's
 * share of the batch, so the replicas' values sum to the batch's.
 */
export interface LossValues {
  total: number;
  ce: number;
  expl: number;
  l1: number;
  tv: number;
  hybrid: number;
  /** Fraction of the images whose arg-max logit is their label. */
  acc: number;
  /** Mean value of the explanation map. */
  map: number;
}

export interface InitMessage {
  type: 'init';
  spec: ModelSpec;
  engine: EngineName;
  /** All weights (trainable and not), in model order, written by the master before every step. */
  weights: SharedArrayBuffer;
  /** This replica's gradient output: trainable variables of both parts, in model order. */
  grads: SharedArrayBuffer;
  /** This replica's non-trainable weights after the step (batch-norm moving statistics). */
  stats: SharedArrayBuffer;
  /** Most images per forward/backward pass (see shardGradients). */
  microBatch: number;
}

export interface StepMessage {
  type: 'step';
  id: number;
  /** Weights changed since the replica last read them. */
  weightsVersion: number;
  shard: ShardData;
  /** The shard's share of the whole batch (n_shard / N): the replica scales its loss by it. */
  share: number;
  config: StepConfig;
}

export interface PredictMessage {
  type: 'predict';
  id: number;
  weightsVersion: number;
  shard: ShardData;
}

export type ToWorker = InitMessage | StepMessage | PredictMessage | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; engine: string; device: string }
  | { type: 'stepped'; id: number; losses: LossValues }
  | { type: 'predicted'; id: number; logits: Float32Array; explanation: Float32Array }
  | { type: 'error'; id?: number; message: string };

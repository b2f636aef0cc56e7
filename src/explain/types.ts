/**
 * The contract every explanation method of xwb follows, whatever its family: images in, one Float32 map per
 * image at the input resolution out, for any class, in bounded-memory batches, cancellable, with progress.
 */
import type { tf } from '../engine/tf.js';
import type { XwbModel } from '../models/types.js';
import type { Passes } from './passes/types.js';

export type MethodFamily =
  | 'in-model'
  | 'control'
  | 'gradient'
  | 'modified-backprop'
  | 'class-activation'
  | 'perturbation'
  | 'relevance';

/** A parameter value as stored next to a result: JSON-friendly scalars and short number lists only. */
export type ParamValue = number | string | boolean | null | readonly number[];
export type Params = Record<string, ParamValue>;

export interface ExplainProgress {
  /** Work units done and in total; a unit is one batched pass of the method (forward or forward+backward). */
  done: number;
  total: number;
}

/** An early, coarser map of one image while its exact one is still being computed (see each method). */
export interface ExplainPartial {
  /** Index of the image in the explained batch. */
  image: number;
  /** S×S, at the input resolution; the caller owns it. */
  map: Float32Array;
  /** What the coarse map is, e.g. 'integrated_gradients with 4 of 50 intervals'. */
  note: string;
}

export interface ExplainContext {
  signal?: AbortSignal;
  onProgress?: (p: ExplainProgress) => void;
  /**
   * Called with a coarse map of an image before its exact one is done (integrated gradients: the trapezoid
   * rule on the first chunk's coarser grid; SmoothGrad and variants: the first chunk's samples). The result's
   * maps are the exact ones whether or not this is given.
   */
  onPartial?: (p: ExplainPartial) => void;
  /**
   * Where integrated gradients, SmoothGrad (and variants) and occlusion run their repeated passes, e.g. a
   * PassPool over both cores for this model; default: this thread. The maps are the same either way.
   */
  passes?: Passes;
}

export interface ExplainResult {
  /** N maps, row-major [N, H, W] where H×W is the input size. */
  maps: Float32Array;
  shape: [number, number, number];
  /** The parameters actually used (defaults filled in), to store with the maps. */
  params: Params;
  /** Per-image diagnostics some methods report (e.g. integrated gradients' completeness error). */
  debug?: Record<string, number[]>;
}

/** One class for every image, or one per image. */
export type ClassTarget = number | readonly number[];

export interface ExplainMethod {
  readonly name: string;
  readonly family: MethodFamily;
  /** One line for menus and reports; names the paper where the method is defined. */
  readonly description: string;
  /** False for maps that do not depend on the class (controls, the in-model explainer). */
  readonly classSpecific: boolean;
  readonly defaults: Readonly<Params>;
  /**
   * Explains `x` [N, S, S, C] (the caller keeps ownership) for `target`. `params` may omit any default; an
   * unknown key or a bad value is an Error naming the method and the parameter.
   */
  explain(
    model: XwbModel,
    x: tf.Tensor4D,
    target: ClassTarget,
    params?: Partial<Params>,
    ctx?: ExplainContext,
  ): Promise<ExplainResult>;
}

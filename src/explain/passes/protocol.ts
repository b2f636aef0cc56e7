/** Messages between a PassPool and its worker replicas. Images go as plain arrays; weights once, shared. */

import type { EngineName } from '../../engine/types.js';
import type { ModelSpec } from '../../models/types.js';

export interface PassInit {
  type: 'init';
  spec: ModelSpec;
  engine: EngineName;
  /** Every weight of the model in replica.ts's allWeights order, written once by the pool. */
  weights: SharedArrayBuffer;
  /** Most images of one backward pass on this replica (Infinity: no bound). */
  limit: number;
}

export interface PassRequest {
  type: 'gradients' | 'logits';
  id: number;
  images: Float32Array;
  shape: [number, number, number, number];
  /** Each image's class (gradients only). */
  classes: Int32Array;
}

/** The pool's shared weights were rewritten (the model changed in place, e.g. a randomisation stage). */
export interface PassRefresh {
  type: 'refresh';
  id: number;
}

export type ToPassWorker = PassInit | PassRequest | PassRefresh | { type: 'close' };

export type FromPassWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; values: Float32Array }
  | { type: 'error'; id?: number; message: string };

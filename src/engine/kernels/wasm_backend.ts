/**
 * Thin access to the wasm backend from inside a kernel: running other wasm kernels on TensorInfos, allocating
 * outputs, and viewing tensor data on the wasm heap. Staying at the TensorInfo level (instead of wrapping
 * inputs as tensors and calling tf ops) keeps the engine's reference counts out of the picture: FINDINGS
 * records the "reading 'backend'" crash that tensor-wrapping without incRef causes.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf.js';

export type TensorInfo = tf.TensorInfo;
export type { BackendWasm };

export function asWasmBackend(backend: unknown, kernel: string): BackendWasm {
  const b = backend as Partial<BackendWasm> | null;
  if (typeof b?.makeOutput !== 'function' || typeof b.typedArrayFromHeap !== 'function' || !b.dataIdMap) {
    throw new Error(`${kernel} (xwb wasm): called with a backend that is not the wasm backend`);
  }
  return b as BackendWasm;
}

export function runKernel(
  backend: BackendWasm,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
): TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`xwb wasm kernels need '${name}', which the wasm backend does not register`);
  return runConfig(config, backend, inputs, attrs);
}

export function runConfig(
  config: tf.KernelConfig,
  backend: BackendWasm,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
): TensorInfo {
  const out = config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`wasm kernel '${config.kernelName}' returned several outputs`);
  return out;
}

/**
 * A float32 view of a tensor's data on the wasm heap. The view dies when the heap grows, i.e. on any later
 * allocation: take it after the last makeOutput/runKernel that precedes its use.
 */
export function heapView(backend: BackendWasm, t: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!(view instanceof Float32Array))
    throw new Error(`xwb wasm kernels expect float32 data, got ${t.dtype}`);
  return view;
}

/** Intermediate TensorInfos of one kernel call, released together even when the kernel throws. */
export class Scratch {
  private readonly owned: TensorInfo[] = [];
  constructor(private readonly backend: BackendWasm) {}

  track<T extends TensorInfo>(t: T): T {
    this.owned.push(t);
    return t;
  }

  release(t: TensorInfo): void {
    const i = this.owned.indexOf(t);
    if (i >= 0) {
      this.owned.splice(i, 1);
      this.backend.disposeData(t.dataId);
    }
  }

  releaseAll(): void {
    for (const t of this.owned.splice(0)) this.backend.disposeData(t.dataId);
  }
}

export function requireFloat32(kernel: string, inputs: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32')
      throw new Error(`${kernel} (xwb wasm): input '${name}' is ${t.dtype}, not float32`);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Registers xwb's training kernels with the wasm backend. Idempotent; may run before or after the backend is
 * initialised (a replaced kernel's own setup is chained so the fallback path that calls it keeps working).
 */
import { tf } from '../tf.js';
import { conv2dBackpropFilter } from './conv2d_backprop_filter.js';
import { makeConv2dBackpropInput } from './conv2d_backprop_input.js';
import { maxPoolGrad } from './max_pool_grad.js';
import { makeTile } from './tile.js';

const BACKEND = 'wasm';

export interface RegisteredKernel {
  kernelName: string;
  /** True when wasm had its own kernel of that name, which xwb's replaces (and may fall back to). */
  replaced: boolean;
}

interface KernelSpec {
  kernelName: string;
  make(original: tf.KernelConfig | undefined): tf.KernelFunc;
}

const SPECS: KernelSpec[] = [
  { kernelName: tf.Conv2DBackpropFilter, make: () => conv2dBackpropFilter },
  { kernelName: tf.Conv2DBackpropInput, make: makeConv2dBackpropInput },
  { kernelName: tf.MaxPoolGrad, make: () => maxPoolGrad },
  { kernelName: tf.Tile, make: makeTile },
];

const ours = new Set<tf.KernelFunc>();
const originals = new Map<string, tf.KernelConfig | undefined>();

export function registerWasmKernels(): RegisteredKernel[] {
  return SPECS.map(({ kernelName, make }) => {
    const current = tf.getKernel(kernelName, BACKEND);
    if (current && ours.has(current.kernelFunc)) {
      return { kernelName, replaced: originals.get(kernelName) !== undefined };
    }
    originals.set(kernelName, current);
    if (current) tf.unregisterKernel(kernelName, BACKEND);
    const kernelFunc = make(current);
    ours.add(kernelFunc);
    tf.registerKernel({
      kernelName,
      backendName: BACKEND,
      kernelFunc,
      setupFunc: current?.setupFunc,
      disposeFunc: current?.disposeFunc,
    });
    return { kernelName, replaced: current !== undefined };
  });
}

/** Whether the kernel registered for wasm under this name is xwb's. */
export function isXwbKernel(kernelName: string): boolean {
  const config = tf.getKernel(kernelName, BACKEND);
  return config !== undefined && ours.has(config.kernelFunc);
}

/** The wasm backend's own kernel that xwb's replaced (for benchmarks and diagnostics); undefined if none. */
export function originalWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return originals.get(kernelName);
}

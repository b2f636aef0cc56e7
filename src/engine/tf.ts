/**
 * The one TensorFlow.js instance of xwb. Every module imports `tf` from here, never from a tfjs package
 * directly: two copies of tfjs-core in one process would each keep their own engine, kernel registry and
 * backend, and a tensor made by one is unusable by the other.
 *
 * `@tensorflow/tfjs` bundles tfjs-core, tfjs-layers and the cpu backend; the native (tfjs-node, tfjs-node-gpu)
 * and wasm backends register themselves against this same core when `initEngine` loads them.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCpuKernels } from './kernels/resize_nearest_grad_cpu.js';

// tfjs 4.22's cpu ResizeNearestNeighborGrad is wrong past the first image of a batch (see that file).
registerCpuKernels(tf);

export { tf };

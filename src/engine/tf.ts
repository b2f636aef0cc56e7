/**
 * The one TensorFlow.js instance of xwb. Every module imports `tf` from here, never from a tfjs package
 * directly: two copies of tfjs-core in one process would each keep their own engine, kernel registry and
 * backend, and a tensor made by one is unusable by the other.
 *
 * `@tensorflow/tfjs` bundles tfjs-core, tfjs-layers and the cpu backend; the native (tfjs-node, tfjs-node-gpu)
 * and wasm backends register themselves against this same core when `initEngine` loads them.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };

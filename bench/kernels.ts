/**
 * Micro-benchmark of the convolution gradient kernels: xwb's wasm kernels vs wasm's own input-gradient kernel
 * vs the cpu backend, on representative layers.
 * Run: `node --import tsx bench/kernels.ts [--quick] [--cpu-all]`.
 */
import { originalWasmKernel } from '../src/engine/kernels/register.js';
import { initEngine } from '../src/engine/select.js';
import { tf } from '../src/engine/tf.js';

interface Layer {
  label: string;
  batch: number;
  size: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid';
}

const LAYERS: Layer[] = [
  {
    label: '64 px, batch 8, 32→32, 3×3, stride 1, same',
    batch: 8,
    size: 64,
    inC: 32,
    outC: 32,
    k: 3,
    stride: 1,
    pad: 'same',
  },
  {
    label: '64 px, batch 8, 32→32, 3×3, stride 2, same',
    batch: 8,
    size: 64,
    inC: 32,
    outC: 32,
    k: 3,
    stride: 2,
    pad: 'same',
  },
  {
    label: '32 px, batch 8, 64→64, 3×3, stride 1, same',
    batch: 8,
    size: 32,
    inC: 64,
    outC: 64,
    k: 3,
    stride: 1,
    pad: 'same',
  },
];

const quick = process.argv.includes('--quick');
/** The cpu backend is timed on the first layer only unless asked (it needs minutes per layer). */
const cpuAll = process.argv.includes('--cpu-all');

function random(shape: number[]): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', 7);
}

/** Best of `reps` runs, in milliseconds, after one warm-up run when `reps` > 1. */
function timeIt(run: () => tf.TensorInfo, dispose: (t: tf.TensorInfo) => void, reps: number): number {
  if (reps > 1) dispose(run());
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = run();
    tf.backend().readSync(out.dataId);
    best = Math.min(best, performance.now() - t0);
    dispose(out);
  }
  return best;
}

function measure(layer: Layer, backend: string): Record<string, number> {
  const { batch, size, inC, outC, k, stride, pad } = layer;
  const x = random([batch, size, size, inC]) as tf.Tensor4D;
  const w = random([k, k, inC, outC]) as tf.Tensor4D;
  const y = tf.conv2d(x, w, stride, pad);
  const dy = random(y.shape);
  const flop = 2 * y.size * k * k * inC;
  // The cpu backend's filter gradient takes about a minute on the first layer: one cold run is enough.
  const reps = backend === 'cpu' ? 1 : quick ? 3 : 10;
  const disposeTensor = (t: tf.TensorInfo) => (t as tf.Tensor).dispose();
  const attrs = { strides: stride, pad, dataFormat: 'NHWC' };
  const ms: Record<string, number> = {
    forward: timeIt(() => tf.conv2d(x, w, stride, pad), disposeTensor, reps),
    filterGrad: timeIt(
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
      disposeTensor,
      reps,
    ),
    inputGrad: timeIt(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy, filter: w },
            { ...attrs, inputShape: x.shape },
          ) as tf.Tensor,
      disposeTensor,
      reps,
    ),
  };
  const own = backend === 'wasm' ? originalWasmKernel('Conv2DBackpropInput') : undefined;
  if (own) {
    const b = tf.backend();
    ms.inputGradWasmOwn = timeIt(
      () =>
        own.kernelFunc({
          inputs: { dy, filter: w },
          backend: b,
          attrs: { ...attrs, inputShape: x.shape },
        }) as tf.TensorInfo,
      (t) => b.disposeData(t.dataId),
      reps,
    );
  }
  tf.dispose([x, w, y, dy]);
  const gflops: Record<string, number> = {};
  for (const [name, t] of Object.entries(ms)) gflops[name] = flop / t / 1e6;
  return gflops;
}

async function main(): Promise<void> {
  const info = await initEngine({ prefer: 'wasm', logger: () => {} });
  console.log(`tfjs ${info.tfVersion}; wasm device: ${info.device}`);
  console.log('GFLOP/s (best of several runs; higher is better)');
  for (const [i, layer] of LAYERS.entries()) {
    console.log(`\n${layer.label}`);
    for (const backend of i === 0 || cpuAll ? ['wasm', 'cpu'] : ['wasm']) {
      await initEngine({ prefer: backend as 'wasm' | 'cpu', logger: () => {} });
      const r = measure(layer, backend);
      const cells = Object.entries(r).map(([name, v]) => `${name} ${v.toFixed(2)}`);
      console.log(
        `  ${backend === 'wasm' ? 'wasm + xwb kernels' : 'cpu backend       '}: ${cells.join(', ')}`,
      );
    }
  }
}

await main();

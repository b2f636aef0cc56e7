/**
 * Conv2DBackpropFilter for the wasm backend, which has none (FINDINGS). dW = P · D, one non-transposed
 * BatchMatMul per chunk of images; see geometry.ts for how P and D are laid out without per-pixel gathers.
 */
import { tf } from '../tf.js';
import { chunkColumns, geometryFromConvInfo, imagesPerChunk, phaseGrid, scratchLimits } from './geometry.js';
import { buildPhases, fillGradGrid, fillPatches, phasesSize } from './layout.js';
import {
  asWasmBackend,
  heapView,
  requireFloat32,
  runKernel,
  Scratch,
  sameShape,
  type TensorInfo,
} from './wasm_backend.js';

const KERNEL = 'Conv2DBackpropFilter';

export const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = asWasmBackend(anyBackend, KERNEL);
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  requireFloat32(KERNEL, { x, dy });
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  if (!sameShape(dy.shape, info.outShape)) {
    throw new Error(
      `${KERNEL} (xwb wasm): dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`,
    );
  }
  const g = geometryFromConvInfo(info, KERNEL);
  const grid = phaseGrid(g);
  const channelsLast = format === 'channelsLast';
  const scratch = new Scratch(backend);
  try {
    // Channels-first once (wasm's transpose is fast), so every row of P is a contiguous copy.
    const xCF = scratch.track(
      runKernel(backend, 'Transpose', { x }, { perm: channelsLast ? [3, 0, 1, 2] : [1, 0, 2, 3] }),
    );
    // On the wasm heap rather than in JS memory: a fresh multi-megabyte array per call costs GC pauses.
    const phases = scratch.track(backend.makeOutput([phasesSize(g, grid)], 'float32'));
    buildPhases(heapView(backend, xCF), g, grid, heapView(backend, phases));
    scratch.release(xCF);
    const dyNHWC = channelsLast
      ? dy
      : scratch.track(runKernel(backend, 'Transpose', { x: dy }, { perm: [0, 2, 3, 1] }));

    const out = backend.makeOutput([...filterShape], 'float32');
    const outSize = filterShape.reduce((a, b) => a * b, 1);
    const chunk = imagesPerChunk(grid.patchRows * grid.plane, g.batch, scratchLimits.floats);
    try {
      for (let n0 = 0; n0 < g.batch; n0 += chunk) {
        const images = Math.min(chunk, g.batch - n0);
        const cols = chunkColumns(grid, images);
        const patches = scratch.track(backend.makeOutput([1, grid.patchRows, cols], 'float32'));
        const grads = scratch.track(backend.makeOutput([1, cols, g.outC], 'float32'));
        fillPatches(heapView(backend, phases), g, grid, n0, cols, heapView(backend, patches));
        fillGradGrid(heapView(backend, dyNHWC), g, grid, n0, images, cols, heapView(backend, grads));
        const product = scratch.track(
          runKernel(
            backend,
            'BatchMatMul',
            { a: patches, b: grads },
            { transposeA: false, transposeB: false },
          ),
        );
        scratch.release(patches);
        scratch.release(grads);
        const src = heapView(backend, product);
        const dst = heapView(backend, out);
        if (n0 === 0) dst.set(src.subarray(0, outSize));
        else for (let i = 0; i < outSize; i++) dst[i] += src[i];
        scratch.release(product);
      }
    } catch (err) {
      backend.disposeData(out.dataId);
      throw err;
    }
    return out;
  } finally {
    scratch.releaseAll();
  }
};

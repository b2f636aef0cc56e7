/**
 * Conv2DBackpropInput for the wasm backend, replacing wasm's own kernel (3.3 GFLOP/s measured here).
 * - stride 1: a forward Conv2D (XNNPACK, ~30 GFLOP/s) of dy with the filter flipped in both spatial axes and
 *   its channels swapped;
 * - other strides (e.g. the FORWARD op of the decoder's stride-2 transposed convolutions): the column product
 *   G = dy · Wᵀ on the fast non-transposed BatchMatMul, then col2im adds G's rows back onto the input grid;
 * - NCHW: wasm's own kernel, whose layout support this module does not duplicate.
 */
import { tf } from '../tf.js';
import {
  type ConvGeometry,
  flippedConvPads,
  geometryFromConvInfo,
  imagesPerChunk,
  scratchLimits,
} from './geometry.js';
import { filterToColumns, flipFilter, scatterColumns } from './layout.js';
import {
  asWasmBackend,
  type BackendWasm,
  heapView,
  requireFloat32,
  runConfig,
  runKernel,
  Scratch,
  sameShape,
  type TensorInfo,
} from './wasm_backend.js';

const KERNEL = 'Conv2DBackpropInput';

export function makeConv2dBackpropInput(original: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args) => {
    const backend = asWasmBackend(args.backend, KERNEL);
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
      args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
    if (format !== 'channelsLast') {
      if (!original) throw new Error(`${KERNEL} (xwb wasm): NCHW needs wasm's own kernel, which is missing`);
      return runConfig(original, backend, args.inputs as Record<string, TensorInfo>, args.attrs ?? {});
    }
    requireFloat32(KERNEL, { dy, filter });
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
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
    const pads = flippedConvPads(g);
    return pads ? viaFlippedConv(backend, dy, filter, g, pads) : viaColumns(backend, dy, filter, g);
  };
}

function viaFlippedConv(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  pads: { top: number; bottom: number; left: number; right: number },
): TensorInfo {
  const scratch = new Scratch(backend);
  try {
    const flipped = scratch.track(backend.makeOutput([g.kH, g.kW, g.outC, g.inC], 'float32'));
    flipFilter(heapView(backend, filter), g, heapView(backend, flipped));
    return runKernel(
      backend,
      'Conv2D',
      { x: dy, filter: flipped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [pads.top, pads.bottom],
          [pads.left, pads.right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  } finally {
    scratch.releaseAll();
  }
}

function viaColumns(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo {
  const k = g.kH * g.kW * g.inC;
  const pixels = g.outH * g.outW;
  const scratch = new Scratch(backend);
  const dx = backend.makeOutput([g.batch, g.inH, g.inW, g.inC], 'float32');
  try {
    const wCols = scratch.track(backend.makeOutput([1, g.outC, k], 'float32'));
    filterToColumns(heapView(backend, filter), g, heapView(backend, wCols));
    heapView(backend, dx).fill(0);
    const chunk = imagesPerChunk(pixels * k, g.batch, scratchLimits.floats);
    for (let n0 = 0; n0 < g.batch; n0 += chunk) {
      const images = Math.min(chunk, g.batch - n0);
      // dy of these images as [1, rows, outC]: the whole batch is a free reshape, a part of it a copy.
      const rows = images * pixels;
      let dyChunk: TensorInfo;
      if (images === g.batch) {
        dyChunk = scratch.track(runKernel(backend, 'Reshape', { x: dy }, { shape: [1, rows, g.outC] }));
      } else {
        dyChunk = scratch.track(backend.makeOutput([1, rows, g.outC], 'float32'));
        const start = n0 * pixels * g.outC;
        heapView(backend, dyChunk).set(heapView(backend, dy).subarray(start, start + rows * g.outC));
      }
      const cols = scratch.track(
        runKernel(backend, 'BatchMatMul', { a: dyChunk, b: wCols }, { transposeA: false, transposeB: false }),
      );
      scratch.release(dyChunk);
      scatterColumns(heapView(backend, cols), g, n0, images, heapView(backend, dx));
      scratch.release(cols);
    }
    return dx;
  } catch (err) {
    backend.disposeData(dx.dataId);
    throw err;
  } finally {
    scratch.releaseAll();
  }
}

/**
 * MaxPoolGrad for the wasm backend, replacing wasm's own, which drops the gradient of every window whose
 * maximum is negative (found by test/engine/probe.test.ts: it starts its running maximum at 0). Common in
 * practice: max pooling after batch normalisation or tanh sees all-negative windows.
 * Routing matches the cpu backend: the first strict maximum of each window, rows then columns, padding skipped.
 */
import { tf } from '../tf.js';
import { asWasmBackend, heapView, requireFloat32, type TensorInfo } from './wasm_backend.js';

const KERNEL = 'MaxPoolGrad';

export interface PoolGeometry {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  padTop: number;
  padLeft: number;
}

/** Adds each output gradient to the input position that won its window (dx must start zeroed). */
export function routeMaxPoolGrad(x: Float32Array, dy: Float32Array, g: PoolGeometry, dx: Float32Array): void {
  const c = g.channels;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      const y0 = oy * g.sH - g.padTop;
      for (let ox = 0; ox < g.outW; ox++, o += c) {
        const x0 = ox * g.sW - g.padLeft;
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let iy = Math.max(0, y0); iy < Math.min(g.inH, y0 + g.kH); iy++) {
          for (let ix = Math.max(0, x0); ix < Math.min(g.inW, x0 + g.kW); ix++) {
            const base = ((n * g.inH + iy) * g.inW + ix) * c;
            for (let ch = 0; ch < c; ch++) {
              if (x[base + ch] > best[ch]) {
                best[ch] = x[base + ch];
                where[ch] = base + ch;
              }
            }
          }
        }
        for (let ch = 0; ch < c; ch++) if (where[ch] >= 0) dx[where[ch]] += dy[o + ch];
      }
    }
  }
}

export const maxPoolGrad: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = asWasmBackend(anyBackend, KERNEL);
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  requireFloat32(KERNEL, { dy, input });
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`${KERNEL} (xwb wasm): dy has shape [${dy.shape}], the pooling gives [${info.outShape}]`);
  }
  const dx = backend.makeOutput([...input.shape], 'float32');
  const out = heapView(backend, dx);
  out.fill(0);
  routeMaxPoolGrad(
    heapView(backend, input),
    heapView(backend, dy),
    {
      batch: info.batchSize,
      inH: info.inHeight,
      inW: info.inWidth,
      channels: info.inChannels,
      outH: info.outHeight,
      outW: info.outWidth,
      kH: info.filterHeight,
      kW: info.filterWidth,
      sH: info.strideHeight,
      sW: info.strideWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    },
    out,
  );
  return dx;
};

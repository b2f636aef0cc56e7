/**
 * ResizeNearestNeighborGrad for the cpu backend. tfjs 4.22's own reads dy at the IMAGES' batch offset
 * (`batchOffset + dyR * dyStrides[1]`, with batchOffset = b · imagesStrides[0]), so every image after the first
 * of a batch gets the gradient of the wrong pixels: the explainer's nearest-neighbour decoder trained on
 * gradients that finite differences contradicted by a factor of ten (test/engine/resize-grad.test.ts). wasm's
 * kernel is right. This one scatters each dy pixel to the source pixel the forward pass read, with the forward's
 * own index rule (alignCorners, halfPixelCenters).
 */
import type * as Tf from '@tensorflow/tfjs';

type TfModule = typeof Tf;

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: Tf.DataType, values: Float32Array): Tf.TensorInfo;
}

/** The source index the forward nearest-neighbour resize reads for output index `i`. */
export function nearestSource(
  i: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): number {
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const frac = halfPixelCenters ? scale * (i + 0.5) : scale * i;
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, nearest) : nearest;
}

const resizeNearestNeighborGrad: Tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { images, dy } = inputs as { images: Tf.TensorInfo; dy: Tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters?: boolean };
  const cpu = backend as unknown as CpuBackendLike;
  const [batch, xH, xW, depth] = images.shape;
  const [, yH, yW] = dy.shape;
  const dyValues = cpu.data.get(dy.dataId).values;
  const out = new Float32Array(batch * xH * xW * depth);
  const rows = Array.from({ length: yH }, (_, r) =>
    nearestSource(r, xH, yH, alignCorners, !!halfPixelCenters),
  );
  const cols = Array.from({ length: yW }, (_, c) =>
    nearestSource(c, xW, yW, alignCorners, !!halfPixelCenters),
  );
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < yH; r++) {
      for (let c = 0; c < yW; c++) {
        const src = ((b * xH + rows[r]) * xW + cols[c]) * depth;
        const from = ((b * yH + r) * yW + c) * depth;
        for (let d = 0; d < depth; d++) out[src + d] += dyValues[from + d];
      }
    }
  }
  return cpu.makeTensorInfo(images.shape, images.dtype, out);
};

let registered = false;

/**
 * Replaces the cpu backend's kernel once per process (the cpu backend ships inside @tensorflow/tfjs). Takes the
 * instance rather than importing src/engine/tf.ts, which calls this while it is being evaluated.
 */
export function registerCpuKernels(tf: TfModule): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu'))
    tf.unregisterKernel(tf.ResizeNearestNeighborGrad, 'cpu');
  tf.registerKernel({
    kernelName: tf.ResizeNearestNeighborGrad,
    backendName: 'cpu',
    kernelFunc: resizeNearestNeighborGrad,
  });
}

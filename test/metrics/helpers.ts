/** Hand-made maps, masks, images and toy models for the metric tests. */
import type { BinaryMask, MetricImage, ScalarMap, ScoreModel } from '../../src/metrics/types.js';

export function mapOf(width: number, height: number, f: (x: number, y: number) => number): ScalarMap {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { data, width, height };
}

export function maskOf(width: number, height: number, f: (x: number, y: number) => boolean): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y) ? 1 : 0;
  return { data, width, height };
}

export function imageOf(
  width: number,
  height: number,
  channels: number,
  value: (x: number, y: number, c: number) => number,
): MetricImage {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = value(x, y, c);
    }
  }
  return { data, width, height, channels };
}

/**
 * A linear toy model with two classes: class 0's score is the sum of channel 0 over the pixels where `weight`
 * is 1, class 1's score is 0. Returned as raw scores ("probabilities" so no softmax is applied), so every
 * curve can be worked out by hand. Counts its calls and the largest batch it saw.
 */
export function linearModel(width: number, weight: (x: number, y: number) => number) {
  const stats = { calls: 0, images: 0, maxBatch: 0 };
  const model: ScoreModel = {
    outputs: 'probabilities',
    async predict(batch, w, h, channels) {
      if (w !== width) throw new Error('unexpected width');
      stats.calls++;
      stats.images += batch.length;
      stats.maxBatch = Math.max(stats.maxBatch, batch.length);
      return batch.map((img) => {
        let s = 0;
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) s += weight(x, y) * img[(y * w + x) * channels];
        return new Float32Array([s, 0]);
      });
    },
  };
  return { model, stats };
}

export function assertClose(actual: number, expected: number, tol = 1e-9, what = ''): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what} expected ${expected}, got ${actual} (tolerance ${tol})`);
  }
}

/**
 * Baselines that perturbed pixels take (Quantus's `perturb_baseline`), as a whole image of replacement values:
 * perturbing pixel i copies the baseline's channels of pixel i. Building the baseline once per run keeps the
 * seeded noise identical for every step, so a curve changes only because more pixels are replaced.
 *
 * - black / white: the low / high end of the value range; grey: its middle.
 * - blur: a box blur of the image with the given radius; windows are clipped at the border and averaged over
 *   the pixels they hold (no padding value leaks in).
 * - noise: uniform in the value range, from the seed.
 */
import { Random } from '../../util/random.js';
import type { MetricImage } from '../types.js';

export type Fill = 'black' | 'white' | 'grey' | 'blur' | 'noise';
export const FILLS: readonly Fill[] = ['black', 'white', 'grey', 'blur', 'noise'];

export interface FillOptions {
  valueMin: number;
  valueMax: number;
  blurRadius: number;
  seed: number;
}

/** Mean over a (2r+1)-wide window along one axis, clipped at the ends. */
function blurAxis(
  src: Float32Array,
  dst: Float32Array,
  image: MetricImage,
  r: number,
  horizontal: boolean,
): void {
  const { width, height, channels } = image;
  const len = horizontal ? width : height;
  const lines = horizontal ? height : width;
  const step = (horizontal ? 1 : width) * channels;
  const prefix = new Float64Array(len + 1);
  for (let line = 0; line < lines; line++) {
    const base = (horizontal ? line * width : line) * channels;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < len; i++) prefix[i + 1] = prefix[i] + src[base + i * step + c];
      for (let i = 0; i < len; i++) {
        const a = Math.max(0, i - r);
        const b = Math.min(len, i + r + 1);
        dst[base + i * step + c] = (prefix[b] - prefix[a]) / (b - a);
      }
    }
  }
}

export function boxBlur(image: MetricImage, radius: number): Float32Array {
  if (!Number.isInteger(radius) || radius < 0)
    throw new Error(`boxBlur: radius must be an integer >= 0, got ${radius}`);
  const tmp = new Float32Array(image.data.length);
  const out = new Float32Array(image.data.length);
  blurAxis(image.data, tmp, image, radius, true);
  blurAxis(tmp, out, image, radius, false);
  return out;
}

export function baselineImage(image: MetricImage, fill: Fill, options: FillOptions): Float32Array {
  const { valueMin: lo, valueMax: hi } = options;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
    throw new Error(`baseline: the value range must satisfy valueMin < valueMax, got [${lo}, ${hi}]`);
  }
  switch (fill) {
    case 'black':
      return new Float32Array(image.data.length).fill(lo);
    case 'white':
      return new Float32Array(image.data.length).fill(hi);
    case 'grey':
      return new Float32Array(image.data.length).fill((lo + hi) / 2);
    case 'blur':
      return boxBlur(image, options.blurRadius);
    case 'noise': {
      const rng = new Random(options.seed);
      const out = new Float32Array(image.data.length);
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(lo, hi);
      return out;
    }
  }
}

/** Copies the baseline's channels of the given pixels into `target` (an image buffer being perturbed). */
export function replacePixels(
  target: Float32Array,
  source: Float32Array,
  pixels: ArrayLike<number>,
  from: number,
  to: number,
  channels: number,
): void {
  for (let k = from; k < to; k++) {
    const base = pixels[k] * channels;
    for (let c = 0; c < channels; c++) target[base + c] = source[base + c];
  }
}

/** Input checks shared by the metrics; every message names the metric and says what is wrong. */
import type { BinaryMask, MetricImage, ScalarMap } from '../types.js';

function checkSize(metric: string, what: string, width: number, height: number, length: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(
      `${metric}: ${what} must have a positive integer width and height, got ${width}×${height}`,
    );
  }
  if (length !== width * height) {
    throw new Error(
      `${metric}: ${what} is ${width}×${height} but holds ${length} values (expected ${width * height})`,
    );
  }
}

export function checkMap(metric: string, map: ScalarMap, what = 'the explanation map'): void {
  if (!(map?.data instanceof Float32Array)) throw new Error(`${metric}: ${what} must hold a Float32Array`);
  checkSize(metric, what, map.width, map.height, map.data.length);
}

export function checkMask(metric: string, mask: BinaryMask, map: ScalarMap): void {
  if (!(mask?.data instanceof Uint8Array)) throw new Error(`${metric}: the mask must hold a Uint8Array`);
  checkSize(metric, 'the mask', mask.width, mask.height, mask.data.length);
  if (mask.width !== map.width || mask.height !== map.height) {
    throw new Error(
      `${metric}: the mask is ${mask.width}×${mask.height} but the map is ${map.width}×${map.height}; ` +
        'rasterise the boxes at the map size',
    );
  }
}

export function checkImage(metric: string, image: MetricImage, map: ScalarMap): void {
  if (!(image?.data instanceof Float32Array))
    throw new Error(`${metric}: the image must hold a Float32Array`);
  if (!Number.isInteger(image.channels) || image.channels < 1) {
    throw new Error(`${metric}: the image must have a positive integer channel count, got ${image.channels}`);
  }
  checkSize(metric, 'the image', image.width, image.height, image.data.length / image.channels);
  if (image.width !== map.width || image.height !== map.height) {
    throw new Error(
      `${metric}: the image is ${image.width}×${image.height} but the map is ${map.width}×${map.height}; ` +
        'resize the explanation to the model input first',
    );
  }
}

export function checkSameSize(metric: string, a: ScalarMap, b: ScalarMap, what: string): void {
  checkMap(metric, b, what);
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`${metric}: ${what} is ${b.width}×${b.height} but the map is ${a.width}×${a.height}`);
  }
}

export function checkClass(metric: string, target: number, numClasses?: number): void {
  if (!Number.isInteger(target) || target < 0 || (numClasses !== undefined && target >= numClasses)) {
    throw new Error(
      `${metric}: the target class must be an integer in [0, ${numClasses ?? '∞'}), got ${target}`,
    );
  }
}

export function maskCount(mask: BinaryMask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] !== 0) n++;
  return n;
}

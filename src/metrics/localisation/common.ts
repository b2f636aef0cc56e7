/** What every mask-based localisation metric does first: check the mask, count it, prepare the map. */
import { prepare } from '../core/normalise.js';
import { checkMask, maskCount } from '../core/validate.js';
import type { MetricInput } from '../types.js';

export interface MaskedMap {
  values: Float64Array;
  mask: Uint8Array;
  /** Pixels in the mask. */
  inside: number;
  width: number;
  height: number;
}

/** The map (|map| when `abs`) with its mask, or null when the mask is empty (the metric is then NaN). */
export function maskedMap(metric: string, input: MetricInput, abs: boolean): MaskedMap | null {
  const mask = input.mask;
  if (!mask) throw new Error(`${metric}: the input lacks mask, which this metric needs`);
  checkMask(metric, mask, input.map);
  const inside = maskCount(mask);
  if (inside === 0) return null;
  return {
    values: prepare(metric, input.map.data, abs, 'none'),
    mask: mask.data,
    inside,
    width: input.map.width,
    height: input.map.height,
  };
}

/**
 * The threshold a "which pixels are on" metric uses: an absolute value, or the p-th percentile of the map
 * (linear interpolation between order statistics, numpy's default), so 'percentile' 90 keeps about the top 10 %.
 */
export function thresholdValue(
  values: Float64Array,
  mode: string,
  threshold: number,
  percentile: number,
): number {
  if (mode === 'absolute') return threshold;
  const sorted = Float64Array.from(values).sort();
  const pos = (percentile / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export const THRESHOLD_MODES = ['absolute', 'percentile'] as const;

/**
 * Pre-processing of maps before a metric reads them (Quantus's `abs` and `normalise` switches). Everything is
 * returned as Float64Array: sums over 50 000 pixels in float32 lose digits the tests can see.
 */
export type Normalisation = 'none' | 'max-abs' | 'min-max';
export const NORMALISATIONS: readonly Normalisation[] = ['none', 'max-abs', 'min-max'];

/**
 * - 'max-abs': divide by max |v| (keeps signs and zero; Quantus's normalise_by_max). An all-zero map stays zero.
 * - 'min-max': (v − min) / (max − min). A constant map has no range and becomes all zeros (documented choice:
 *   "no pixel stands out"), rather than NaN.
 */
export function normalise(values: ArrayLike<number>, mode: Normalisation): Float64Array {
  const out = Float64Array.from(values);
  if (mode === 'none') return out;
  if (mode === 'max-abs') {
    let m = 0;
    for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i]));
    if (m > 0) for (let i = 0; i < out.length; i++) out[i] /= m;
    return out;
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < out.length; i++) {
    lo = Math.min(lo, out[i]);
    hi = Math.max(hi, out[i]);
  }
  const range = hi - lo;
  for (let i = 0; i < out.length; i++) out[i] = range > 0 ? (out[i] - lo) / range : 0;
  return out;
}

/** |v| when `abs`, then the normalisation: the order Quantus applies them in. */
export function prepare(
  metric: string,
  values: ArrayLike<number>,
  abs: boolean,
  mode: Normalisation,
): Float64Array {
  const out = Float64Array.from(values);
  if (abs) for (let i = 0; i < out.length; i++) out[i] = Math.abs(out[i]);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new Error(`${metric}: the explanation map has a non-finite value (${out[i]}) at pixel ${i}`);
    }
  }
  return normalise(out, mode);
}

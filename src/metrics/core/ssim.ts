/**
 * Mean structural similarity (Wang et al. 2004) of two maps, with the settings of scikit-image's
 * `structural_similarity` that Quantus calls: a uniform 7×7 window (or the largest odd window that fits a
 * smaller map), sample covariances (N − 1), K1 = 0.01, K2 = 0.03, and the mean over the positions whose window
 * lies wholly inside the map (skimage crops the border of (win − 1) / 2, so its padding mode never matters).
 *
 * `dataRange` (L in C1 = (K1·L)², C2 = (K2·L)²): when not given, the joint range max − min over both maps (as
 * one Quantus version does; another guesses 1 or 255). Two identical constant maps have no range: SSIM is 1.
 */
function integral(values: ArrayLike<number>, width: number, height: number): Float64Array {
  const w1 = width + 1;
  const s = new Float64Array(w1 * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += values[y * width + x];
      s[(y + 1) * w1 + x + 1] = s[y * w1 + x + 1] + row;
    }
  }
  return s;
}

function boxSum(s: Float64Array, w1: number, x0: number, y0: number, x1: number, y1: number): number {
  return s[y1 * w1 + x1] - s[y0 * w1 + x1] - s[y1 * w1 + x0] + s[y0 * w1 + x0];
}

export function ssim(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  width: number,
  height: number,
  dataRange?: number,
): number {
  if (a.length !== width * height || b.length !== width * height) {
    throw new Error(`ssim: both maps must hold ${width}×${height} values (got ${a.length} and ${b.length})`);
  }
  let win = Math.min(7, width, height);
  if (win % 2 === 0) win -= 1;
  if (win < 3) throw new Error(`ssim: maps of ${width}×${height} are too small for a 3×3 window`);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i], b[i]);
    hi = Math.max(hi, a[i], b[i]);
  }
  const range = dataRange ?? hi - lo;
  if (!(range >= 0) || !Number.isFinite(range))
    throw new Error(`ssim: data range must be finite and >= 0, got ${range}`);
  if (range === 0) return 1;
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  const n = width * height;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const w1 = width + 1;
  const sa = integral(a, width, height);
  const sb = integral(b, width, height);
  const saa = integral(aa, width, height);
  const sbb = integral(bb, width, height);
  const sab = integral(ab, width, height);
  const np = win * win;
  const covNorm = np / (np - 1);
  let total = 0;
  let count = 0;
  for (let y = 0; y + win <= height; y++) {
    for (let x = 0; x + win <= width; x++) {
      const x1 = x + win;
      const y1 = y + win;
      const ua = boxSum(sa, w1, x, y, x1, y1) / np;
      const ub = boxSum(sb, w1, x, y, x1, y1) / np;
      const va = covNorm * (boxSum(saa, w1, x, y, x1, y1) / np - ua * ua);
      const vb = covNorm * (boxSum(sbb, w1, x, y, x1, y1) / np - ub * ub);
      const vab = covNorm * (boxSum(sab, w1, x, y, x1, y1) / np - ua * ub);
      total += ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

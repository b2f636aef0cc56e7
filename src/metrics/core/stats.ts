/**
 * Statistics helpers: ranks with ties, Pearson and Spearman correlation, trapezoid AUC, ROC-AUC with ties.
 * Pure functions over plain arrays; everything in float64.
 */

/** Indices 0..n-1 sorted by value ascending; equal values keep index order (stable), so ties are deterministic. */
export function argsortAscending(values: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(values.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => values[a] - values[b] || a - b);
}

/** Indices sorted by value descending; ties in index order (row-major for maps). */
export function argsortDescending(values: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(values.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => values[b] - values[a] || a - b);
}

/** 1-based ranks, tied values sharing the mean of the ranks they span (midranks, as scipy's rankdata). */
export function midranks(values: ArrayLike<number>): Float64Array {
  const order = argsortAscending(values);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * Pearson's r. NaN when either side is constant (the correlation is undefined there; scipy returns NaN too),
 * or when there are fewer than 2 pairs.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`pearson: lengths differ (${a.length} vs ${b.length})`);
  const n = a.length;
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  // Clamp: rounding can push |r| a hair above 1 for perfectly linear data.
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/** Spearman's ρ: Pearson's r of the midranks (the tie-corrected form, as scipy.stats.spearmanr). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: lengths differ (${a.length} vs ${b.length})`);
  return pearson(midranks(a), midranks(b));
}

/** Area under y(x) by the trapezoid rule; x must be non-decreasing. */
export function trapezoid(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`trapezoid: lengths differ (${x.length} vs ${y.length})`);
  let area = 0;
  for (let i = 1; i < x.length; i++) {
    const dx = x[i] - x[i - 1];
    if (dx < 0) throw new Error(`trapezoid: x must be non-decreasing (x[${i}] = ${x[i]} < ${x[i - 1]})`);
    area += (dx * (y[i] + y[i - 1])) / 2;
  }
  return area;
}

/**
 * Exact ROC-AUC of `scores` for the binary `labels` (non-zero = positive), via the Mann-Whitney statistic with
 * midranks: a tied positive/negative pair counts one half, which is what the trapezoid through sklearn's
 * roc_curve gives. NaN when there are no positives or no negatives.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length)
    throw new Error(`rocAuc: lengths differ (${scores.length} vs ${labels.length})`);
  const ranks = midranks(scores);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++) {
    if (labels[i] !== 0) {
      nPos++;
      rankSum += ranks[i];
    }
  }
  const nNeg = ranks.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

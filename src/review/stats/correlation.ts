/**
 * Spearman's ρ with the numbers a reader needs to judge it: n, a two-sided p-value and a 95 % interval.
 *
 * - p: Student's t with n − 2 degrees of freedom on t = ρ·√((n − 2)/(1 − ρ²)), the approximation scipy's
 *   spearmanr reports; it is rough below n ≈ 10 (n is returned so readers can judge).
 * - CI: Fisher's z = atanh ρ with the Fieller–Hartley–Pearson standard error √(1.06/(n − 3)), which is the usual
 *   correction of Pearson's 1/√(n − 3) for rank correlations.
 */
import { spearman } from '../../metrics/core/stats.js';
import { studentTCdf } from '../../metrics/core/summarise.js';

export interface Correlation {
  rho: number;
  n: number;
  /** Two-sided; NaN when n < 3 or ρ is undefined. */
  p: number;
  /** NaN bounds when n < 4 or ρ is undefined. */
  ci95: [number, number];
}

/** 97.5 % quantile of the standard normal. */
const Z975 = 1.959963984540054;

/** Spearman's ρ over the pairs where both values are finite. */
export function spearmanTest(a: readonly number[], b: readonly number[]): Correlation {
  if (a.length !== b.length) throw new Error(`spearmanTest: lengths differ (${a.length} vs ${b.length})`);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) {
      x.push(a[i]);
      y.push(b[i]);
    }
  }
  const n = x.length;
  const rho = n >= 2 ? spearman(x, y) : Number.NaN;
  let p = Number.NaN;
  if (n >= 3 && Number.isFinite(rho)) {
    if (Math.abs(rho) >= 1) p = 0;
    else {
      const t = rho * Math.sqrt((n - 2) / (1 - rho * rho));
      p = 2 * (1 - studentTCdf(Math.abs(t), n - 2));
    }
  }
  let ci95: [number, number] = [Number.NaN, Number.NaN];
  if (n >= 4 && Number.isFinite(rho)) {
    if (Math.abs(rho) >= 1) ci95 = [rho, rho];
    else {
      const z = Math.atanh(rho);
      const half = Z975 * Math.sqrt(1.06 / (n - 3));
      ci95 = [Math.tanh(z - half), Math.tanh(z + half)];
    }
  }
  return { rho, n, p, ci95 };
}

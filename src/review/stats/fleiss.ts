/**
 * Fleiss' κ (Fleiss 1971) for a fixed number of raters per unit. Pure.
 *
 * Fleiss' κ is only defined when every unit has the same number of ratings. With missing ratings this module
 * does not guess: `fleissKappaFromTable` keeps the complete units (rated by every rater) and reports how many it
 * dropped, so the caller can show both the κ and what it rests on. Krippendorff's α (krippendorff.ts) is the
 * statistic that uses incomplete units.
 */
import type { RatingTable } from './krippendorff.js';

export interface KappaResult {
  /** NaN when undefined: no units, fewer than 2 raters, or chance agreement P̄e = 1 (one category only). */
  kappa: number;
  /** Mean observed agreement P̄. */
  observedAgreement: number;
  /** Agreement expected by chance P̄e = Σ p_j². */
  chanceAgreement: number;
  units: number;
  /** Ratings per unit. */
  raters: number;
}

export interface TableKappaResult extends KappaResult {
  /** Units left out because some rater had not rated them. */
  droppedUnits: number;
  categories: number[];
}

const undefinedKappa = (units: number, raters: number): KappaResult => ({
  kappa: Number.NaN,
  observedAgreement: Number.NaN,
  chanceAgreement: Number.NaN,
  units,
  raters,
});

/** κ from a units × categories table of counts; every row must sum to the same number of raters. */
export function fleissKappa(counts: readonly (readonly number[])[]): KappaResult {
  const N = counts.length;
  if (N === 0) return undefinedKappa(0, 0);
  const k = counts[0].length;
  const n = counts[0].reduce((s, v) => s + v, 0);
  counts.forEach((row, i) => {
    if (row.length !== k)
      throw new Error(`fleissKappa: unit ${i} has ${row.length} categories, unit 0 has ${k}`);
    for (const v of row) {
      if (!Number.isInteger(v) || v < 0)
        throw new Error(`fleissKappa: unit ${i}: counts must be integers >= 0`);
    }
    const sum = row.reduce((s, v) => s + v, 0);
    if (sum !== n) {
      throw new Error(
        `fleissKappa: unit ${i} has ${sum} ratings, unit 0 has ${n}; Fleiss' κ needs the same number per unit ` +
          "(use Krippendorff's α for incomplete designs)",
      );
    }
  });
  if (n < 2) return undefinedKappa(N, n);
  const totals = new Array<number>(k).fill(0);
  let pBar = 0;
  for (const row of counts) {
    let sq = 0;
    row.forEach((v, j) => {
      totals[j] += v;
      sq += v * v;
    });
    pBar += (sq - n) / (n * (n - 1));
  }
  pBar /= N;
  const pe = totals.reduce((s, t) => s + (t / (N * n)) ** 2, 0);
  return {
    kappa: pe < 1 ? (pBar - pe) / (1 - pe) : Number.NaN,
    observedAgreement: pBar,
    chanceAgreement: pe,
    units: N,
    raters: n,
  };
}

/**
 * κ from a units × raters table (null = not rated), the same layout Krippendorff's α takes. Categories are the
 * distinct values that occur (or `categories` when given, e.g. 1..5). Units with a missing rating are dropped.
 */
export function fleissKappaFromTable(table: RatingTable, categories?: readonly number[]): TableKappaResult {
  const complete = table.filter((row) => row.every((v) => v !== null && !Number.isNaN(v))) as number[][];
  const cats = categories ? [...categories] : [...new Set(complete.flat())].sort((a, b) => a - b);
  const index = new Map(cats.map((c, i) => [c, i]));
  const counts = complete.map((row, u) => {
    const c = new Array<number>(cats.length).fill(0);
    for (const v of row) {
      const i = index.get(v);
      if (i === undefined)
        throw new Error(`fleissKappaFromTable: unit ${u}: ${v} is not one of ${cats.join(', ')}`);
      c[i]++;
    }
    return c;
  });
  const r = complete.length > 0 ? fleissKappa(counts) : undefinedKappa(0, table[0]?.length ?? 0);
  return { ...r, droppedUnits: table.length - complete.length, categories: cats };
}

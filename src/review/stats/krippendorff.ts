/**
 * Krippendorff's α for a units × raters table with missing values (Krippendorff 2011, "Computing Krippendorff's
 * Alpha-Reliability"). Pure; float64 throughout.
 *
 * Why α and not only κ: review sessions are rarely complete (a rater stops half-way, a pairwise session shows an
 * explanation twice), and α uses every unit that has at least two values instead of dropping incomplete ones. The
 * ordinal metric is the right one for 1–5 scores: it treats the scale as ranked, and distances between scores
 * depend on how often the scores in between were used, not on the numbers 1..5 themselves.
 */

export type AlphaLevel = 'nominal' | 'ordinal' | 'interval' | 'ratio';
export const ALPHA_LEVELS: readonly AlphaLevel[] = ['nominal', 'ordinal', 'interval', 'ratio'];

/** One row per unit (e.g. an explanation), one column per rater; null (or NaN) = not rated. */
export type RatingTable = readonly (readonly (number | null)[])[];

export interface AlphaResult {
  /** NaN when undefined: no unit has two values, or every pairable value is the same (no expected disagreement). */
  alpha: number;
  level: AlphaLevel;
  /** Units with at least two values (the only ones that count). */
  units: number;
  /** Pairable values n.. (sum over those units of their number of values). */
  values: number;
  /** Distinct values, ascending: the rows and columns of `coincidences`. */
  categories: number[];
  /** o_ck: how often values c and k were paired within a unit, each unit weighted by 1 / (m_u − 1). */
  coincidences: number[][];
  observedDisagreement: number;
  expectedDisagreement: number;
}

function isMissing(v: number | null): v is null {
  return v === null || Number.isNaN(v);
}

/** The pairable values of each unit, after validating the table. */
function pairableUnits(table: RatingTable, level: AlphaLevel): number[][] {
  if (!Array.isArray(table))
    throw new Error('krippendorffAlpha: expected an array of units (rows of ratings)');
  const width = table[0]?.length ?? 0;
  const units: number[][] = [];
  table.forEach((row: readonly (number | null)[], u: number) => {
    if (row.length !== width) {
      throw new Error(
        `krippendorffAlpha: unit ${u} has ${row.length} raters, unit 0 has ${width}; pad with null`,
      );
    }
    const vals: number[] = [];
    row.forEach((v: number | null, r: number) => {
      if (isMissing(v)) return;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`krippendorffAlpha: unit ${u}, rater ${r}: ${String(v)} is not a number or null`);
      }
      if (level === 'ratio' && v < 0) {
        throw new Error(`krippendorffAlpha: unit ${u}, rater ${r}: ratio data must be >= 0, got ${v}`);
      }
      vals.push(v);
    });
    if (vals.length >= 2) units.push(vals);
  });
  return units;
}

/** δ² between every pair of categories; the ordinal one needs the marginals n_g. */
function differences(level: AlphaLevel, cats: readonly number[], marginals: readonly number[]): number[][] {
  const k = cats.length;
  const d = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  // Prefix sums of the marginals make the ordinal distance O(1) per pair.
  const prefix = [0];
  for (const m of marginals) prefix.push(prefix[prefix.length - 1] + m);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      if (a === b) continue;
      const c = cats[a];
      const e = cats[b];
      if (level === 'nominal') d[a][b] = 1;
      else if (level === 'interval') d[a][b] = (c - e) ** 2;
      else if (level === 'ratio') d[a][b] = c + e === 0 ? 0 : ((c - e) / (c + e)) ** 2;
      else {
        const lo = Math.min(a, b);
        const hi = Math.max(a, b);
        const between = prefix[hi + 1] - prefix[lo];
        d[a][b] = (between - (marginals[a] + marginals[b]) / 2) ** 2;
      }
    }
  }
  return d;
}

export function krippendorffAlpha(table: RatingTable, level: AlphaLevel = 'ordinal'): AlphaResult {
  if (!ALPHA_LEVELS.includes(level)) {
    throw new Error(`krippendorffAlpha: level must be one of ${ALPHA_LEVELS.join(', ')}, got "${level}"`);
  }
  const units = pairableUnits(table, level);
  const categories = [...new Set(units.flat())].sort((a, b) => a - b);
  const index = new Map(categories.map((c, i) => [c, i]));
  const k = categories.length;
  const o = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const vals of units) {
    const w = 1 / (vals.length - 1);
    for (let i = 0; i < vals.length; i++) {
      for (let j = 0; j < vals.length; j++) {
        if (i !== j) o[index.get(vals[i])!][index.get(vals[j])!] += w;
      }
    }
  }
  const marginals = o.map((row) => row.reduce((s, v) => s + v, 0));
  const n = marginals.reduce((s, v) => s + v, 0);
  const delta = differences(level, categories, marginals);
  let observed = 0;
  let expected = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      observed += o[a][b] * delta[a][b];
      expected += marginals[a] * marginals[b] * delta[a][b];
    }
  }
  const dO = n > 0 ? observed / n : Number.NaN;
  const dE = n > 1 ? expected / (n * (n - 1)) : Number.NaN;
  return {
    alpha: dE > 0 ? 1 - dO / dE : Number.NaN,
    level,
    units: units.length,
    values: Math.round(n),
    categories,
    coincidences: o,
    observedDisagreement: dO,
    expectedDisagreement: dE,
  };
}

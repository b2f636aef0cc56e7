import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fleissKappa,
  fleissKappaFromTable,
  krippendorffAlpha,
  spearmanTest,
} from '../../src/review/stats/index.js';

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);

const N = null;

test("Krippendorff's α on a hand-computed 2-rater table, all four metrics", () => {
  // Units [1,2] [2,3] [1,1] [3,3] [1,1]. Coincidences (each unit weighted 1/(m_u − 1) = 1):
  //   o11 = 4, o12 = o21 = 1, o23 = o32 = 1, o33 = 2  →  n1 = 5, n2 = 2, n3 = 3, n = 10.
  // nominal:  Do = 4/10, De = 2(5·2 + 2·3 + 5·3)/(10·9) = 62/90           → α = 1 − 0.4/(62/90) = 13/31
  // interval: Do = 4·1/10, De = 2(5·2·1 + 2·3·1 + 5·3·4)/90 = 152/90      → α = 29/38
  // ordinal:  δ²12 = (n1 + n2 − (n1+n2)/2)² = 3.5², δ²23 = 2.5², δ²13 = (10 − 4)² = 36
  //           Do = (2·12.25 + 2·6.25)/10 = 3.7, De = 2(5·2·12.25 + 2·3·6.25 + 5·3·36)/90 = 1400/90
  //           α = 1 − 3.7·90/1400 = 1067/1400
  const t = [
    [1, 2],
    [2, 3],
    [1, 1],
    [3, 3],
    [1, 1],
  ];
  const nominal = krippendorffAlpha(t, 'nominal');
  close(nominal.alpha, 13 / 31, 1e-12, 'nominal');
  assert.deepEqual(nominal.coincidences, [
    [4, 1, 0],
    [1, 0, 1],
    [0, 1, 2],
  ]);
  assert.equal(nominal.values, 10);
  close(krippendorffAlpha(t, 'interval').alpha, 29 / 38, 1e-12, 'interval');
  close(krippendorffAlpha(t, 'ordinal').alpha, 1067 / 1400, 1e-12, 'ordinal');
  // ratio: δ² = ((c − k)/(c + k))²: δ²12 = 1/9, δ²23 = 1/25, δ²13 = 1/4.
  const dO = (2 / 9 + 2 / 25) / 10;
  const dE = (2 * (5 * 2 * (1 / 9) + 2 * 3 * (1 / 25) + 5 * 3 * (1 / 4))) / 90;
  close(krippendorffAlpha(t, 'ratio').alpha, 1 - dO / dE, 1e-12, 'ratio');
});

test("Krippendorff's α reproduces Krippendorff (2011)'s 4 raters × 12 units example with missing values", () => {
  // Rows are units, columns raters A–D (the paper prints raters as rows).
  const table = [
    [1, 1, N, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [N, 5, 5, 5],
    [N, N, 1, 1],
    [N, N, 3, N],
  ];
  // Published: nominal .743, interval .849 (the paper); ordinal .815 and ratio .797 (the same table as computed by
  // R's irr::kripp.alpha and Python's krippendorff package, whose test suite pins these values).
  const r = krippendorffAlpha(table, 'nominal');
  close(r.alpha, 0.743, 5e-4, 'nominal');
  assert.equal(r.units, 11, 'unit 12 has a single value and is not pairable');
  assert.equal(r.values, 40);
  close(krippendorffAlpha(table, 'ordinal').alpha, 0.815, 5e-4, 'ordinal');
  close(krippendorffAlpha(table, 'interval').alpha, 0.849, 5e-4, 'interval');
  close(krippendorffAlpha(table, 'ratio').alpha, 0.797, 5e-4, 'ratio');
});

test("Krippendorff's α on a 3-rater table with many gaps matches the krippendorff package's pinned values", () => {
  // Same data as the package's tests (raters as rows there): nominal 0.691358, interval 0.810845.
  const byRater = [
    [N, N, N, N, N, 3, 4, 1, 2, 1, 1, 3, 3, N, 3],
    [1, N, 2, 1, 3, 3, 4, 3, N, N, N, N, N, N, N],
    [N, N, 2, 1, 3, 4, 4, N, 2, 1, 1, 3, 3, N, 4],
  ];
  const table = byRater[0].map((_, u) => byRater.map((r) => r[u]));
  close(krippendorffAlpha(table, 'nominal').alpha, 0.691358, 5e-7, 'nominal');
  close(krippendorffAlpha(table, 'interval').alpha, 0.810845, 5e-7, 'interval');
});

test("Krippendorff's α: undefined cases and input checks", () => {
  assert.ok(
    Number.isNaN(
      krippendorffAlpha([
        [1, N],
        [N, 2],
      ]).alpha,
    ),
    'no unit with two values',
  );
  assert.ok(
    Number.isNaN(
      krippendorffAlpha([
        [3, 3],
        [3, 3],
      ]).alpha,
    ),
    'one value only: no expected disagreement',
  );
  assert.equal(
    krippendorffAlpha([
      [1, 1],
      [2, 2],
      [5, 5],
    ]).alpha,
    1,
  );
  assert.throws(() => krippendorffAlpha([[1, 2], [1]]), /unit 1 has 1 raters/);
  assert.throws(() => krippendorffAlpha([[1, 2]], 'cosine' as 'nominal'), /level must be one of/);
});

test("Fleiss' κ reproduces Fleiss (1971) / Wikipedia's worked example (κ ≈ 0.210)", () => {
  const counts = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];
  const r = fleissKappa(counts);
  close(r.observedAgreement, 0.378, 5e-4, 'P̄');
  close(r.chanceAgreement, 0.213, 5e-4, 'P̄e');
  close(r.kappa, 0.21, 5e-4, 'κ');
  assert.equal(r.units, 10);
  assert.equal(r.raters, 14);
});

test("Fleiss' κ on a hand-computed table, and missing ratings drop the unit", () => {
  // 3 raters, 2 categories: P_i = 1, 1, 1/3 → P̄ = 7/9; p = 5/9, 4/9 → P̄e = 41/81; κ = (7/9 − 41/81)/(40/81) = 0.55.
  close(
    fleissKappa([
      [3, 0],
      [0, 3],
      [2, 1],
    ]).kappa,
    0.55,
    1e-12,
    'κ',
  );
  const t = fleissKappaFromTable(
    [
      [1, 1, 1],
      [2, 2, 2],
      [1, 1, 2],
      [1, N, 2],
    ],
    [1, 2],
  );
  close(t.kappa, 0.55, 1e-12, 'κ from the table');
  assert.equal(t.units, 3);
  assert.equal(t.droppedUnits, 1);
  assert.ok(Number.isNaN(fleissKappaFromTable([[1, N]]).kappa), 'no complete unit');
  assert.throws(
    () =>
      fleissKappa([
        [2, 0],
        [1, 0],
      ]),
    /same number per unit/,
  );
});

test('spearmanTest matches scipy.stats.spearmanr (ρ and p), with ties and NaN pairs', () => {
  // scipy 1.17: spearmanr([1..7], [2,1,4,3,7,5,6]) → 0.8214285714285715, p 0.0234488083456915
  const a = spearmanTest([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6]);
  close(a.rho, 0.8214285714285715, 1e-12, 'ρ');
  close(a.p, 0.0234488083456915, 1e-9, 'p');
  assert.equal(a.n, 7);
  // Fisher z with the Fieller–Hartley–Pearson variance 1.06/(n − 3).
  const half = 1.959963984540054 * Math.sqrt(1.06 / 4);
  close(a.ci95[0], Math.tanh(Math.atanh(a.rho) - half), 1e-12, 'ci low');
  close(a.ci95[1], Math.tanh(Math.atanh(a.rho) + half), 1e-12, 'ci high');
  // Ties on both sides; a NaN pair is left out: spearmanr(x[:8], y[:8]) → 0.9036800488347749, p 0.0020757515937733324
  const b = spearmanTest([0.1, 0.5, 0.3, 0.9, 0.7, 0.2, 0.8, 0.4, Number.NaN], [2, 3, 3, 5, 4, 1, 4.5, 2, 3]);
  close(b.rho, 0.9036800488347749, 1e-12, 'ρ with ties');
  close(b.p, 0.0020757515937733324, 1e-9, 'p with ties');
  assert.equal(b.n, 8);
  const c = spearmanTest([1, 2], [2, 1]);
  assert.ok(Number.isNaN(c.p) && Number.isNaN(c.ci95[0]), 'n = 2: no p, no interval');
});

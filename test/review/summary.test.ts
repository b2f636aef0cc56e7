import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Io } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { summarise } from '../../src/metrics/core/summarise.js';
import { createReviewSession, rate } from '../../src/review/session.js';
import { fleissKappaFromTable, krippendorffAlpha, spearmanTest } from '../../src/review/stats/index.js';
import type { Score } from '../../src/store/index.js';
import { reviewFixture } from './helpers.js';

async function xwb(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** NaN is written as null by --json. */
const num = (v: number) => (Number.isNaN(v) ? null : v);

test('xwb ratings summary --json: agreement, method means and metric correlations from a synthetic session', async () => {
  const f = reviewFixture({ images: 4, methods: ['gradcam', 'explainer'] });
  try {
    const s = createReviewSession(f.store, {
      name: 'study',
      runIds: f.runIds,
      methods: f.methods,
      imageIds: f.imageIds,
      raters: ['Ana', 'Ben', 'Cy'],
      seed: 4,
    });
    // Correctness per explanation (rows, in explanation id order) and rater (columns); Cy skips one.
    const ids = [...new Set(f.store.ratings.items(s.session.id).map((i) => i.explanationId))].sort(
      (a, b) => a - b,
    );
    const correctness: (number | null)[][] = [
      [5, 5, 4],
      [2, 1, 2],
      [4, 4, 4],
      [1, 2, 1],
      [5, 4, 5],
      [2, 2, 3],
      [3, 4, 3],
      [1, 1, null],
    ];
    const compactness = (c: number) => 6 - c;
    for (const [r, rater] of s.raters.entries()) {
      for (const it of f.store.ratings.items(s.session.id, rater.id)) {
        const c = correctness[ids.indexOf(it.explanationId)][r];
        if (c === null) continue;
        rate(f.store, it.id, {
          correctness: c as Score,
          completeness: c as Score,
          compactness: compactness(c) as Score,
        });
      }
    }
    // A metric that follows correctness, stored as `xwb metrics` would.
    const metric = [0.9, 0.2, 0.7, 0.1, 0.8, 0.3, 0.5, 0.05];
    for (const [u, id] of ids.entries())
      f.store.explanations.putMetrics(id, [{ metric: 'pointing', value: metric[u] }]);
    // A free rating outside the session must not count in --session.
    f.store.ratings.put({ raterId: s.raters[0].id, explanationId: ids[0], correctness: 1 });

    const r = await xwb('ratings', 'summary', '--session', String(s.session.id), '--db', f.file, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.ratings, 23);
    assert.deepEqual(j.raters, ['Ana', 'Ben', 'Cy']);
    assert.equal(j.explanations, 8);

    const alpha = krippendorffAlpha(correctness, 'ordinal');
    assert.equal(j.agreement.correctness.alphaOrdinal, alpha.alpha);
    assert.equal(j.agreement.correctness.alphaInterval, krippendorffAlpha(correctness, 'interval').alpha);
    assert.equal(j.agreement.correctness.pairableUnits, 8);
    const kappa = fleissKappaFromTable(correctness, [1, 2, 3, 4, 5]);
    assert.equal(j.agreement.correctness.fleissKappa, kappa.kappa);
    assert.deepEqual(
      [j.agreement.correctness.fleissUnits, j.agreement.correctness.fleissDroppedUnits],
      [7, 1],
    );
    // Reversing the scale does not change agreement.
    assert.ok(Math.abs(j.agreement.compactness.alphaOrdinal - alpha.alpha) < 1e-12);

    // Per-method means over explanations of the raters' mean.
    const unitMean = correctness.map((row) => {
      const v = row.filter((x): x is number => x !== null);
      return v.reduce((a, b) => a + b, 0) / v.length;
    });
    for (const m of j.methods) {
      const mine = ids
        .map((id, u) => ({ id, u }))
        .filter(({ id }) => f.store.explanations.getMeta(id)!.method === m.method);
      const expected = summarise(mine.map(({ u }) => unitMean[u]));
      assert.equal(m.explanations, 4);
      assert.ok(Math.abs(m.scores.correctness.mean - expected.mean) < 1e-12);
      assert.deepEqual(m.scores.correctness.ci95.map(num), expected.ci95.map(num));
      assert.ok(
        Math.abs(m.scores.mean.mean - (expected.mean + expected.mean + (6 - expected.mean)) / 3) < 1e-12,
      );
    }

    assert.equal(j.metrics.length, 1);
    const corr = j.metrics[0].correlations;
    const expected = spearmanTest(metric, unitMean);
    assert.equal(corr.correctness.rho, expected.rho);
    assert.equal(corr.correctness.p, expected.p);
    assert.equal(corr.correctness.n, 8);
    assert.ok(corr.correctness.rho > 0.9, 'the metric follows correctness');
    assert.ok(Math.abs(corr.compactness.rho + expected.rho) < 1e-12, 'and is reversed against compactness');

    // The readable table names every section. Over all ratings, Ana's later free rating of the first explanation
    // replaces her session rating of it (one value per rater and unit): still 23, but that unit lost completeness.
    const text = await xwb('ratings', 'summary', '--db', f.file);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /all review sessions: 23 ratings by 3 rater/);
    assert.match(text.out, /completeness .* 6 \(2\)/);
    assert.match(text.out, /α ordinal/);
    assert.match(text.out, /explainer\s+\d+\s+4\s+\d\.\d\d \[/);
    assert.match(text.out, /pointing\s+8\s+0\.\d\d \(p /);
    const bad = await xwb('ratings', 'summary', '--session', '99', '--db', f.file);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no review session 99 in .*\(sessions: 1\)/);
    assert.equal((await xwb('ratings', 'tally', '--db', f.file)).code, 2);
  } finally {
    f.done();
  }
});

/**
 * A short slice of bench/team-load.ts: 20 reviewers and 2 owner curators against the real `xwb serve --team` on
 * PostgreSQL for ~20 s, one SIGKILL of the server and a restart on the same database. Every acknowledged rating
 * must be stored with its value under its reviewer, no box edit may be lost or overwrite another, and the run must
 * have exercised what it claims (ratings, box edits, at least one 409, requests refused during the kill).
 * Skipped, with the reason, without PostgreSQL (as the store tests are).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase, postgresUnavailable } from '../store/engines.js';
import { runTeamLoad } from './load-harness.js';

const reason = postgresUnavailable();

test(
  '20 reviewers rating and annotating through a server SIGKILL lose no acknowledged write [postgres]',
  reason === undefined ? { timeout: 300_000 } : { skip: reason },
  async () => {
    const db = createTestDatabase();
    try {
      const r = await runTeamLoad({
        db: db.url,
        reviewers: 20,
        curators: 2,
        durationMs: 20_000,
        killAtMs: 8_000,
        seed: 14,
        thinkMs: [100, 600],
        images: 6,
        fastHashes: true,
      });
      const why = `${JSON.stringify({ ...r, latency: undefined }, null, 1)}`;
      assert.deepEqual(r.problems, [], why);
      assert.equal(r.lost, 0, why);
      assert.equal(r.overwritten, 0, why);
      assert.equal(r.mixed, 0, why);
      assert.equal(r.ratingsPresent, r.acknowledged.ratings, why);
      // The slice exercised what it checks: many ratings by many reviewers, box edits, conflicts, the kill.
      assert.ok(r.acknowledged.ratings >= 100, why);
      assert.ok(r.acknowledged.adds >= 20 && r.acknowledged.updates >= 20, why);
      assert.ok(r.conflicts >= 1, `no 409 happened, so the conflict check checked nothing: ${why}`);
      assert.ok(r.failures.inKillWindow >= 1, `nothing was refused during the kill: ${why}`);
      assert.equal(r.failures.outsideKillWindow, 0, why);
      assert.equal(r.statuses['500'] ?? 0, 0, why);
    } finally {
      db.drop();
    }
  },
);

/**
 * A short slice of bench/durability.ts: `xwb serve` killed with SIGKILL at seeded random moments while ratings (with
 * masks) and annotation adds, moves and deletes stream in; after every kill each acknowledged write is in the store,
 * re-sent adds stored nothing twice, and the store passes integrity_check at the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCrashCycles } from './crash-cycles.js';

test('ten SIGKILLs of xwb serve under load lose no acknowledged write and duplicate no re-sent add', async () => {
  const r = await runCrashCycles({ cycles: 10, seed: 11 });
  const why = r.problems.join('\n');
  assert.equal(r.cycles, 10);
  assert.equal(r.lost, 0, why);
  assert.equal(r.duplicates, 0, why);
  assert.deepEqual(r.problems, []);
  assert.equal(r.integrity, 'ok');
  // The slice must actually have exercised every kind of write, and crashes with writes in flight.
  for (const [kind, n] of Object.entries(r.acknowledged)) assert.ok(n > 0, `no ${kind} acknowledged`);
  assert.ok(r.resentAdds > 0, 'no acknowledged add was sent again');
  assert.ok(r.resentAfterKill > 0, 'no write was in flight at any kill');
});

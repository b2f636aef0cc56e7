/**
 * Team accounts on both engines (a real SQLite file, a PostgreSQL database): names and roles, sign-in sessions by hash with expiry, review assignments,
 * the last owner kept, a removed account's ratings kept; and optimistic versions on annotator boxes.
 */
import assert from 'node:assert/strict';
import { openStore, StaleWriteError } from '../../src/store/index.js';
import { engineTest, seedDataset, sha, tempStore } from './helpers.js';

engineTest(
  'accounts: lower-case names, one rater each, roles, the last owner cannot go, survives reopening',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { store } = t;
      // A rater who rated before accounts existed is adopted by the account of that name.
      const old = store.ratings.createRater('Ann');
      const ann = store.accounts.create({ name: ' ANN ', role: 'owner', passwordHash: 'scrypt$x' });
      assert.equal(ann.name, 'ann');
      assert.equal(ann.raterId, old.id);
      const bob = store.accounts.create({ name: 'bob', role: 'reviewer', passwordHash: 'scrypt$y' });
      assert.notEqual(bob.raterId, ann.raterId);
      assert.equal(store.ratings.getRater(bob.raterId)?.name, 'bob');
      assert.throws(
        () => store.accounts.create({ name: 'Bob', role: 'viewer', passwordHash: 'h' }),
        /already exists/,
      );
      assert.throws(
        () => store.accounts.create({ name: 'a b', role: 'viewer', passwordHash: 'h' }),
        /not a valid user name/,
      );
      assert.throws(
        () => store.accounts.create({ name: 'cy', role: 'admin' as 'owner', passwordHash: 'h' }),
        /unknown role "admin"/,
      );
      assert.equal(store.accounts.credentials('BOB')?.passwordHash, 'scrypt$y');
      assert.equal(store.accounts.credentials('no such'), undefined);
      assert.equal(store.accounts.count('owner'), 1);
      assert.throws(() => store.accounts.setRole('ann', 'viewer'), /only owner/);
      assert.throws(() => store.accounts.remove('ann'), /only owner/);
      assert.equal(store.accounts.setRole('bob', 'viewer').role, 'viewer');
      t.store.close();
      const again = openStore(t.file);
      try {
        assert.deepEqual(
          again.accounts.list().map((a) => [a.name, a.role]),
          [
            ['ann', 'owner'],
            ['bob', 'viewer'],
          ],
        );
        assert.equal(again.schemaVersion, 5);
      } finally {
        again.close();
      }
    } finally {
      t.done();
    }
  },
);

engineTest(
  'sign-in sessions: found by hash until they expire; a new password ends them; purge drops the expired',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { store } = t;
      const a = store.accounts.create({ name: 'ann', role: 'reviewer', passwordHash: 'h1' });
      store.accounts.createSession(a.id, sha(1), '2026-12-03T12:00:00.000Z');
      store.accounts.createSession(a.id, sha(2), '2026-12-03T10:00:00.000Z');
      assert.equal(store.accounts.sessionAccount(sha(1), '2026-12-03T11:59:59.999Z')?.name, 'ann');
      assert.equal(
        store.accounts.sessionAccount(sha(1), '2026-12-03T12:00:00.000Z'),
        undefined,
        'expired at its time',
      );
      assert.equal(
        store.accounts.sessionAccount(sha(3), '2026-12-03T09:00:00.000Z'),
        undefined,
        'unknown hash',
      );
      assert.equal(store.accounts.sessionAccount('not hex', '2026-12-03T09:00:00.000Z'), undefined);
      assert.throws(() => store.accounts.createSession(a.id, 'short', '2026-12-04T00:00:00.000Z'), /SHA-256/);
      assert.equal(store.accounts.purgeExpiredSessions('2026-12-03T11:00:00.000Z'), 1);
      store.accounts.deleteSession(sha(1));
      assert.equal(
        store.accounts.sessionAccount(sha(1), '2026-12-03T09:00:00.000Z'),
        undefined,
        'signed out',
      );
      store.accounts.createSession(a.id, sha(4), '2026-12-04T00:00:00.000Z');
      store.accounts.setPassword('ann', 'h2');
      assert.equal(
        store.accounts.sessionAccount(sha(4), '2026-12-03T09:00:00.000Z'),
        undefined,
        'password changed',
      );
      assert.equal(store.accounts.credentials('ann')?.passwordHash, 'h2');
    } finally {
      t.done();
    }
  },
);

engineTest(
  'assignments: per session and account; removing an account keeps its rater and ratings',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { store } = t;
      const owner = store.accounts.create({ name: 'olga', role: 'owner', passwordHash: 'h' });
      const a = store.accounts.create({ name: 'ann', role: 'reviewer', passwordHash: 'h' });
      const s1 = store.ratings.createSession({ name: 's1' });
      const s2 = store.ratings.createSession({ name: 's2' });
      store.accounts.assign(s2.id, a.id);
      store.accounts.assign(s1.id, a.id);
      store.accounts.assign(s1.id, a.id); // twice is once
      assert.deepEqual(store.accounts.assignedSessions(a.id), [s1.id, s2.id]);
      assert.deepEqual(store.accounts.assignedSessions(owner.id), []);
      assert.deepEqual(
        store.accounts.assignees(s1.id).map((x) => x.name),
        ['ann'],
      );
      assert.throws(() => store.accounts.assign(999, a.id), /no review session 999/);
      assert.equal(store.accounts.unassign(s2.id, a.id), true);
      assert.equal(store.accounts.unassign(s2.id, a.id), false);
      // A free rating by ann's rater.
      const { imageIds } = seedDataset(store, 1);
      const run = store.runs.create({
        datasetId: store.images.get(imageIds[0])!.datasetId,
        model: 'm',
        config: {},
        engine: 'cpu',
      });
      const e = store.explanations.put({
        runId: run.id,
        imageId: imageIds[0],
        classIndex: 0,
        method: 'gradient',
        params: {},
        width: 2,
        height: 2,
        encoding: 'f32le',
        data: Buffer.alloc(16),
      });
      store.ratings.put({ raterId: a.raterId, explanationId: e.id, correctness: 4 });
      store.accounts.remove('ann');
      assert.equal(store.accounts.byName('ann'), undefined);
      assert.deepEqual(store.accounts.assignees(s1.id), []);
      assert.equal(store.ratings.getRater(a.raterId)?.name, 'ann', 'the rater stays');
      assert.equal(store.ratings.list({ raterId: a.raterId })[0].correctness, 4, 'the rating stays');
    } finally {
      t.done();
    }
  },
);

engineTest(
  'a resent box edit whose first attempt was stored answers the stored box instead of a conflict with itself',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { store } = t;
      const { imageIds } = seedDataset(store, 1);
      const ann = store.ratings.createRater('ann');
      const box = store.objects.addAnnotation(imageIds[0], ann.id, {
        name: 'cat',
        box: { x0: 1, y0: 1, x1: 9, y1: 9 },
      });
      const moved = { name: 'cat', box: { x0: 2, y0: 3, x1: 9, y1: 9 }, difficult: false };
      assert.equal(store.objects.updateAnnotation(box.id, moved, 1).version, 2);
      // The answer was lost (server killed after the commit); the save queue sends the same edit again.
      const again = store.objects.updateAnnotation(box.id, moved, 1);
      assert.equal(again.version, 2, 'no second write');
      assert.deepEqual(again.object.box, moved.box);
      // A different edit based on the old version is still refused, and changes nothing.
      assert.throws(
        () => store.objects.updateAnnotation(box.id, { ...moved, box: { x0: 4, y0: 4, x1: 9, y1: 9 } }, 1),
        StaleWriteError,
      );
      assert.equal(store.objects.get(box.id)!.version, 2);
      assert.deepEqual(store.objects.get(box.id)!.object.box, moved.box);
    } finally {
      t.done();
    }
  },
);

engineTest(
  'annotator boxes carry a version: a write based on an older one is refused and changes nothing',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { store } = t;
      const { imageIds } = seedDataset(store, 1);
      const ann = store.ratings.createRater('ann');
      const box = store.objects.addAnnotation(imageIds[0], ann.id, {
        name: 'cat',
        box: { x0: 1, y0: 1, x1: 9, y1: 9 },
      });
      assert.equal(box.version, 1);
      // Two people loaded version 1; the first edit wins and makes version 2.
      const first = store.objects.updateAnnotation(
        box.id,
        { name: 'cat', box: { x0: 2, y0: 2, x1: 9, y1: 9 } },
        1,
      );
      assert.equal(first.version, 2);
      assert.throws(
        () => store.objects.updateAnnotation(box.id, { name: 'dog', box: { x0: 3, y0: 3, x1: 9, y1: 9 } }, 1),
        (e: unknown) => {
          assert.ok(e instanceof StaleWriteError);
          assert.match(
            e.message,
            /changed by someone else .*your version 1, stored version 2.*nothing was overwritten/,
          );
          return true;
        },
      );
      assert.throws(() => store.objects.deleteAnnotation(box.id, 1), StaleWriteError);
      const now = store.objects.get(box.id)!;
      assert.equal(now.object.name, 'cat');
      assert.equal(now.object.box.x0, 2);
      assert.equal(now.deletedAt, null);
      assert.equal(now.version, 2);
      // Based on the current version, delete and restore go through and each raise the version.
      assert.equal(store.objects.deleteAnnotation(box.id, 2).version, 3);
      assert.equal(store.objects.restoreAnnotation(box.id, 3).version, 4);
      // Without a version (the single-user workbench's old clients), a write is unconditional as before.
      assert.equal(
        store.objects.updateAnnotation(box.id, { name: 'dog', box: { x0: 1, y0: 1, x1: 5, y1: 5 } }).version,
        5,
      );
    } finally {
      t.done();
    }
  },
);

import assert from 'node:assert/strict';
import type { Score } from '../../src/store/index.js';
import { engineTest, rawConnection, seedExplanations, tempStore } from './helpers.js';

engineTest('raters: unique names (case-insensitive), ensureRater is idempotent', (engine) => {
  const t = tempStore(engine);
  try {
    const ana = t.store.ratings.createRater('Dr. Ana');
    assert.throws(() => t.store.ratings.createRater('dr. ana'), /a rater named "dr. ana" already exists/);
    assert.equal(t.store.ratings.ensureRater('DR. ANA').id, ana.id);
    assert.notEqual(t.store.ratings.ensureRater('Ben').id, ana.id);
    assert.deepEqual(
      t.store.ratings.listRaters().map((r) => r.name),
      ['Ben', 'Dr. Ana'],
    );
  } finally {
    t.done();
  }
});

engineTest('review sessions, items and ratings: upsert, history, list filters', (engine) => {
  const t = tempStore(engine);
  try {
    const { explanationIds } = seedExplanations(t.store, 2);
    const ana = t.store.ratings.createRater('Ana');
    const ben = t.store.ratings.createRater('Ben');
    const s = t.store.ratings.createSession({ name: 'pilot', config: { order: 'random' }, blinded: true });
    assert.equal(s.blinded, true);
    const items = t.store.ratings.addItems(s.id, [
      { raterId: ana.id, explanationId: explanationIds[0], position: 0, side: 'left' },
      { raterId: ana.id, explanationId: explanationIds[1], position: 1 },
      { raterId: ben.id, explanationId: explanationIds[0], position: 0 },
    ]);
    assert.deepEqual(
      t.store.ratings.items(s.id, ana.id).map((i) => [i.position, i.side]),
      [
        [0, 'left'],
        [1, null],
      ],
    );
    assert.throws(
      () =>
        t.store.ratings.addItems(s.id, [{ raterId: ana.id, explanationId: explanationIds[0], position: 1 }]),
      /already has an item at position 1/,
    );

    const r1 = t.store.ratings.put({
      reviewItemId: items[0].id,
      correctness: 4,
      completeness: 3,
      compactness: 5,
    });
    assert.equal(r1.raterId, ana.id);
    assert.equal(r1.explanationId, explanationIds[0]);
    assert.equal(r1.wrongFlag, false);
    // An identical save adds no revision.
    assert.deepEqual(
      t.store.ratings.put({ reviewItemId: items[0].id, correctness: 4, completeness: 3, compactness: 5 }),
      r1,
    );
    assert.equal(t.store.ratings.history(r1.id).length, 0);
    const r2 = t.store.ratings.put({
      reviewItemId: items[0].id,
      correctness: 2,
      completeness: 3,
      compactness: 5,
      comment: 'misses the tail',
      wrongFlag: true,
    });
    assert.equal(r2.id, r1.id, 'same item, same rating row');
    assert.equal(r2.correctness, 2);
    assert.equal(r2.comment, 'misses the tail');
    const hist = t.store.ratings.history(r1.id);
    assert.equal(hist.length, 1);
    assert.deepEqual([hist[0].correctness, hist[0].comment, hist[0].wrongFlag], [4, null, false]);

    // A free rating (outside sessions) by the same rater on the same explanation is a separate row.
    const free = t.store.ratings.put({ raterId: ana.id, explanationId: explanationIds[0], correctness: 1 });
    assert.notEqual(free.id, r1.id);
    assert.equal(free.reviewItemId, null);
    assert.equal(
      t.store.ratings.put({ raterId: ana.id, explanationId: explanationIds[0], correctness: 2 }).id,
      free.id,
    );
    t.store.ratings.put({ reviewItemId: items[2].id, correctness: 5 });

    assert.equal(t.store.ratings.list().length, 3);
    assert.equal(t.store.ratings.list({ sessionId: s.id }).length, 2);
    assert.equal(t.store.ratings.list({ raterId: ana.id }).length, 2);
    assert.equal(t.store.ratings.list({ explanationId: explanationIds[1] }).length, 0);
    assert.throws(
      () => t.store.ratings.put({ reviewItemId: 999, correctness: 3 }),
      /no review item with id 999/,
    );
  } finally {
    t.done();
  }
});

engineTest('a score of 6 is rejected by the API and by the schema CHECK itself', (engine) => {
  const t = tempStore(engine);
  try {
    const { explanationIds } = seedExplanations(t.store, 1);
    const ana = t.store.ratings.createRater('Ana');
    assert.throws(
      () =>
        t.store.ratings.put({ raterId: ana.id, explanationId: explanationIds[0], correctness: 6 as Score }),
      /correctness must be an integer 1\.\.5, got 6/,
    );
    assert.throws(
      () =>
        t.store.ratings.put({ raterId: ana.id, explanationId: explanationIds[0], compactness: 2.5 as Score }),
      /compactness must be an integer 1\.\.5/,
    );
    const db = rawConnection(t);
    const insert = (col: string, v: number | string) =>
      db.run(
        `INSERT INTO ratings (explanation_id, rater_id, ${col}, created_at, updated_at) VALUES (?, ?, ?, 'n', 'n')`,
        explanationIds[0],
        ana.id,
        v,
      );
    for (const col of ['correctness', 'completeness', 'compactness']) {
      assert.throws(() => insert(col, 6), { constraint: 'check' });
      assert.throws(() => insert(col, 0), { constraint: 'check' });
    }
    assert.throws(
      () => insert('correctness', 'high'),
      engine === 'sqlite'
        ? /cannot store TEXT value in INTEGER column/
        : /invalid input syntax for type integer: "high"/,
    );
    db.close();
    assert.equal(t.store.ratings.list().length, 0);
  } finally {
    t.done();
  }
});

engineTest(
  'ratings are never lost: no deletes, and what they rate cannot be deleted or replaced under them',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { datasetId, runId, explanationIds } = seedExplanations(t.store, 1);
      const ana = t.store.ratings.createRater('Ana');
      const s = t.store.ratings.createSession({ name: 'pilot' });
      const empty = t.store.ratings.createSession({ name: 'never used' });
      const [item] = t.store.ratings.addItems(s.id, [
        { raterId: ana.id, explanationId: explanationIds[0], position: 0 },
      ]);
      t.store.ratings.addItems(empty.id, []);
      t.store.ratings.deleteSession(empty.id);
      assert.equal(t.store.ratings.getSession(empty.id), undefined, 'a session without ratings can go');
      const rating = t.store.ratings.put({ reviewItemId: item.id, correctness: 3 });

      assert.throws(
        () => t.store.datasets.delete(datasetId),
        /cannot be deleted: some of its explanations are in review sessions/,
      );
      assert.throws(() => t.store.ratings.deleteSession(s.id), /has ratings and is kept permanently/);
      const e = t.store.explanations.getById(explanationIds[0])!;
      assert.throws(
        () => t.store.explanations.put({ ...e, data: Buffer.from([9, 9, 9, 9]) }),
        /is in 1 review item\(s\) and cannot be replaced/,
      );
      const db = rawConnection(t);
      assert.throws(() => db.run('DELETE FROM ratings'), /ratings are never deleted/);
      if (engine === 'postgres')
        assert.throws(() => db.run('TRUNCATE ratings CASCADE'), /ratings are never deleted/);
      assert.throws(() => db.run('DELETE FROM raters'), { constraint: 'foreign-key' });
      // The trigger keeps a rating consistent with its item.
      const other = t.store.ratings.createRater('Ben');
      assert.throws(
        () => db.run('UPDATE ratings SET rater_id = ? WHERE id = ?', other.id, rating.id),
        /rating does not match its review item/,
      );
      db.close();
      assert.deepEqual(t.store.ratings.get(rating.id), rating);
      assert.ok(t.store.runs.get(runId));
    } finally {
      t.done();
    }
  },
);

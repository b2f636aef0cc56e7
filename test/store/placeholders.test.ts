import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constraintKind, PostgresError, toNumberedPlaceholders } from '../../src/store/engine.js';

test('? becomes $1..$n in order, but not inside literals, quoted identifiers or comments', () => {
  assert.deepEqual(toNumberedPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)'), {
    text: 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)',
    count: 3,
  });
  assert.deepEqual(
    toNumberedPlaceholders(`SELECT '?', 'it''s ?', "odd?col" FROM t -- why?\nWHERE x = ? /* ? */ AND y = ?`),
    { text: `SELECT '?', 'it''s ?', "odd?col" FROM t -- why?\nWHERE x = $1 /* ? */ AND y = $2`, count: 2 },
  );
  assert.deepEqual(toNumberedPlaceholders('SELECT 1'), { text: 'SELECT 1', count: 0 });
  assert.throws(() => toNumberedPlaceholders("SELECT 'open"), /unterminated string literal/);
});

test('constraint errors are classified the same on both engines', () => {
  assert.equal(constraintKind(new PostgresError('dup', '23505')), 'unique');
  assert.equal(constraintKind(new PostgresError('fk', '23503')), 'foreign-key');
  assert.equal(constraintKind(new PostgresError('other', '22012')), undefined);
  const sqlite = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  assert.equal(constraintKind(sqlite('SQLITE_CONSTRAINT_UNIQUE')), 'unique');
  assert.equal(constraintKind(sqlite('SQLITE_CONSTRAINT_FOREIGNKEY')), 'foreign-key');
  assert.equal(
    constraintKind(sqlite('SQLITE_CONSTRAINT_TRIGGER', 'FOREIGN KEY constraint failed')),
    'foreign-key',
  );
  assert.equal(constraintKind(sqlite('SQLITE_CONSTRAINT_TRIGGER', 'ratings are never deleted')), undefined);
  assert.equal(constraintKind(new Error('plain')), undefined);
});

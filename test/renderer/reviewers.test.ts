/** The Reviewers panel's rules: who can be added to a session, and how a failed change is worded. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidates, changeError, itemsText } from '../../renderer/src/lib/review/reviewers.js';
import type { TeamUserView } from '../../src/api/contract.js';

const USERS: TeamUserView[] = [
  { name: 'vic', role: 'viewer' },
  { name: 'olga', role: 'owner' },
  { name: 'bob', role: 'reviewer' },
  { name: 'ann', role: 'reviewer' },
  { name: 'al', role: 'viewer' },
];

test('offered: the accounts not assigned that may rate, reviewers first, then by name; viewers named apart', () => {
  const c = candidates(USERS, [{ user: 'bob', role: 'reviewer', items: 8 }]);
  assert.deepEqual(
    c.addable.map((u) => u.name),
    ['ann', 'olga'],
  );
  assert.deepEqual(c.viewers, ['al', 'vic']);
  const none = candidates(USERS, [
    { user: 'ann', role: 'reviewer', items: 8 },
    { user: 'bob', role: 'reviewer', items: 8 },
    { user: 'olga', role: 'owner', items: 8 },
  ]);
  assert.deepEqual(none.addable, []);
  assert.deepEqual(candidates([], []), { addable: [], viewers: [] });
});

test('a failed change says what failed, for whom and in which session, then the server’s reason', () => {
  assert.equal(
    changeError('assign', 'ann', 'Pilot', 'refused: managing sessions belongs to the owner'),
    'Could not add ann to “Pilot”: refused: managing sessions belongs to the owner',
  );
  assert.equal(
    changeError('unassign', 'bob', 'Pilot', 'the workbench server does not answer'),
    'Could not remove bob from “Pilot”: the workbench server does not answer',
  );
  assert.equal(
    changeError('load', '', 'Pilot', 'no review session 9'),
    'Could not load the reviewers of “Pilot”: no review session 9',
  );
  assert.equal(itemsText(1), '1 item');
  assert.equal(itemsText(0), '0 items');
});

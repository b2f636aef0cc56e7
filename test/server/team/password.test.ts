/**
 * Passwords: scrypt hashes that carry their salt and parameters, checked in constant time; weak passwords refused
 * with a sentence; failed sign-ins limited in a sliding window (a test clock, no waiting).
 */
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { test } from 'node:test';
import { hashPassword, passwordProblem, verifyPassword } from '../../../src/server/team/password.js';
import { FailureLimiter } from '../../../src/server/team/ratelimit.js';

const FAST = { logN: 10, r: 8, p: 1 };

test('a hash names scrypt, its parameters and salt, and is the scrypt of the password under that salt', async () => {
  const h = await hashPassword('correct horse battery', FAST);
  const [kind, logN, r, p, salt, key] = h.split('$');
  assert.deepEqual([kind, logN, r, p], ['scrypt', '10', '8', '1']);
  assert.equal(Buffer.from(salt, 'base64url').length, 16);
  const want = scryptSync('correct horse battery', Buffer.from(salt, 'base64url'), 32, {
    N: 1024,
    r: 8,
    p: 1,
  });
  assert.equal(key, want.toString('base64url'));
  assert.ok(!h.includes('correct horse'), 'never the password itself');
  const again = await hashPassword('correct horse battery', FAST);
  assert.notEqual(again, h, 'a new salt every time');
});

test('verify: the right password only; unknown users and damaged hashes are false', async () => {
  const h = await hashPassword('correct horse battery', FAST);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterY', h), false);
  assert.equal(await verifyPassword('', h), false);
  assert.equal(await verifyPassword('correct horse battery', undefined), false);
  assert.equal(await verifyPassword('correct horse battery', h.replace('scrypt$10', 'scrypt$40')), false);
  assert.equal(await verifyPassword('correct horse battery', 'plain text'), false);
  assert.equal(await verifyPassword('x'.repeat(2000), h), false);
  // The default parameters are used when none are given.
  assert.match(await hashPassword('another long passphrase'), /^scrypt\$15\$8\$3\$/);
});

test('weak passwords are refused with a sentence; a passphrase passes', () => {
  assert.equal(passwordProblem('', 'ann'), 'the password is empty');
  assert.match(passwordProblem('short1', 'ann') ?? '', /has 6 characters; use at least 10/);
  assert.match(passwordProblem('aaaaaaaaaaaa', 'ann') ?? '', /too few different characters/);
  assert.match(passwordProblem('Password123', 'ann') ?? '', /most common passwords/);
  assert.match(passwordProblem('annannann-2026', 'ann') ?? '', /contains the user name/);
  assert.equal(passwordProblem('violet staple orbit', 'ann'), null);
});

test('failure limiter: refuses past max failures in the window, for the time until the oldest leaves it', () => {
  let now = 1_000_000;
  const l = new FailureLimiter({ max: 3, windowMs: 60_000 }, () => now);
  assert.equal(l.retryAfterMs('ann'), 0);
  l.fail('ann');
  now += 10_000;
  l.fail('ann');
  now += 10_000;
  assert.equal(l.retryAfterMs('ann'), 0, 'two failures: still allowed');
  l.fail('ann');
  assert.equal(l.retryAfterMs('ann'), 40_000, 'the first failure leaves the window 40 s from now');
  assert.equal(l.retryAfterMs('bob'), 0, 'per key');
  now += 40_000;
  assert.equal(l.retryAfterMs('ann'), 0);
  l.fail('ann');
  assert.equal(l.retryAfterMs('ann'), 10_000);
  l.clear('ann');
  assert.equal(l.retryAfterMs('ann'), 0);
  const small = new FailureLimiter({ max: 1, windowMs: 60_000, maxKeys: 2 }, () => now);
  small.fail('a');
  small.fail('b');
  small.fail('c');
  assert.equal(small.retryAfterMs('a'), 0, 'the oldest key was dropped');
  assert.ok(small.retryAfterMs('c') > 0);
});

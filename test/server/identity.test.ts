import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stablePort, storeToken } from '../../src/server/identity.js';

test('the same store gets the same port, another store (usually) another one', () => {
  const a = stablePort('/data/a/xwb.db');
  assert.equal(stablePort('/data/a/xwb.db'), a);
  assert.ok(a >= 20_000 && a < 40_000);
  assert.notEqual(stablePort('/data/b/xwb.db'), a);
});

test('the token is kept next to the store, owner-readable only, and reused across restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-identity-'));
  try {
    const db = join(dir, 'xwb.db');
    const t1 = storeToken(db);
    assert.match(t1, /^[A-Za-z0-9_-]{32,}$/);
    assert.equal(storeToken(db), t1);
    const file = readdirSync(dir, { withFileTypes: true }).find((d) => d.name.endsWith('serve-token'));
    assert.ok(file, 'token file written');
    assert.equal(statSync(join(dir, file.name)).mode & 0o777, 0o600);
    assert.notEqual(storeToken(join(dir, 'other.db')), t1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

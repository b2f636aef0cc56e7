/**
 * `xwb user` on a real store file (the password through Io.secret, as from stdin), and `xwb serve --team`
 * refusing to start without an owner or without TLS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { verifyPassword } from '../../src/server/team/password.js';
import { openStore } from '../../src/store/index.js';

function io(secret = '') {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      interactive: false,
      secret: async () => secret,
    },
  };
}

test('xwb user add/list/role/remove; weak passwords refused; serve --team needs an owner and TLS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-user-'));
  const db = join(dir, 'xwb.db');
  try {
    const noOwner = io();
    assert.equal(await main(['serve', '--team', '--db', db], noOwner.io), 2);
    assert.match(noOwner.err.join('\n'), /team mode needs an owner account .*xwb user add NAME --role owner/);

    const weak = io('short');
    assert.equal(await main(['user', 'add', 'olga', '--role', 'owner', '--db', db], weak.io), 1);
    assert.match(
      weak.err.join('\n'),
      /the password has 5 characters; use at least 10; the user was not changed/,
    );
    const badRole = io('a fine long passphrase');
    assert.equal(await main(['user', 'add', 'olga', '--role', 'admin', '--db', db], badRole.io), 2);

    const ok = io('a fine long passphrase');
    assert.equal(await main(['user', 'add', 'Olga', '--role', 'owner', '--db', db], ok.io), 0);
    assert.deepEqual(ok.out, ['added owner "olga"']);
    assert.equal(
      await main(['user', 'add', 'ann', '--role', 'reviewer', '--db', db], io('her own long phrase').io),
      0,
    );
    const list = io();
    assert.equal(await main(['user', 'list', '--json', '--db', db], list.io), 0);
    assert.deepEqual(JSON.parse(list.out[0]), [
      { name: 'ann', role: 'reviewer' },
      { name: 'olga', role: 'owner' },
    ]);
    const demote = io();
    assert.equal(await main(['user', 'role', 'olga', '--role', 'viewer', '--db', db], demote.io), 1);
    assert.match(demote.err.join('\n'), /only owner/);

    const store = openStore(db);
    try {
      const stored = store.accounts.credentials('olga')!.passwordHash;
      assert.match(stored, /^scrypt\$15\$8\$3\$/);
      assert.equal(await verifyPassword('a fine long passphrase', stored), true);
    } finally {
      store.close();
    }

    const noTls = io();
    assert.equal(await main(['serve', '--team', '--db', db], noTls.io), 2);
    assert.match(
      noTls.err.join('\n'),
      /needs TLS: give --tls-cert FILE and --tls-key FILE .* --behind-proxy --origin/,
    );
    const proxyNoOrigin = io();
    assert.equal(await main(['serve', '--team', '--behind-proxy', '--db', db], proxyNoOrigin.io), 2);
    assert.match(proxyNoOrigin.err.join('\n'), /--behind-proxy needs --origin/);
    const certWithoutTeam = io();
    assert.equal(await main(['serve', '--tls-cert', 'x.pem', '--db', db], certWithoutTeam.io), 2);
    assert.match(certWithoutTeam.err.join('\n'), /--tls-cert is for team mode: add --team/);

    assert.equal(await main(['user', 'remove', 'ann', '--db', db], io().io), 0);
    const after = io();
    await main(['user', 'list', '--json', '--db', db], after.io);
    assert.deepEqual(JSON.parse(after.out[0]), [{ name: 'olga', role: 'owner' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

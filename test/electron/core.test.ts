import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseShellArgs, rendererRoot, startCore, startupFailureMessage } from '../../electron/core.cjs';

test('parseShellArgs finds --db among Electron and Chromium arguments', () => {
  assert.deepEqual(parseShellArgs(['/usr/bin/electron', '/app/main.cjs']), { db: undefined });
  assert.deepEqual(parseShellArgs(['electron', 'main.cjs', '--db', '/data/x.db']), { db: '/data/x.db' });
  assert.deepEqual(parseShellArgs(['electron', '--no-sandbox', '--db=/data/y.db', '--enable-logging']), {
    db: '/data/y.db',
  });
  assert.equal(parseShellArgs(['e', '--db', 'rel/x.db']).db, path.resolve('rel/x.db'));
  assert.throws(() => parseShellArgs(['e', '--db']), /--db needs a path/);
  assert.throws(() => parseShellArgs(['e', '--db', '--inspect']), /--db needs a path/);
  assert.throws(() => parseShellArgs(['e', '--db=']), /needs a path/);
});

test('rendererRoot: dist/renderer under the app root, or XWB_RENDERER_DIR', () => {
  assert.equal(rendererRoot('/opt/xwb/app.asar', {}), path.join('/opt/xwb/app.asar', 'dist', 'renderer'));
  assert.equal(rendererRoot('/x', { XWB_RENDERER_DIR: 'rel/r' }), path.resolve('rel/r'));
});

test('startupFailureMessage explains an ABI mismatch and how to fix it', () => {
  const abi = new Error(
    "The module '/x/better_sqlite3.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 140.",
  );
  const repo = path.resolve(new URL('../..', import.meta.url).pathname);
  assert.match(startupFailureMessage(abi, repo), /npm run desktop/);
  assert.match(startupFailureMessage(abi, '/nonexistent'), /Reinstall the application/);
  assert.equal(
    startupFailureMessage(new Error('/d/x.db: not an xwb store'), repo),
    'xwb could not start.\n\n/d/x.db: not an xwb store',
  );
});

test('startCore opens the store named by --db and builds an electron service', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const db = path.join(dir, 'sub', 'xwb.db');
  const core = await startCore({ db });
  try {
    assert.equal(core.store.path, db);
    const info = await core.service.call('app.info', {});
    assert.equal(info.transport, 'electron');
    assert.equal(typeof core.contract.validateRequest, 'function');
    assert.ok(core.contract.METHODS.includes('datasets.list'));
  } finally {
    core.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

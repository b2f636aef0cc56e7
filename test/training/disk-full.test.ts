/**
 * A training checkpoint written to a full disk (issue 11): `xwb train` with the store's `runs/` folder on a
 * 320 KiB tmpfs, where the first checkpoint of the tiny classifier (~190 KB) fits and the next one does not. The run
 * must fail with an error naming the checkpoint's path, be recorded as failed with that error, keep the first
 * checkpoint loadable, leave no temporary folder, and leave the store passing integrity_check. Skips, saying why,
 * where a tmpfs cannot be mounted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadModel } from '../../src/models/index.js';
import { openStore } from '../../src/store/index.js';
import { mountTmpfs, unmount } from '../util/tmpfs.js';
import { type Fixture, syntheticStore, wasm } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let fx: Fixture;
let runs = '';
let skip: string | null = null;

before(async () => {
  fx = await syntheticStore({ images: 32 });
  fx.store.close();
  runs = path.join(fx.dir, 'runs');
  skip = mountTmpfs(runs, 320 * 1024);
  if (skip) console.log(`# skipped: ${skip}`);
});

after(() => {
  if (!skip) unmount(runs);
  fx.done();
});

test('a checkpoint on a full disk fails the run naming its path; earlier checkpoints and the store stay valid', async (t) => {
  if (skip) return t.skip(skip);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/run.ts',
      'train',
      'shapes',
      '--db',
      fx.dbPath,
      '--model',
      'classifier',
      '--size',
      '32',
      '--base',
      '4',
      '--epochs',
      '3',
      '--batch',
      '16',
      '--engine',
      'wasm',
    ],
    { cwd: repo, encoding: 'utf8' },
  );
  assert.equal(r.status, 1, `exit code; stderr:\n${r.stderr}`);
  const message =
    /cannot write the checkpoint of classifier epoch (\d) to (\S+): no space left on the disk/.exec(r.stderr);
  assert.ok(message, `the error says which checkpoint and why: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a message, not a stack');
  const failedAt = path.join(runs, '1', 'checkpoints', `classifier-000${message[1]}`);
  assert.equal(message[2], failedAt);

  const d = new Database(fx.dbPath, { readonly: true });
  try {
    assert.equal(d.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    d.close();
  }
  const store = openStore(fx.dbPath);
  let kept: string[];
  try {
    const run = store.runs.get(1);
    assert.equal(run?.status, 'failed');
    assert.ok(run?.error?.includes(failedAt), `the run records the error: ${run?.error}`);
    const checkpoints = store.runs.checkpoints(1);
    assert.ok(checkpoints.length >= 1, 'the first checkpoint was recorded');
    assert.ok(
      checkpoints.every((c) => c.path !== failedAt),
      'the failed one was not recorded',
    );
    kept = checkpoints.map((c) => path.basename(c.path));
    // What the store records is exactly what is on the disk: no half-written or temporary folder beside it.
    assert.deepEqual(readdirSync(path.join(runs, '1', 'checkpoints')).sort(), [...kept].sort());
    assert.deepEqual(readdirSync(path.join(runs, '1')), ['checkpoints']);
    await wasm();
    for (const c of checkpoints) {
      const model = await loadModel(c.path);
      assert.equal(model.spec.kind, 'classifier');
      model.dispose();
    }
  } finally {
    store.close();
  }
});

/**
 * `xwb export` onto a full disk (a 2 MiB tmpfs filled up to its last 96 KiB, issue 11): the command fails with an
 * error naming the target and the cause, nothing is left on that disk (no target folder, no temporary one), the
 * store is untouched, and once space is freed the same export succeeds. Skips, saying why, where a tmpfs cannot be
 * mounted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { importDataset } from '../../../src/data/import/import.js';
import { generateDataset } from '../../../src/data/synthetic/generate.js';
import { openStore } from '../../../src/store/index.js';
import { fillUntil, mountTmpfs, unmount } from '../../util/tmpfs.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'xwb-export-full-'));
const disk = path.join(dir, 'disk');
const skip = mountTmpfs(disk, 2 * 1024 * 1024);
if (skip) console.log(`# skipped: ${skip}`);
const db = path.join(dir, 'xwb.db');

before(async () => {
  if (skip) return;
  // Noisy 64 px images do not compress: 40 of them are ~500 KB, far more than the 96 KiB left.
  await generateDataset(path.join(dir, 'noisy'), {
    images: 40,
    positives: 20,
    width: 64,
    height: 64,
    shapesPerImage: 3,
    noiseSigma: 40,
    seed: 3,
  });
  const store = openStore(db);
  await importDataset(store, path.join(dir, 'noisy'), { name: 'noisy' });
  store.close();
});

after(() => {
  if (!skip) unmount(disk);
  rmSync(dir, { recursive: true, force: true });
});

function xwb(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
}

function storeState(): { integrity: string; rows: number[] } {
  const d = new Database(db, { readonly: true });
  try {
    const integrity = (d.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const rows = ['datasets', 'images', 'objects', 'splits'].map((t) =>
      Number(d.prepare(`SELECT count(*) FROM ${t}`).pluck().get()),
    );
    return { integrity, rows };
  } finally {
    d.close();
  }
}

test('export to a full disk fails naming the target, leaves no partial files and the store intact', {
  skip: skip ?? false,
}, () => {
  const before = storeState();
  assert.equal(before.integrity, 'ok');
  fillUntil(disk, 96 * 1024);
  const out = path.join(disk, 'noisy-voc');
  const r = xwb('export', 'noisy', out, '--db', db);
  assert.equal(r.status, 1, `exit code; stderr:\n${r.stderr}`);
  assert.ok(r.stderr.includes(out), `the error names the target: ${r.stderr}`);
  assert.match(r.stderr, /no space left/i);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a message, not a stack');
  assert.ok(!existsSync(out), 'no target folder');
  assert.deepEqual(readdirSync(disk), ['filler'], 'no temporary folder or file left on the full disk');
  assert.deepEqual(storeState(), before, 'the store is unchanged and passes integrity_check');

  // With the space back the same command writes the whole export.
  rmSync(path.join(disk, 'filler'));
  const again = xwb('export', 'noisy', out, '--db', db, '--json');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).images, 40);
  assert.equal(readdirSync(path.join(out, 'JPEGImages')).length, 40);
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { APPLICATION_ID, MIGRATIONS, type Migration, openStore } from '../../src/store/index.js';
import { removeDir, seedDataset, tempDir } from './helpers.js';

const raw = (file: string) => new Database(file, { readonly: true });

test('a new file is migrated from empty, in a folder created on the way', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'deep', 'er', 'xwb.db');
    const store = openStore(file);
    assert.equal(store.path, file);
    assert.equal(store.schemaVersion, MIGRATIONS.length);
    store.close();
    const db = raw(file);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    for (const t of [
      'datasets',
      'images',
      'splits',
      'objects',
      'masks',
      'runs',
      'run_epochs',
      'checkpoints',
    ]) {
      assert.ok(tables.includes(t), `table ${t}`);
    }
    for (const t of [
      'explanations',
      'explanation_metrics',
      'raters',
      'review_sessions',
      'review_items',
      'ratings',
    ]) {
      assert.ok(tables.includes(t), `table ${t}`);
    }
    db.close();
  } finally {
    removeDir(dir);
  }
});

test('re-opening does not re-run migrations and keeps the data and user_version', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'xwb.db');
    let runs = 0;
    const counted: Migration[] = MIGRATIONS.map((m) => ({
      ...m,
      up: (db) => {
        runs++;
        m.up(db);
      },
    }));
    const a = openStore(file, { migrations: counted });
    seedDataset(a, 2);
    a.close();
    assert.equal(runs, MIGRATIONS.length);
    const b = openStore(file, { migrations: counted });
    assert.equal(runs, MIGRATIONS.length, 'no migration ran on re-open');
    assert.equal(b.datasets.getByName('pets')?.classes.length, 2);
    b.close();
    const db = raw(file);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
    assert.equal(fs.existsSync(`${file}.v1.bak`), false, 'no backup when nothing was migrated');
  } finally {
    removeDir(dir);
  }
});

test('pragmas are in effect on an open store', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'xwb.db');
    const store = openStore(file, { busyTimeoutMs: 1234 });
    const d = store.diagnostics();
    assert.ok(d.engine === 'sqlite');
    assert.equal(d.journalMode, 'wal');
    assert.equal(d.synchronous, 'FULL');
    assert.equal(d.foreignKeys, true);
    assert.equal(d.busyTimeoutMs, 1234);
    assert.equal(d.schemaVersion, MIGRATIONS.length);
    store.close();
    // WAL is a property of the file: another connection sees it too.
    const db = raw(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const again = openStore(file);
    assert.equal(again.diagnostics().busyTimeoutMs, 5000, 'default busy timeout');
    again.close();
  } finally {
    removeDir(dir);
  }
});

test('a failing migration rolls back and leaves the file at the previous version (after a backup)', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'xwb.db');
    const a = openStore(file);
    seedDataset(a, 3);
    a.close();
    const failing: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'half-done',
      up(db) {
        db.exec('ALTER TABLE images ADD COLUMN note TEXT');
        db.exec("UPDATE images SET note = 'x'");
        throw new Error('boom in the middle');
      },
    };
    assert.throws(
      () => openStore(file, { migrations: [...MIGRATIONS, failing] }),
      (e: Error) =>
        e.message.includes(file) &&
        e.message.includes('half-done') &&
        e.message.includes('boom in the middle') &&
        e.message.includes(`version ${MIGRATIONS.length}`),
    );
    const db = raw(file);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    const cols = (db.pragma('table_info(images)') as { name: string }[]).map((c) => c.name);
    assert.ok(!cols.includes('note'), 'the half-applied ALTER was rolled back');
    db.close();
    assert.ok(fs.existsSync(`${file}.v${MIGRATIONS.length}.bak`), 'a backup was taken before migrating');
    // The old code still opens it, with its data.
    const b = openStore(file);
    assert.equal(b.images.count(b.datasets.getByName('pets')!.id), 3);
    b.close();
  } finally {
    removeDir(dir);
  }
});

test('a later migration applies on re-open and is recorded in user_version', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'xwb.db');
    openStore(file).close();
    const next: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'add note',
      up: (db) => db.exec('ALTER TABLE images ADD COLUMN note TEXT'),
    };
    openStore(file, { migrations: [...MIGRATIONS, next] }).close();
    const db = raw(file);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length + 1);
    db.close();
  } finally {
    removeDir(dir);
  }
});

test('migration versions must run 1, 2, 3 …', () => {
  const dir = tempDir();
  try {
    const bad: Migration[] = [...MIGRATIONS, { version: MIGRATIONS.length + 2, name: 'gap', up: () => {} }];
    assert.throws(() => openStore(path.join(dir, 'x.db'), { migrations: bad }), /version \d+, expected \d+/);
  } finally {
    removeDir(dir);
  }
});

test('a file from a newer xwb is refused and left byte-for-byte untouched', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'xwb.db');
    openStore(file).close();
    const db = new Database(file);
    db.pragma('journal_mode = DELETE'); // so the whole file is in one place to compare
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    const before = fs.readFileSync(file);
    assert.throws(
      () => openStore(file),
      (e: Error) => e.message.includes(file) && /newer than this xwb understands/.test(e.message),
    );
    assert.ok(fs.readFileSync(file).equals(before), 'file unchanged');
    const check = raw(file);
    assert.equal(check.pragma('journal_mode', { simple: true }), 'delete', 'journal mode not switched');
    check.close();
  } finally {
    removeDir(dir);
  }
});

test('a file that is not SQLite is refused with its name', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'notes.db');
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(20));
    const before = fs.readFileSync(file);
    assert.throws(() => openStore(file), {
      message: `${file} is not an xwb store (not a SQLite database); choose another file or move this one away`,
    });
    assert.ok(fs.readFileSync(file).equals(before));
    const tiny = path.join(dir, 'tiny.db');
    fs.writeFileSync(tiny, 'x');
    assert.throws(
      () => openStore(tiny),
      (e: Error) => e.message.startsWith(`${tiny} is not an xwb store`),
    );
  } finally {
    removeDir(dir);
  }
});

test("another program's SQLite database is refused, not migrated into", () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE contacts (name TEXT)');
    db.close();
    assert.throws(() => openStore(file), /is a SQLite database but not an xwb store/);
    const check = raw(file);
    assert.equal(
      check.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'datasets'").pluck().get(),
      0,
    );
    check.close();
  } finally {
    removeDir(dir);
  }
});

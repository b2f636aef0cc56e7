/**
 * Opening a PostgreSQL store: the same guarantees open.test.ts checks for a SQLite file (migrated once, version
 * recorded, a failing migration rolled back, newer or foreign databases refused untouched), checked on the server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIGRATIONS, type Migration, openStore } from '../../src/store/index.js';
import { spawnModuleWorker } from '../../src/util/worker.js';
import { createTestDatabase, postgresUnavailable, rawConnection } from './engines.js';
import { seedDataset } from './helpers.js';

const skip = postgresUnavailable();

function withDatabase(fn: (url: string) => void): void {
  const db = createTestDatabase();
  try {
    fn(db.url);
  } finally {
    db.drop();
  }
}

const version = (url: string) => {
  const raw = rawConnection({ engine: 'postgres', file: url });
  try {
    return Number(raw.get<{ version: string }>('SELECT version FROM xwb_schema')?.version);
  } finally {
    raw.close();
  }
};

test(
  'postgres: a new database is migrated and its version recorded; re-opening runs nothing again',
  { skip },
  () =>
    withDatabase((url) => {
      let runs = 0;
      const counted: Migration[] = MIGRATIONS.map((m) => ({
        ...m,
        up: (db) => {
          runs++;
          assert.equal(db.engine, 'postgres');
          m.up(db);
        },
      }));
      const a = openStore(url, { migrations: counted });
      assert.equal(a.path, url);
      assert.equal(a.engine, 'postgres');
      seedDataset(a, 2);
      a.close();
      assert.equal(runs, MIGRATIONS.length);
      assert.equal(version(url), MIGRATIONS.length);
      const raw = rawConnection({ engine: 'postgres', file: url });
      const tables = raw
        .get<{ names: string }>(
          "SELECT string_agg(tablename, ',' ORDER BY tablename) AS names FROM pg_tables WHERE schemaname = 'public'",
        )!
        .names.split(',');
      raw.close();
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
        'ratings',
        'jobs',
      ]) {
        assert.ok(tables.includes(t), `table ${t}`);
      }
      const b = openStore(url, { migrations: counted });
      assert.equal(runs, MIGRATIONS.length, 'no migration ran on re-open');
      assert.equal(b.datasets.getByName('PETS')?.classes.length, 2);
      b.close();
    }),
);

test('postgres: diagnostics read back durable commits and the lock timeout', { skip }, () =>
  withDatabase((url) => {
    const store = openStore(url, { busyTimeoutMs: 1234 });
    const d = store.diagnostics();
    assert.ok(d.engine === 'postgres');
    assert.equal(d.synchronousCommit, 'on');
    assert.equal(d.foreignKeys, true);
    assert.equal(d.busyTimeoutMs, 1234);
    assert.equal(d.schemaVersion, MIGRATIONS.length);
    assert.match(d.serverVersion, /^\d+/);
    store.close();
    const again = openStore(url);
    assert.equal(again.diagnostics().busyTimeoutMs, 5000, 'default lock timeout');
    again.close();
  }),
);

test(
  'postgres: a failing migration is rolled back, DDL included, and the store stays at its version',
  { skip },
  () =>
    withDatabase((url) => {
      const a = openStore(url);
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
        () => openStore(url, { migrations: [...MIGRATIONS, failing] }),
        (e: Error) =>
          e.message.includes(url) &&
          e.message.includes('half-done') &&
          e.message.includes('boom in the middle') &&
          e.message.includes(`version ${MIGRATIONS.length}`),
      );
      assert.equal(version(url), MIGRATIONS.length);
      const raw = rawConnection({ engine: 'postgres', file: url });
      const note = raw.get(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'images' AND column_name = 'note'",
      );
      raw.close();
      assert.equal(note, undefined, 'the half-applied ALTER was rolled back');
      const b = openStore(url);
      assert.equal(b.images.count(b.datasets.getByName('pets')!.id), 3);
      b.close();
      // A later migration that works is applied and recorded.
      const next: Migration = {
        version: MIGRATIONS.length + 1,
        name: 'add note',
        up: (db) => db.exec('ALTER TABLE images ADD COLUMN note TEXT'),
      };
      openStore(url, { migrations: [...MIGRATIONS, next] }).close();
      assert.equal(version(url), MIGRATIONS.length + 1);
    }),
);

test('postgres: a database from a newer xwb, or of another program, is refused and left untouched', {
  skip,
}, () => {
  withDatabase((url) => {
    openStore(url).close();
    const raw = rawConnection({ engine: 'postgres', file: url });
    raw.run('UPDATE xwb_schema SET version = ?', MIGRATIONS.length + 5);
    raw.close();
    assert.throws(
      () => openStore(url),
      (e: Error) => e.message.includes(url) && /newer than this xwb understands/.test(e.message),
    );
    assert.equal(version(url), MIGRATIONS.length + 5);
  });
  withDatabase((url) => {
    const raw = rawConnection({ engine: 'postgres', file: url });
    raw.run('CREATE TABLE contacts (name TEXT)');
    assert.throws(() => openStore(url), {
      message: `${url} is a PostgreSQL database but not an xwb store (its schema has 1 other tables); choose another database or schema`,
    });
    assert.equal(
      raw.get<{ t: string | null }>("SELECT to_regclass('datasets') AS t")?.t,
      null,
      'nothing was created',
    );
    raw.close();
  });
});

test('a PostgreSQL URL with a password, or a server that is not there, gets an error naming it', () => {
  assert.throws(
    () => openStore('postgres://ana:secret@127.0.0.1:1/xwb'),
    (e: Error) =>
      e.message.startsWith(
        'postgres://ana:***@127.0.0.1:1/xwb: put the password in PGPASSWORD or ~/.pgpass',
      ) && !e.message.includes('secret'),
  );
  assert.throws(() => openStore('postgresql://h/x?password=secret'), /put the password in PGPASSWORD/);
  if (postgresUnavailable() === undefined) {
    // Port 1 on the loopback refuses at once: the message names the store and keeps libpq's reason.
    assert.throws(
      () => openStore('postgres://xwb@127.0.0.1:1/xwb'),
      /^Error: cannot connect to the PostgreSQL store postgres:\/\/xwb@127\.0\.0\.1:1\/xwb: .*(refused|failed)/s,
    );
  }
});

test('postgres: a worker thread (where pg-native cannot load) uses the store through the bridged client', {
  skip,
}, async () => {
  const db = createTestDatabase();
  try {
    openStore(db.url).close(); // migrated by the main thread's pg-native connection
    const worker = spawnModuleWorker(
      new URL('./fixtures/worker-store.js', import.meta.url),
      { url: db.url },
      import.meta.url,
    );
    const seen = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.deepEqual(seen, {
      engine: 'postgres',
      datasetId: 1,
      isBuffer: true,
      data: [0, 255],
      count: 1,
      rolledBack: true,
    });
    const store = openStore(db.url);
    assert.equal(
      store.datasets.getByName('FROM-WORKER')?.id,
      1,
      'the main thread sees what the worker wrote',
    );
    store.close();
  } finally {
    db.drop();
  }
});

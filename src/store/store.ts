/**
 * Opening the store: checks that the file is an xwb store this code can read, sets the durability pragmas,
 * migrates, and wires the table modules to one connection.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type AccountsApi, accountsApi } from './accounts.js';
import { StoreContext, sqliteCode } from './context.js';
import { type DatasetsApi, datasetsApi } from './datasets.js';
import { type ExplanationsApi, explanationsApi } from './explanations.js';
import { type ImagesApi, imagesApi } from './images.js';
import { type JobsApi, jobsApi } from './jobs.js';
import { type MasksApi, masksApi } from './masks.js';
import { MIGRATIONS, type Migration, validateMigrations } from './migrations.js';
import { type ObjectsApi, objectsApi } from './objects.js';
import { assertStorePath } from './paths.js';
import { type RatingsApi, ratingsApi } from './ratings.js';
import { type RunsApi, runsApi } from './runs.js';
import { type SplitsApi, splitsApi } from './splits.js';

/** 'XWB1' in the file header, so an xwb store is recognisable and another program's SQLite file is not touched. */
export const APPLICATION_ID = 0x58574231;
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export interface OpenStoreOptions {
  /** Replaces the schema (tests inject a failing migration); defaults to MIGRATIONS. */
  migrations?: readonly Migration[];
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Clock for created_at/updated_at; ISO-8601 UTC. */
  now?: () => string;
  /**
   * Before migrating an existing store, copy it to `<file>.v<old version>.bak` (default true): a migration bug must
   * not be able to destroy ratings.
   */
  backupBeforeMigrate?: boolean;
}

export interface Store {
  /** Absolute path of the database file. */
  readonly path: string;
  readonly schemaVersion: number;
  readonly datasets: DatasetsApi;
  readonly images: ImagesApi;
  readonly splits: SplitsApi;
  readonly objects: ObjectsApi;
  readonly masks: MasksApi;
  readonly runs: RunsApi;
  readonly explanations: ExplanationsApi;
  readonly ratings: RatingsApi;
  readonly jobs: JobsApi;
  /** Team mode's accounts, sign-in sessions and review assignments. */
  readonly accounts: AccountsApi;
  /** What the connection actually runs with, read back from SQLite (for an About screen and for tests). */
  diagnostics(): StoreDiagnostics;
  /** Runs fn atomically (all of its store calls commit together or not at all). fn must be synchronous. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface StoreDiagnostics {
  journalMode: string;
  /** SQLite's level name: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA'. */
  synchronous: string;
  foreignKeys: boolean;
  busyTimeoutMs: number;
  schemaVersion: number;
  sqliteVersion: string;
}

const SYNCHRONOUS_LEVELS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

function assertSqliteFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (sqliteCode(err) === 'ENOENT') return; // a new store
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (n === 0) return; // an empty file is a new database to SQLite
    if (n < head.length || !head.equals(SQLITE_MAGIC)) {
      throw new Error(
        `${file} is not an xwb store (not a SQLite database); choose another file or move this one away`,
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}

function pragmaNumber(db: Database.Database, name: string): number {
  return Number(db.pragma(name, { simple: true }));
}

/** Copy through a temp file in the same folder, so a half-written backup never carries the final name. */
function backup(db: Database.Database, file: string, version: number): void {
  const target = `${file}.v${version}.bak`;
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  db.prepare('VACUUM INTO ?').run(tmp);
  fs.renameSync(tmp, target);
}

function migrate(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[],
  backupFirst: boolean,
): void {
  const from = pragmaNumber(db, 'user_version');
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return;
  if (from > 0 && backupFirst) backup(db, file, from);
  for (const m of pending) {
    try {
      db.transaction(() => {
        // Another process may have migrated while we waited for the write lock.
        if (pragmaNumber(db, 'user_version') >= m.version) return;
        m.up(db);
        if (m.version === 1) db.pragma(`application_id = ${APPLICATION_ID}`);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (err) {
      throw new Error(
        `${file}: migration ${m.version} ("${m.name}") failed and was rolled back; the store stays at schema ` +
          `version ${pragmaNumber(db, 'user_version')}. Cause: ${(err as Error).message}`,
      );
    }
  }
}

/** Opens (creating if needed) the store at `file`. */
export function openStore(file: string, opts: OpenStoreOptions = {}): Store {
  const migrations = opts.migrations ?? MIGRATIONS;
  validateMigrations(migrations);
  const latest = migrations.length;
  assertStorePath(file, 'the store');
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  assertSqliteFile(abs);

  const db = new Database(abs);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    let version: number;
    let appId: number;
    let objects: number;
    try {
      version = pragmaNumber(db, 'user_version');
      appId = pragmaNumber(db, 'application_id');
      objects = Number(db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get());
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_NOTADB')
        throw new Error(`${abs} is not an xwb store (not a SQLite database)`);
      throw err;
    }
    if (appId !== APPLICATION_ID && (appId !== 0 || version !== 0 || objects > 0)) {
      throw new Error(
        `${abs} is a SQLite database but not an xwb store (it belongs to another program); choose another file`,
      );
    }
    if (version > latest) {
      throw new Error(
        `${abs} has schema version ${version}, newer than this xwb understands (${latest}); ` +
          'update xwb to open it. The file was not modified.',
      );
    }
    const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
    if (mode !== 'wal') {
      throw new Error(
        `${abs}: could not switch to WAL journaling (got "${mode}"); is it on a network drive?`,
      );
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, abs, migrations, opts.backupBeforeMigrate ?? true);
  } catch (err) {
    db.close();
    throw err;
  }

  const ctx = new StoreContext(db, abs, opts.now ?? (() => new Date().toISOString()));
  let closed = false;
  return {
    path: abs,
    schemaVersion: latest,
    datasets: datasetsApi(ctx),
    images: imagesApi(ctx),
    splits: splitsApi(ctx),
    objects: objectsApi(ctx),
    masks: masksApi(ctx),
    runs: runsApi(ctx),
    explanations: explanationsApi(ctx),
    ratings: ratingsApi(ctx),
    jobs: jobsApi(ctx),
    accounts: accountsApi(ctx),
    diagnostics: () => ({
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: SYNCHRONOUS_LEVELS[pragmaNumber(db, 'synchronous')] ?? 'unknown',
      foreignKeys: pragmaNumber(db, 'foreign_keys') === 1,
      busyTimeoutMs: pragmaNumber(db, 'busy_timeout'),
      schemaVersion: pragmaNumber(db, 'user_version'),
      sqliteVersion: String(db.prepare('SELECT sqlite_version()').pluck().get()),
    }),
    transaction: (fn) => ctx.tx(fn),
    close() {
      if (closed) return;
      closed = true;
      try {
        db.pragma('optimize');
      } finally {
        db.close();
      }
    },
  };
}

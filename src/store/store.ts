/**
 * Opening the store: picks the engine from the target (a file path is SQLite, a postgres:// URL is PostgreSQL),
 * migrates, and wires the table modules to one connection.
 */
import os from 'node:os';
import path from 'node:path';
import { type AccountsApi, accountsApi } from './accounts.js';
import { StoreContext } from './context.js';
import { type DatasetsApi, datasetsApi } from './datasets.js';
import type { EngineKind } from './engine.js';
import { type ExplanationsApi, explanationsApi } from './explanations.js';
import { type GalleryApi, galleryApi } from './gallery.js';
import { type ImagesApi, imagesApi } from './images.js';
import { type JobsApi, jobsApi } from './jobs.js';
import { type MasksApi, masksApi } from './masks.js';
import { MIGRATIONS, type Migration, validateMigrations } from './migrations.js';
import { type ObjectsApi, objectsApi } from './objects.js';
import { assertStorePath, defaultStorePath } from './paths.js';
import { isPostgresUrl, type PostgresDiagnostics, PostgresEngine } from './postgres.js';
import { type PredictionsApi, predictionsApi } from './predictions.js';
import { type RatingsApi, ratingsApi } from './ratings.js';
import { type RunsApi, runsApi } from './runs.js';
import { type SplitsApi, splitsApi } from './splits.js';
import { APPLICATION_ID, type SqliteDiagnostics, SqliteEngine } from './sqlite.js';

export { APPLICATION_ID };

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
  /** Absolute path of the database file, or the PostgreSQL URL (which never carries a password). */
  readonly path: string;
  readonly engine: EngineKind;
  readonly schemaVersion: number;
  readonly datasets: DatasetsApi;
  readonly images: ImagesApi;
  readonly splits: SplitsApi;
  readonly objects: ObjectsApi;
  readonly masks: MasksApi;
  readonly runs: RunsApi;
  readonly explanations: ExplanationsApi;
  /** A run's prediction per image (class, probability, correctness). */
  readonly predictions: PredictionsApi;
  /** The gallery's filtered, sorted pages. */
  readonly gallery: GalleryApi;
  readonly ratings: RatingsApi;
  readonly jobs: JobsApi;
  /** Team mode's accounts, sign-in sessions and review assignments. */
  readonly accounts: AccountsApi;
  /** What the connection actually runs with, read back from the database (for an About screen and for tests). */
  diagnostics(): StoreDiagnostics;
  /** Runs fn atomically (all of its store calls commit together or not at all). fn must be synchronous. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export type StoreDiagnostics = SqliteDiagnostics | PostgresDiagnostics;

/**
 * The folder for what the store keeps as files (run checkpoints, thumbnails, generated datasets): next to a SQLite
 * file; for PostgreSQL, $XWB_FILES, else the folder the desktop store would use. A team whose trainers and server
 * run on different machines points XWB_FILES at the same shared folder (datasets are files there already).
 */
export function storeFilesDir(target: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!isPostgresUrl(target)) return path.dirname(path.resolve(target));
  const own = env.XWB_FILES?.trim();
  if (own) return path.resolve(own);
  return path.dirname(
    defaultStorePath({ platform: process.platform, env: { ...env, XWB_DB: undefined }, home: os.homedir() }),
  );
}

type OpenEngine = SqliteEngine | PostgresEngine;

function migrate(
  engine: OpenEngine,
  name: string,
  migrations: readonly Migration[],
  backupFirst: boolean,
): void {
  const from = engine.schemaVersion();
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return;
  // PostgreSQL: no copy is taken. Each migration is one transaction (DDL included), so a failing one leaves the
  // database as it was; protecting against a migration that succeeds wrongly is the server's backups' job.
  if (from > 0 && backupFirst && engine.kind === 'sqlite') engine.backup(from);
  const db = { engine: engine.kind, exec: (sql: string) => engine.exec(sql) };
  for (const m of pending) {
    try {
      engine.tx(() => {
        // Another process may have migrated while we waited for the write lock.
        if (engine.schemaVersion() >= m.version) return;
        m.up(db);
        engine.setSchemaVersion(m.version);
      });
    } catch (err) {
      throw new Error(
        `${name}: migration ${m.version} ("${m.name}") failed and was rolled back; the store stays at schema ` +
          `version ${engine.schemaVersion()}. Cause: ${(err as Error).message}`,
      );
    }
  }
}

/**
 * Opens (creating if needed) the store at `target`: a SQLite file path, or a `postgres://user@host/db` URL for a
 * team's shared database (which must exist; its password comes from PGPASSWORD or ~/.pgpass).
 */
export function openStore(target: string, opts: OpenStoreOptions = {}): Store {
  const migrations = opts.migrations ?? MIGRATIONS;
  validateMigrations(migrations);
  const latest = migrations.length;
  const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000));
  let engine: OpenEngine;
  if (isPostgresUrl(target)) {
    engine = PostgresEngine.open(target.trim(), latest, busy);
  } else {
    assertStorePath(target, 'the store');
    engine = SqliteEngine.open(target, latest, busy);
  }
  const name = engine.kind === 'sqlite' ? engine.file : engine.url;
  try {
    migrate(engine, name, migrations, opts.backupBeforeMigrate ?? true);
  } catch (err) {
    engine.close();
    throw err;
  }

  const ctx = new StoreContext(engine, name, opts.now ?? (() => new Date().toISOString()));
  let closed = false;
  return {
    path: name,
    engine: engine.kind,
    schemaVersion: latest,
    datasets: datasetsApi(ctx),
    images: imagesApi(ctx),
    splits: splitsApi(ctx),
    objects: objectsApi(ctx),
    masks: masksApi(ctx),
    runs: runsApi(ctx),
    explanations: explanationsApi(ctx),
    predictions: predictionsApi(ctx),
    gallery: galleryApi(ctx),
    ratings: ratingsApi(ctx),
    jobs: jobsApi(ctx),
    accounts: accountsApi(ctx),
    diagnostics: () => engine.diagnostics(),
    transaction: (fn) => ctx.tx(fn),
    close() {
      if (closed) return;
      closed = true;
      engine.close();
    },
  };
}

/**
 * The desktop engine: one SQLite file through better-sqlite3. Opening checks that the file is an xwb store this
 * code can read (file header, application id), sets the durability pragmas and offers what migrating needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { assertSynchronous, type Engine, type Param, type RunResult } from './engine.js';

/** 'XWB1' in the file header, so an xwb store is recognisable and another program's SQLite file is not touched. */
export const APPLICATION_ID = 0x58574231;
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const SYNCHRONOUS_LEVELS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

export interface SqliteDiagnostics {
  engine: 'sqlite';
  journalMode: string;
  /** SQLite's level name: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA'. */
  synchronous: string;
  foreignKeys: boolean;
  busyTimeoutMs: number;
  schemaVersion: number;
  sqliteVersion: string;
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function assertSqliteFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return; // a new store
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

export class SqliteEngine implements Engine {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
  ) {}

  /**
   * Opens the file and checks it is empty or an xwb store of at most `latestVersion`, then switches to WAL with
   * synchronous = FULL and foreign keys on. Migrating is the caller's job.
   */
  static open(file: string, latestVersion: number, busyTimeoutMs: number): SqliteEngine {
    const abs = path.resolve(file);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    assertSqliteFile(abs);
    const db = new Database(abs);
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      let version: number;
      let appId: number;
      let objects: number;
      try {
        version = pragmaNumber(db, 'user_version');
        appId = pragmaNumber(db, 'application_id');
        objects = Number(db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get());
      } catch (err) {
        if (errorCode(err) === 'SQLITE_NOTADB')
          throw new Error(`${abs} is not an xwb store (not a SQLite database)`);
        throw err;
      }
      if (appId !== APPLICATION_ID && (appId !== 0 || version !== 0 || objects > 0)) {
        throw new Error(
          `${abs} is a SQLite database but not an xwb store (it belongs to another program); choose another file`,
        );
      }
      if (version > latestVersion) {
        throw new Error(
          `${abs} has schema version ${version}, newer than this xwb understands (${latestVersion}); ` +
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
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteEngine(db, abs);
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  get<R>(sql: string, params: readonly Param[]): R | undefined {
    return this.stmt(sql).get(...params) as R | undefined;
  }

  all<R>(sql: string, params: readonly Param[]): R[] {
    return this.stmt(sql).all(...params) as R[];
  }

  run(sql: string, params: readonly Param[]): RunResult {
    return { changes: this.stmt(sql).run(...params).changes };
  }

  insert(sql: string, params: readonly Param[]): number {
    return Number(this.stmt(sql).run(...params).lastInsertRowid);
  }

  tx<T>(fn: () => T): T {
    return this.db
      .transaction(() => {
        const result = fn();
        assertSynchronous(result);
        return result;
      })
      .immediate();
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  schemaVersion(): number {
    return pragmaNumber(this.db, 'user_version');
  }

  /** Inside the migration's transaction, so the bump commits with the migration or not at all. */
  setSchemaVersion(version: number): void {
    if (version === 1) this.db.pragma(`application_id = ${APPLICATION_ID}`);
    this.db.pragma(`user_version = ${version}`);
  }

  /** Copy through a temp file in the same folder, so a half-written backup never carries the final name. */
  backup(version: number): string {
    const target = `${this.file}.v${version}.bak`;
    const tmp = `${target}.tmp-${process.pid}`;
    fs.rmSync(tmp, { force: true });
    this.db.prepare('VACUUM INTO ?').run(tmp);
    fs.renameSync(tmp, target);
    return target;
  }

  diagnostics(): SqliteDiagnostics {
    const db = this.db;
    return {
      engine: 'sqlite',
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: SYNCHRONOUS_LEVELS[pragmaNumber(db, 'synchronous')] ?? 'unknown',
      foreignKeys: pragmaNumber(db, 'foreign_keys') === 1,
      busyTimeoutMs: pragmaNumber(db, 'busy_timeout'),
      schemaVersion: pragmaNumber(db, 'user_version'),
      sqliteVersion: String(db.prepare('SELECT sqlite_version()').pluck().get()),
    };
  }

  close(): void {
    try {
      this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }
}

function pragmaNumber(db: Database.Database, name: string): number {
  return Number(db.pragma(name, { simple: true }));
}

/**
 * Team mode's engine: a PostgreSQL database through libpq's synchronous calls (pg-native), so the store keeps its
 * synchronous interface. What it translates so the table modules run unchanged:
 * - `?` placeholders become `$1 … $n`; each distinct statement is prepared once per connection;
 * - values in: Buffers as bytea, NaN as NULL (what SQLite does with a bound NaN), ±Infinity as float8 words;
 *   values out: int8 and numeric as numbers (libpq hands them over as text), bytea as Buffers;
 * - transactions take one store-wide advisory lock, the equivalent of SQLite's BEGIN IMMEDIATE, so a
 *   read-check-write in a transaction cannot interleave with another writer on either engine;
 * - errors become PostgresError with the SQLSTATE, which context.ts classifies like SQLite's codes.
 * The schema version lives in a one-row table `xwb_schema` (PostgreSQL has no user_version).
 * The connection is pg-native's in the main thread and a bridged `pg` client in worker threads (pg-connection.ts).
 */
import { isMainThread } from 'node:worker_threads';
import {
  assertSynchronous,
  type Engine,
  type Param,
  type RunResult,
  toNumberedPlaceholders,
} from './engine.js';
import { connectBridged, connectNative, type PgConnection } from './pg-connection.js';

export { MISSING_PG_NATIVE } from './pg-connection.js';

/** Lock key of the store-wide write lock: the application id 'XWB1'. */
const WRITE_LOCK = 0x58574231;

export interface PostgresDiagnostics {
  engine: 'postgres';
  serverVersion: string;
  database: string;
  /** 'on' means a commit returns only once it is flushed to the server's disk (SQLite's synchronous = FULL). */
  synchronousCommit: string;
  /** Always enforced by PostgreSQL. */
  foreignKeys: true;
  /** lock_timeout: how long a write waits for another writer's lock. */
  busyTimeoutMs: number;
  schemaVersion: number;
}

/** postgres:// and postgresql:// name a PostgreSQL store; anything else is a file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target.trim());
}

/**
 * The URL must carry no password: it is shown in messages, logs and the About screen, and child processes get it
 * on their command line. libpq reads the password from PGPASSWORD or ~/.pgpass instead.
 */
export function assertNoPassword(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${url} is not a valid PostgreSQL URL (expected postgres://user@host:port/database)`);
  }
  if (u.password !== '' || /(^|&)password=/i.test(u.search.slice(1))) {
    u.password = '***';
    throw new Error(
      `${u.toString()}: put the password in PGPASSWORD or ~/.pgpass, not in the store URL ` +
        '(the URL appears in messages and logs)',
    );
  }
}

function toText(v: Param, sql: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'string') {
    // libpq passes parameters as C strings: a NUL would silently cut the value short.
    if (v.includes('\0')) throw new Error('PostgreSQL text cannot hold a NUL character (\\0)');
    return v;
  }
  throw new Error(`cannot bind a ${typeof v} in: ${sql}`);
}

export class PostgresEngine implements Engine {
  readonly kind = 'postgres' as const;
  private readonly statements = new Map<string, { name: string; text: string }>();
  private depth = 0;

  private constructor(
    private readonly conn: PgConnection,
    readonly url: string,
  ) {}

  /** Connects and checks the database is empty or an xwb store of at most `latestVersion`. */
  static open(url: string, latestVersion: number, busyTimeoutMs: number): PostgresEngine {
    assertNoPassword(url);
    // pg-native loads in one thread per process only: worker threads (training, explaining, evaluating) go
    // through the bridged client instead.
    const conn = isMainThread ? connectNative(url) : connectBridged(url);
    const engine = new PostgresEngine(conn, url);
    try {
      // NOTICEs (CREATE EXTENSION IF NOT EXISTS …) would go to stderr through libpq's default handler.
      engine.exec(
        `SET client_min_messages = warning; SET synchronous_commit = on; SET lock_timeout = ${busyTimeoutMs}`,
      );
      const marked = engine.get<{ marked: boolean }>(
        "SELECT to_regclass('xwb_schema') IS NOT NULL AS marked",
        [],
      )!.marked;
      if (!marked) {
        const tables = engine.get<{ n: number }>(
          'SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()',
          [],
        )!.n;
        if (tables > 0) {
          throw new Error(
            `${url} is a PostgreSQL database but not an xwb store (its schema has ${tables} other tables); ` +
              'choose another database or schema',
          );
        }
      }
      const version = engine.schemaVersion();
      if (version > latestVersion) {
        throw new Error(
          `${url} has schema version ${version}, newer than this xwb understands (${latestVersion}); ` +
            'update xwb to open it. The database was not modified.',
        );
      }
    } catch (err) {
      engine.close();
      throw err;
    }
    return engine;
  }

  private execute(
    sql: string,
    params: readonly Param[],
  ): { rows: Record<string, unknown>[]; changes: number } {
    let s = this.statements.get(sql);
    if (s === undefined) {
      const { text, count } = toNumberedPlaceholders(sql);
      if (count !== params.length) {
        throw new Error(`SQL has ${count} placeholders but ${params.length} values: ${sql}`);
      }
      s = { name: `xwb${this.statements.size + 1}`, text };
      this.statements.set(sql, s);
    }
    return this.conn.query(
      s.name,
      s.text,
      params.map((p) => toText(p, sql)),
    );
  }

  get<R>(sql: string, params: readonly Param[]): R | undefined {
    return this.execute(sql, params).rows[0] as R | undefined;
  }

  all<R>(sql: string, params: readonly Param[]): R[] {
    return this.execute(sql, params).rows as R[];
  }

  run(sql: string, params: readonly Param[]): RunResult {
    return { changes: this.execute(sql, params).changes };
  }

  insert(sql: string, params: readonly Param[]): number {
    const row = this.execute(`${sql} RETURNING id`, params).rows[0] as { id: number } | undefined;
    if (row === undefined) throw new Error(`insert returned no id: ${sql}`);
    return row.id;
  }

  tx<T>(fn: () => T): T {
    const depth = this.depth;
    const savepoint = `xwb_sp${depth}`;
    if (depth === 0) {
      // One round trip. Waiting for the lock is bounded by lock_timeout (busyTimeoutMs); a timeout leaves the
      // transaction open and aborted, so it is rolled back here.
      try {
        this.exec(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK})`);
      } catch (err) {
        try {
          this.exec('ROLLBACK');
        } catch {
          // The connection is gone; the original error is the one to report.
        }
        throw err;
      }
    } else {
      this.exec(`SAVEPOINT ${savepoint}`);
    }
    this.depth++;
    let result: T;
    try {
      result = fn();
      assertSynchronous(result);
    } catch (err) {
      this.depth = depth;
      try {
        this.exec(
          depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`,
        );
      } catch {
        // The connection is gone: the server rolls back on its own; the original error is the one to report.
      }
      throw err;
    }
    this.depth = depth;
    this.exec(depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
    return result;
  }

  exec(sql: string): void {
    this.conn.exec(sql);
  }

  schemaVersion(): number {
    const marked = this.get<{ marked: boolean }>(
      "SELECT to_regclass('xwb_schema') IS NOT NULL AS marked",
      [],
    );
    if (!marked?.marked) return 0;
    return this.get<{ version: number }>('SELECT version FROM xwb_schema', [])?.version ?? 0;
  }

  /** Inside the migration's transaction, so the bump commits with the migration or not at all. */
  setSchemaVersion(version: number): void {
    this.exec(`CREATE TABLE IF NOT EXISTS xwb_schema (
  one INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1),
  application TEXT NOT NULL DEFAULT 'xwb',
  version INTEGER NOT NULL)`);
    this.run(
      'INSERT INTO xwb_schema (version) VALUES (?) ON CONFLICT (one) DO UPDATE SET version = excluded.version',
      [version],
    );
  }

  diagnostics(): PostgresDiagnostics {
    const r = this.get<{ server: string; db: string; sync: string; lock: string }>(
      `SELECT current_setting('server_version') AS server, current_database() AS db,
         current_setting('synchronous_commit') AS sync,
         (SELECT setting FROM pg_settings WHERE name = 'lock_timeout') AS lock`,
      [],
    )!;
    return {
      engine: 'postgres',
      serverVersion: r.server,
      database: r.db,
      synchronousCommit: r.sync,
      foreignKeys: true,
      busyTimeoutMs: Number(r.lock),
      schemaVersion: this.schemaVersion(),
    };
  }

  close(): void {
    this.conn.close();
  }
}

/**
 * The contract between the table modules and a database: synchronous calls with `?` placeholders, so the same
 * module code runs on SQLite (better-sqlite3) and PostgreSQL (libpq through pg-native). Each engine translates what
 * differs (placeholders, value types, transactions, error codes) and nothing else.
 */

export type Param = number | bigint | string | Buffer | null;

export type EngineKind = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows the statement changed. */
  changes: number;
}

export interface Engine {
  readonly kind: EngineKind;
  get<R>(sql: string, params: readonly Param[]): R | undefined;
  all<R>(sql: string, params: readonly Param[]): R[];
  run(sql: string, params: readonly Param[]): RunResult;
  /** An INSERT into a table with an `id` column; answers the new row's id. */
  insert(sql: string, params: readonly Param[]): number;
  /**
   * Runs fn in a write transaction that excludes every other writer of the store for its duration (SQLite's
   * IMMEDIATE lock; an advisory lock on PostgreSQL); nested calls become savepoints. fn must be synchronous.
   */
  tx<T>(fn: () => T): T;
  /** Several statements without parameters (migrations). */
  exec(sql: string): void;
  close(): void;
}

/** What a migration step gets: the engine's name (for per-engine variants) and a way to run DDL. */
export interface MigrationDb {
  readonly engine: EngineKind;
  exec(sql: string): void;
}

/** Which constraint a failed statement hit, the same answer on both engines. */
export type ConstraintKind = 'unique' | 'foreign-key' | 'check' | 'not-null';

/** Thrown by the PostgreSQL engine so callers see one error shape; SQLite's own errors carry `code`. */
export class PostgresError extends Error {
  constructor(
    message: string,
    /** SQLSTATE, e.g. 23505. */
    readonly sqlState: string | undefined,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

const PG_CONSTRAINTS: Record<string, ConstraintKind> = {
  '23505': 'unique',
  '23503': 'foreign-key',
  '23514': 'check',
  '23502': 'not-null',
};

export function constraintKind(err: unknown): ConstraintKind | undefined {
  if (err instanceof PostgresError) return err.sqlState ? PG_CONSTRAINTS[err.sqlState] : undefined;
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return 'unique';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return 'foreign-key';
    case 'SQLITE_CONSTRAINT_CHECK':
      return 'check';
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return 'not-null';
    case 'SQLITE_CONSTRAINT_TRIGGER':
      // SQLite reports an ON DELETE RESTRICT hit inside a cascade as a trigger failure with the foreign-key
      // message; a direct one is SQLITE_CONSTRAINT_FOREIGNKEY.
      return (err as Error).message.includes('FOREIGN KEY constraint failed') ? 'foreign-key' : undefined;
    default:
      return undefined;
  }
}

/** Refuses a promise-returning function: the commit would happen before it settles. */
export function assertSynchronous(result: unknown): void {
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  ) {
    throw new Error('store.transaction: the function must be synchronous (it returned a promise)');
  }
}

/**
 * `?` → `$1 … $n` for PostgreSQL, leaving `?` inside string literals, quoted identifiers and comments alone.
 * Dollar-quoted bodies are not scanned (the table modules never use them; migrations do not go through here).
 */
export function toNumberedPlaceholders(sql: string): { text: string; count: number } {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const end = nl === -1 ? sql.length : nl;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      const end = close === -1 ? sql.length : close + 2;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '?') {
      n++;
      out += `$${n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, count: n };
}

/** Index just past the quote that closes the one at `start` (a doubled quote is an escaped one). */
function closingQuote(sql: string, start: number, q: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  throw new Error(`unterminated ${q === "'" ? 'string literal' : 'quoted identifier'} in SQL: ${sql}`);
}

/**
 * What every table module gets: the connection, a per-store prepared-statement cache, the clock, and the
 * transaction helper. Internal to src/store/: nothing outside the store sees SQL.
 */
import type Database from 'better-sqlite3';

export type Param = number | bigint | string | Buffer | null;

export class StoreContext {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    readonly file: string,
    readonly now: () => string,
  ) {}

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  get<R>(sql: string, ...params: Param[]): R | undefined {
    return this.stmt(sql).get(...params) as R | undefined;
  }

  all<R>(sql: string, ...params: Param[]): R[] {
    return this.stmt(sql).all(...params) as R[];
  }

  run(sql: string, ...params: Param[]): Database.RunResult {
    return this.stmt(sql).run(...params);
  }

  /** Inserts and returns the new row id as a number (ids stay far below 2^53). */
  insert(sql: string, ...params: Param[]): number {
    return Number(this.stmt(sql).run(...params).lastInsertRowid);
  }

  /**
   * Runs fn in a transaction; nested calls become savepoints. IMMEDIATE takes the write lock up front: a deferred
   * transaction that reads and then writes can fail with SQLITE_BUSY at once when another process (a training
   * worker, the UI server) writes in between, and busy_timeout cannot help with that upgrade.
   */
  tx<T>(fn: () => T): T {
    return this.db
      .transaction(() => {
        const result = fn();
        if (
          result !== null &&
          typeof result === 'object' &&
          typeof (result as { then?: unknown }).then === 'function'
        ) {
          // The commit would happen before the promise settles, acknowledging writes that may not happen.
          throw new Error('store.transaction: the function must be synchronous (it returned a promise)');
        }
        return result;
      })
      .immediate();
  }
}

export function bool(v: boolean | undefined | null): number | null {
  return v === undefined || v === null ? null : v ? 1 : 0;
}

export function positiveInt(v: number, where: string): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${where}: expected a positive integer, got ${v}`);
  return v;
}

export function nonNegativeInt(v: number, where: string): number {
  if (!Number.isInteger(v) || v < 0) throw new Error(`${where}: expected an integer >= 0, got ${v}`);
  return v;
}

export function nonEmptyText(v: string, where: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`${where}: expected a non-empty string`);
  return v;
}

export function sqliteCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * A refused delete: SQLite reports an ON DELETE RESTRICT hit inside a cascade as SQLITE_CONSTRAINT_TRIGGER with
 * the foreign-key message, and a direct one as SQLITE_CONSTRAINT_FOREIGNKEY.
 */
export function isForeignKeyError(err: unknown): boolean {
  const code = sqliteCode(err);
  return (
    code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ||
    (code === 'SQLITE_CONSTRAINT_TRIGGER' && (err as Error).message.includes('FOREIGN KEY constraint failed'))
  );
}

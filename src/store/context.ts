/**
 * What every table module gets: the engine (SQLite or PostgreSQL behind one synchronous interface), the store's
 * name for messages, the clock, and the transaction helper. Internal to src/store/: nothing outside the store sees
 * SQL.
 */
import { constraintKind, type Engine, type Param, type RunResult } from './engine.js';

export type { Param } from './engine.js';

export class StoreContext {
  constructor(
    readonly engine: Engine,
    /** The store as named in messages: a file path, or a PostgreSQL URL without its password. */
    readonly file: string,
    readonly now: () => string,
  ) {}

  get<R>(sql: string, ...params: Param[]): R | undefined {
    return this.engine.get<R>(sql, params);
  }

  all<R>(sql: string, ...params: Param[]): R[] {
    return this.engine.all<R>(sql, params);
  }

  run(sql: string, ...params: Param[]): RunResult {
    return this.engine.run(sql, params);
  }

  /** Inserts and returns the new row id as a number (ids stay far below 2^53). */
  insert(sql: string, ...params: Param[]): number {
    return this.engine.insert(sql, params);
  }

  /**
   * Runs fn in a transaction; nested calls become savepoints. The write lock is taken up front: a deferred
   * transaction that reads and then writes can fail with SQLITE_BUSY at once when another process (a training
   * worker, the UI server) writes in between, and busy_timeout cannot help with that upgrade. PostgreSQL takes
   * the same store-wide lock, so a read-check-write in fn behaves the same on both engines.
   */
  tx<T>(fn: () => T): T {
    return this.engine.tx(fn);
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

/** A UNIQUE (or primary key) violation, on either engine. */
export function isUniqueError(err: unknown): boolean {
  return constraintKind(err) === 'unique';
}

/** A refused delete (ON DELETE RESTRICT) or a missing referenced row, on either engine. */
export function isForeignKeyError(err: unknown): boolean {
  return constraintKind(err) === 'foreign-key';
}

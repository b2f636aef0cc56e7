/**
 * Running the store tests on both engines. PostgreSQL comes from XWB_TEST_PG, the URL of a server where the
 * test role may create databases (scripts/run-tests.mjs starts a throwaway cluster and sets it when PostgreSQL
 * is installed). Without it the PostgreSQL variant of every test is reported as skipped with the reason, never
 * passed silently.
 */
import { createRequire } from 'node:module';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { type ConstraintKind, constraintKind, toNumberedPlaceholders } from '../../src/store/engine.js';
import type { EngineKind } from '../../src/store/index.js';
import { finishNative } from '../../src/store/pg-connection.js';

interface PgClient {
  connectSync(url: string): void;
  querySync(text: string, values?: (string | null)[]): Record<string, unknown>[];
  pq: { resultErrorFields(): { sqlState?: string } | undefined; finish(): void };
}

const require = createRequire(import.meta.url);
const adminUrl = process.env.XWB_TEST_PG?.trim() || undefined;
let admin: PgClient | undefined;
let unavailable: string | undefined;
let checked = false;

function connect(url: string): PgClient {
  const Client = require('pg-native') as new () => PgClient;
  const c = new Client();
  c.connectSync(url);
  return c;
}

/** Why the PostgreSQL variants cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (checked) return unavailable;
  checked = true;
  if (adminUrl === undefined) {
    unavailable =
      'PostgreSQL store tests NOT RUN: XWB_TEST_PG is not set (npm test starts a throwaway cluster when ' +
      'PostgreSQL is installed; or set XWB_TEST_PG=postgres://user@host:port/postgres)';
  } else {
    try {
      admin = connect(adminUrl);
      admin.querySync('SET client_min_messages = warning');
    } catch (err) {
      unavailable = `PostgreSQL store tests NOT RUN: cannot use ${adminUrl}: ${(err as Error).message.trim()}`;
    }
  }
  if (unavailable !== undefined) process.stderr.write(`\n*** ${unavailable}\n\n`);
  return unavailable;
}

/** Registers `name [sqlite]` and `name [postgres]`; the latter is skipped, with its reason, when it cannot run. */
export function engineTest(name: string, fn: (engine: EngineKind) => void | Promise<void>): void {
  test(`${name} [sqlite]`, () => fn('sqlite'));
  const reason = postgresUnavailable();
  test(`${name} [postgres]`, reason === undefined ? {} : { skip: reason }, () => fn('postgres'));
}

let counter = 0;

/** A new, empty database on the test server; `drop()` removes it even while connections remain. */
export function createTestDatabase(): { url: string; drop: () => void } {
  const reason = postgresUnavailable();
  if (reason !== undefined || admin === undefined || adminUrl === undefined) throw new Error(reason);
  counter++;
  const name = `xwb_test_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
  admin.querySync(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const client = admin;
  return {
    url: u.toString(),
    drop: () => {
      client.querySync(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A connection of "another program": plain SQL on the store's database, bypassing xwb's engine. */
export interface RawConnection {
  run(sql: string, ...params: (string | number | null)[]): void;
  get<R>(sql: string, ...params: (string | number | null)[]): R | undefined;
  close(): void;
}

/** Errors thrown by a raw connection carry `constraint` (which kind was hit) on either engine. */
export type RawError = Error & { constraint?: ConstraintKind };

const PG_KINDS: Record<string, ConstraintKind> = {
  '23505': 'unique',
  '23503': 'foreign-key',
  '23514': 'check',
  '23502': 'not-null',
};

export function rawConnection(t: { engine: EngineKind; file: string }): RawConnection {
  if (t.engine === 'sqlite') {
    const db = new Database(t.file);
    db.pragma('foreign_keys = ON');
    const wrap = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        (err as RawError).constraint = constraintKind(err);
        throw err;
      }
    };
    return {
      run: (sql, ...params) => wrap(() => void db.prepare(sql).run(...params)),
      get: <R>(sql: string, ...params: (string | number | null)[]) =>
        wrap(() => db.prepare(sql).get(...params) as R | undefined),
      close: () => db.close(),
    };
  }
  const c = connect(t.file);
  c.querySync('SET client_min_messages = warning');
  const query = (sql: string, params: (string | number | null)[]) => {
    try {
      return c.querySync(
        toNumberedPlaceholders(sql).text,
        params.map((p) => (p === null ? null : String(p))),
      );
    } catch (err) {
      const state = c.pq.resultErrorFields()?.sqlState;
      (err as RawError).constraint = state ? PG_KINDS[state] : undefined;
      throw err;
    }
  };
  return {
    run: (sql, ...params) => void query(sql, params),
    get: <R>(sql: string, ...params: (string | number | null)[]) => query(sql, params)[0] as R | undefined,
    close: () => finishNative(c),
  };
}

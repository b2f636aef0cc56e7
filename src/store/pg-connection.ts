/**
 * Synchronous PostgreSQL connections, two ways:
 * - native: libpq's blocking calls through pg-native. Fastest, but its addon is not context-aware, so it loads in
 *   one thread per process only ("Module did not self-register" in a worker thread);
 * - bridged: the pure-JavaScript `pg` client in a helper thread, waited for with Atomics.wait and read with
 *   receiveMessageOnPort. Used where pg-native cannot load: the worker threads that train, explain and evaluate.
 * Both answer rows with the same value types (int8/numeric as numbers, bytea as Buffers) and throw PostgresError.
 */
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { PostgresError } from './engine.js';

export interface PgResult {
  rows: Record<string, unknown>[];
  /** Rows the statement changed (libpq's cmdTuples). */
  changes: number;
}

export interface PgConnection {
  /** One statement with `$n` parameters; `name` prepares it once per connection. */
  query(name: string, text: string, values: (string | null)[]): PgResult;
  /** Several statements without parameters. */
  exec(sql: string): void;
  close(): void;
}

export const MISSING_PG_NATIVE =
  'team mode needs pg-native; install libpq-dev and reinstall (npm install builds it against libpq)';

const INT8 = 20;
const NUMERIC = 1700;

/** int8 arrives as text; SQLite gives a number, and ids stay far below 2^53, so a larger value is an error. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`integer ${text} from PostgreSQL is beyond 2^53`);
  return n;
}

type TypeParser = (text: string) => unknown;
interface NativeClient {
  pq: { resultErrorFields(): { sqlState?: string } | undefined; cmdTuples(): string; finish(): void };
  connectSync(conninfo: string): void;
  querySync(text: string): Record<string, unknown>[];
  prepareSync(name: string, text: string, nParams: number): void;
  executeSync(name: string, values: (string | null)[]): Record<string, unknown>[];
}
type NativeClientClass = new (config: {
  types: { getTypeParser(oid: number, format?: string): TypeParser };
}) => NativeClient;

const require = createRequire(import.meta.url);

/**
 * libpq's binding closes its socket watcher with uv_close and at once lets the JavaScript object go; if the garbage
 * collector frees it before the loop finishes that close, libuv aborts the process (`uv__finish_close: Assertion
 * ... UV_HANDLE_CLOSING failed`, seen at exit under the test runner). So the object stays referenced a while.
 */
const finishing = new Set<unknown>();
export function finishNative(client: { pq: { finish(): void } }): void {
  client.pq.finish();
  finishing.add(client);
  setTimeout(() => finishing.delete(client), 1000).unref();
}

function pgError(message: string, sqlState: string | undefined, sql: string): PostgresError {
  const m = message.replace(/^ERROR:\s+/, '').trim();
  return new PostgresError(`${m} (in: ${sql.trim().split('\n')[0]})`, sqlState);
}

export function connectNative(url: string): PgConnection {
  let Client: NativeClientClass;
  let types: { getTypeParser(oid: number, format?: string): TypeParser };
  try {
    Client = require('pg-native') as NativeClientClass;
    types = require('pg-types');
  } catch (err) {
    throw new Error(`${MISSING_PG_NATIVE} (${(err as Error).message.split('\n')[0]})`);
  }
  const client = new Client({
    types: {
      getTypeParser: (oid, format) =>
        oid === INT8 ? parseInt8 : oid === NUMERIC ? Number : types.getTypeParser(oid, format),
    },
  });
  try {
    client.connectSync(url);
  } catch (err) {
    throw new Error(`cannot connect to the PostgreSQL store ${url}: ${(err as Error).message.trim()}`);
  }
  const prepared = new Set<string>();
  const fail = (err: unknown, sql: string) =>
    pgError((err as Error).message, client.pq.resultErrorFields()?.sqlState, sql);
  return {
    query(name, text, values) {
      try {
        if (!prepared.has(name)) {
          client.prepareSync(name, text, values.length);
          prepared.add(name);
        }
        const rows = client.executeSync(name, values);
        return { rows, changes: Number(client.pq.cmdTuples()) || 0 };
      } catch (err) {
        throw fail(err, text);
      }
    },
    exec(sql) {
      try {
        client.querySync(sql);
      } catch (err) {
        throw fail(err, sql);
      }
    },
    close: () => finishNative(client),
  };
}

/** The helper thread: a `pg` client answering one request at a time. CommonJS, evaluated as a worker. */
const HELPER = `
const { workerData } = require('node:worker_threads');
const { Client, types } = require(workerData.pg);
const int8 = (t) => { const n = Number(t); if (!Number.isSafeInteger(n)) throw new Error('integer ' + t + ' from PostgreSQL is beyond 2^53'); return n; };
const parsers = { getTypeParser: (oid, format) => oid === 20 ? int8 : oid === 1700 ? Number : types.getTypeParser(oid, format) };
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
const client = new Client({ connectionString: workerData.url, types: parsers });
const reply = (m) => { port.postMessage(m); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
client.on('error', () => {});
async function handle(m) {
  if (m.op === 'connect') { await client.connect(); return null; }
  if (m.op === 'exec') { await client.query(m.text); return null; }
  if (m.op === 'end') { await client.end(); return null; }
  const r = await client.query({ name: m.name, text: m.text, values: m.values });
  return { rows: r.rows, changes: r.rowCount ?? 0 };
}
port.on('message', (m) => {
  handle(m).then(
    (ok) => reply({ ok }),
    (e) => reply({ error: { message: String(e && e.message), code: e && e.code } }),
  );
});
`;

/** Buffers cross threads as Uint8Arrays; the table modules expect Buffers, as SQLite gives them. */
function revive(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  for (const row of rows) {
    for (const k of Object.keys(row)) {
      const v = row[k];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v))
        row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows;
}

export function connectBridged(url: string): PgConnection {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(HELPER, {
    eval: true,
    workerData: { url, pg: require.resolve('pg'), flag: flag.buffer, port: port2 },
    transferList: [port2 as MessagePort],
  });
  // An open store must not keep the process alive, as a SQLite connection does not.
  worker.unref();
  port1.unref();
  const call = (msg: Record<string, unknown>, sql: string): unknown => {
    Atomics.store(flag, 0, 0);
    port1.postMessage(msg);
    Atomics.wait(flag, 0, 0);
    const answer = receiveMessageOnPort(port1)?.message as
      | { ok: unknown; error?: undefined }
      | { error: { message: string; code?: string } };
    if (answer === undefined) throw new Error(`the PostgreSQL helper thread gave no answer (for: ${sql})`);
    if (answer.error !== undefined) throw pgError(answer.error.message, answer.error.code, sql);
    return answer.ok;
  };
  try {
    call({ op: 'connect' }, 'connect');
  } catch (err) {
    void worker.terminate();
    throw new Error(
      `cannot connect to the PostgreSQL store ${url}: ${(err as Error).message.replace(/ \(in: connect\)$/, '')}`,
    );
  }
  return {
    query(name, text, values) {
      const r = call({ op: 'query', name, text, values }, text) as PgResult;
      return { rows: revive(r.rows), changes: r.changes };
    },
    exec(sql) {
      call({ op: 'exec', text: sql }, sql);
    },
    close() {
      try {
        call({ op: 'end' }, 'end');
      } finally {
        void worker.terminate();
      }
    },
  };
}

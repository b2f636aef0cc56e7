/**
 * One dedicated PostgreSQL session per process (not a pool: advisory locks and LISTEN belong to a session). It
 * holds the lock of each job this process runs, hears NOTIFY wake-ups and cancels, and tests other jobs' locks to
 * find orphans. `pg` has no type declarations installed, so the few calls used are typed here.
 */
import { createRequire } from 'node:module';
import { CHANNEL_CANCEL, CHANNEL_NEW, lockKey } from './ids.js';

interface PgNotification {
  channel: string;
  payload?: string;
}
interface PgClient {
  connect(): Promise<void>;
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  on(event: 'notification', fn: (n: PgNotification) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
  end(): Promise<void>;
}
type PgModule = { Client: new (opts: { connectionString: string; application_name?: string }) => PgClient };

const pg = createRequire(import.meta.url)('pg') as PgModule;

export class QueueSession {
  private constructor(private readonly client: PgClient) {}

  /** Connects; `onError` hears a lost connection (the process must then stop: its locks are gone). */
  static async open(url: string, name: string, onError: (e: Error) => void): Promise<QueueSession> {
    const client = new pg.Client({ connectionString: url, application_name: name });
    client.on('error', onError);
    await client.connect();
    return new QueueSession(client);
  }

  /** Hears new jobs and cancels (the payload of a cancel is the store job id). */
  async listen(handlers: { onNew?: () => void; onCancel?: (jobId: number) => void }): Promise<void> {
    this.client.on('notification', (n) => {
      if (n.channel === CHANNEL_NEW) handlers.onNew?.();
      else if (n.channel === CHANNEL_CANCEL) {
        const id = Number(n.payload);
        if (Number.isSafeInteger(id) && id > 0) handlers.onCancel?.(id);
      }
    });
    await this.client.query(`LISTEN ${CHANNEL_NEW}`);
    await this.client.query(`LISTEN ${CHANNEL_CANCEL}`);
  }

  async notify(channel: string, payload = ''): Promise<void> {
    await this.client.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** The database's clock (ms), which pg-boss's timestamps are on, whatever this host's clock says. */
  async now(): Promise<number> {
    const { rows } = await this.client.query('SELECT now() AS t');
    return (rows[0].t as Date).getTime();
  }

  /** Takes the job's lock without waiting; false when a live session holds it. */
  async tryLock(queueId: string): Promise<boolean> {
    const { rows } = await this.client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
      lockKey(queueId),
    ]);
    return rows[0]?.ok === true;
  }

  async unlock(queueId: string): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(queueId)]);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

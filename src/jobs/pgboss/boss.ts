/**
 * pg-boss as both sides start it: the queue in its own schema, created if missing, with the retry and expiry
 * policy below. The policy lives here so the server (which sends) and the workers (which retry) cannot disagree.
 */
import PgBoss from 'pg-boss';
import { QUEUE, SCHEMA } from './ids.js';

export interface QueuePolicy {
  /** Attempts after the first one when a worker dies mid-job (default 2: three attempts in all). */
  retryLimit: number;
  /**
   * How long an attempt may stay active before pg-boss itself gives up on it (s, default 23 h; pg-boss allows
   * less than 24 h). Only the backstop: a dead worker is found within seconds through its lock (ids.ts lockKey).
   */
  expireInSeconds: number;
}

export const DEFAULT_POLICY: QueuePolicy = { retryLimit: 2, expireInSeconds: 23 * 3600 };

/** A `postgres://` or `postgresql://` URL, or a clear error naming the option it came from. */
export function checkQueueUrl(url: string, source: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${source} ${url}: not a URL; give the queue's database as postgres://user@host:port/db`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`${source} ${url}: the queue needs a PostgreSQL URL (postgres://user@host:port/db)`);
  }
  return url;
}

/** The URL without its password, for logs and the UI. */
export function describeQueueUrl(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}

export async function startBoss(
  url: string,
  name: string,
  onError: (e: Error) => void,
  policy: QueuePolicy = DEFAULT_POLICY,
): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, schema: SCHEMA, application_name: name, max: 4 });
  boss.on('error', onError);
  await boss.start();
  await boss.createQueue(QUEUE, { name: QUEUE, policy: 'standard', retryDelay: 0, ...policy });
  return boss;
}

export type { PgBoss };

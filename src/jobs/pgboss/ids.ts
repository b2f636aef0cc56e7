/**
 * Names shared by the server and the workers, derived rather than stored: the store's job row needs no column for
 * its queue entry, and both sides find one from the other.
 */
import { createHash } from 'node:crypto';
import type { Job } from '../../store/index.js';

/** The one pg-boss queue every workbench job goes through (the kind travels in the job's data). */
export const QUEUE = 'xwb-jobs';
/** The PostgreSQL schema pg-boss keeps its tables in, apart from anything else in the database. */
export const SCHEMA = 'xwb_queue';
/** NOTIFY channels: a new job to take (wakes idle workers at once), a job to stop (payload: the store job id). */
export const CHANNEL_NEW = 'xwb_job_new';
export const CHANNEL_CANCEL = 'xwb_job_cancel';

/** What a queue entry carries: the store row's id and kind, nothing a worker could not check against the store. */
export interface QueuedJobData {
  jobId: number;
  kind: string;
}

export function isQueuedJobData(v: unknown): v is QueuedJobData {
  const o = v as Partial<QueuedJobData> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    Number.isSafeInteger(o.jobId) &&
    (o.jobId ?? 0) > 0 &&
    typeof o.kind === 'string'
  );
}

/**
 * The queue entry's id for a store job: a UUID hashed from the row's id, kind and creation time. Sending the same
 * job twice is then refused by pg-boss's primary key (so an enqueue is idempotent), a worker pointed at another
 * store (whose job 7 is a different job) sees the mismatch, and a store started afresh (ids from 1 again) does not
 * collide with what an older store left in the queue.
 */
export function queueJobId(job: Pick<Job, 'id' | 'kind' | 'createdAt'>): string {
  const h = createHash('sha256').update(`xwb-job\0${job.id}\0${job.kind}\0${job.createdAt}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8 (custom), RFC 9562
  h[8] = (h[8] & 0x3f) | 0x80; // variant 10
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The advisory lock a worker holds on its own session while it runs a job: PostgreSQL drops it the moment that
 * session ends (the process died, or its host or network went away), which is how anyone can tell a running job
 * from an orphaned one without waiting for pg-boss's expiry. A signed 64-bit key from the queue id, as text.
 */
export function lockKey(queueId: string): string {
  return BigInt.asIntN(64, BigInt(`0x${queueId.replaceAll('-', '').slice(0, 16)}`)).toString();
}

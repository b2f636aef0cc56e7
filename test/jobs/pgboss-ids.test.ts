import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkQueueUrl, describeQueueUrl } from '../../src/jobs/pgboss/boss.js';
import { isQueuedJobData, lockKey, queueJobId } from '../../src/jobs/pgboss/ids.js';

const job = { id: 7, kind: 'eval', createdAt: '2026-12-03T15:00:00.000Z' };

test('queueJobId: a UUID fixed by the row, different for another row, kind or store life', () => {
  const id = queueJobId(job);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(queueJobId({ ...job }), id, 'the same row, the same entry: enqueueing twice is refused');
  const others = [
    queueJobId({ ...job, id: 8 }),
    queueJobId({ ...job, kind: 'explain' }),
    queueJobId({ ...job, createdAt: '2026-12-03T15:00:00.001Z' }),
  ];
  assert.equal(new Set([id, ...others]).size, 4);
});

test('lockKey: a signed 64-bit integer from the entry id', () => {
  assert.equal(lockKey('00000000-0000-8000-8000-000000000001'), '32768');
  assert.equal(lockKey('ffffffff-ffff-ffff-bfff-ffffffffffff'), '-1');
  const k = BigInt(lockKey(queueJobId(job)));
  assert.ok(k >= -(2n ** 63n) && k < 2n ** 63n);
});

test('isQueuedJobData: only what a server sends', () => {
  assert.equal(isQueuedJobData({ jobId: 3, kind: 'eval' }), true);
  for (const bad of [null, 3, {}, { jobId: 0, kind: 'eval' }, { jobId: 1.5, kind: 'x' }, { jobId: 2 }]) {
    assert.equal(isQueuedJobData(bad), false, JSON.stringify(bad));
  }
});

test('queue URLs: postgres only, named with the option; passwords left out of logs', () => {
  assert.equal(checkQueueUrl('postgres://u@h:5432/db', '--queue'), 'postgres://u@h:5432/db');
  assert.throws(
    () => checkQueueUrl('redis://h:6379', '--queue'),
    /^Error: --queue redis:\/\/h:6379: the queue needs a PostgreSQL URL/,
  );
  assert.throws(() => checkQueueUrl('db-host', 'XWB_QUEUE'), /^Error: XWB_QUEUE db-host: not a URL/);
  assert.equal(describeQueueUrl('postgres://u:secret@h:5432/db'), 'postgres://u@h:5432/db');
});

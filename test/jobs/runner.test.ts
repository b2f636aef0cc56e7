import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { etaSeconds } from '../../src/jobs/eta.js';
import { JobRunner, type JobState } from '../../src/jobs/runner.js';
import { openStore } from '../../src/store/index.js';

const COUNT = new URL('./count-task.ts', import.meta.url);

function tempStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-jobs-'));
  const dbPath = path.join(dir, 'xwb.db');
  return { dir, dbPath, store: openStore(dbPath) };
}

test('a job runs in a worker thread, reports progress and stores its result', async () => {
  const { store, dir } = tempStore();
  const runner = new JobRunner({ store, kinds: { count: COUNT }, eventIntervalMs: 0, storeIntervalMs: 0 });
  const seen: JobState[] = [];
  runner.events.on('job', (j) => seen.push(j));
  const job = runner.start('count', { n: 4, stepMs: 10 }, 'count to 4');
  assert.ok(['queued', 'running'].includes(job.status));
  const end = await runner.wait(job.id);
  assert.equal(end?.status, 'done');
  assert.deepEqual(end?.progress, { done: 4, total: 4, stage: 'step 4' });
  const result = end?.result as { counted: number; isMainThread: boolean; datasets: number };
  assert.equal(result.counted, 4);
  assert.equal(result.isMainThread, false, 'the task ran off the main thread');
  assert.equal(result.datasets, 0, 'with its own store connection');
  assert.deepEqual(
    seen.filter((s) => s.status === 'running' && s.progress).map((s) => s.progress?.done),
    [1, 2, 3, 4],
  );
  assert.equal(seen.at(-1)?.status, 'done');
  // What a reloaded page reads.
  assert.deepEqual(
    runner.list().map((j) => [j.id, j.status, j.label]),
    [[job.id, 'done', 'count to 4']],
  );
  await runner.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cancel stops an awaiting task and a synchronous one; queued jobs wait their turn', async () => {
  const { store, dir } = tempStore();
  const runner = new JobRunner({ store, kinds: { count: COUNT }, eventIntervalMs: 0 });
  const a = runner.start('count', { n: 1000, stepMs: 10 }, 'long');
  const b = runner.start('count', { n: 1000, stepMs: 5, sync: true }, 'spinning');
  const c = runner.start('count', { n: 2, stepMs: 1 }, 'never runs');
  assert.equal(runner.get(b.id)?.status, 'queued', 'one at a time');
  const firstStep = new Promise<void>((resolve) =>
    runner.events.on('job', (j) => j.id === a.id && j.progress && resolve()),
  );
  await firstStep;
  assert.equal(runner.cancel(c.id), true);
  assert.equal(runner.get(c.id)?.status, 'cancelled');
  assert.equal(runner.cancel(a.id), true);
  assert.equal((await runner.wait(a.id))?.status, 'cancelled');
  assert.ok((runner.get(a.id)?.progress?.done ?? 0) < 1000);
  const bStep = new Promise<void>((resolve) =>
    runner.events.on('job', (j) => j.id === b.id && j.progress && resolve()),
  );
  await bStep;
  runner.cancel(b.id);
  const bEnd = await runner.wait(b.id);
  assert.equal(bEnd?.status, 'cancelled', 'the shared flag stopped the spinning task');
  assert.ok((bEnd?.progress?.done ?? 0) < 1000);
  assert.equal(runner.cancel(a.id), false, 'an ended job is not cancelled again');
  await runner.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a task that never looks at its signal is stopped after the grace time, and ends cancelled', async () => {
  const { store, dir } = tempStore();
  const runner = new JobRunner({ store, kinds: { count: COUNT }, cancelGraceMs: 200 });
  // One synchronous step of a minute: neither the message nor the flag is looked at before it ends.
  const job = runner.start('count', { n: 2, stepMs: 60_000, sync: true }, 'deaf');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(runner.get(job.id)?.status, 'running');
  const t0 = Date.now();
  runner.cancel(job.id);
  const end = await runner.wait(job.id);
  assert.equal(end?.status, 'cancelled');
  assert.ok(Date.now() - t0 < 30_000, 'stopped long before its step would have ended');
  assert.equal(end?.error, null);
  await runner.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a failing task ends failed with its message; unknown kinds are refused', async () => {
  const { store, dir } = tempStore();
  const runner = new JobRunner({ store, kinds: { count: COUNT } });
  const job = runner.start('count', { n: 5, stepMs: 1, fail: 3 }, 'fails');
  const end = await runner.wait(job.id);
  assert.equal(end?.status, 'failed');
  assert.equal(end?.error, 'step 3 failed on purpose');
  assert.throws(() => runner.start('nope', {}, 'x'), /unknown job kind "nope"/);
  await runner.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a new runner on the store finds old jobs, and marks the ones a dead process left running as failed', async () => {
  const { store, dbPath, dir } = tempStore();
  const runner = new JobRunner({ store, kinds: { count: COUNT } });
  const done = runner.start('count', { n: 1, stepMs: 1 }, 'done one');
  await runner.wait(done.id);
  // A job a crashed process left behind.
  const orphan = store.jobs.create({ kind: 'count', label: 'orphan', params: {} });
  store.jobs.setStatus(orphan.id, 'running');
  store.jobs.setProgress(orphan.id, { done: 3, total: 10, stage: null });
  await runner.close();
  store.close();

  const again = openStore(dbPath);
  const second = new JobRunner({ store: again, kinds: { count: COUNT } });
  const jobs = second.list();
  assert.deepEqual(
    jobs.map((j) => [j.label, j.status]),
    [
      ['orphan', 'failed'],
      ['done one', 'done'],
    ],
  );
  assert.match(jobs[0].error ?? '', /interrupted/);
  assert.deepEqual(jobs[0].progress, { done: 3, total: 10, stage: null }, 'how far it got is kept');
  await second.close();
  again.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('etaSeconds: the rate since the first report', () => {
  assert.equal(etaSeconds(null, 1000, 1, 10), null);
  assert.equal(etaSeconds({ t0: 0, done0: 2 }, 0, 2, 10), null, 'no time passed');
  // 4 items in 2 s since the anchor → 0.5 s each, 4 left → 2 s.
  assert.equal(etaSeconds({ t0: 1000, done0: 2 }, 3000, 6, 10), 2);
  assert.equal(etaSeconds({ t0: 0, done0: 0 }, 5000, 10, 10), 0);
});

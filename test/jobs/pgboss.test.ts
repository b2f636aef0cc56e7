/**
 * Team mode's job queue end to end, on a throwaway PostgreSQL cluster: the service enqueues real batch-explain
 * jobs on pg-boss, `xwb worker` processes started here take them, run them on the wasm engine against the shared
 * SQLite store and write their progress and result into the job rows the service reads. A worker killed with
 * SIGKILL mid-job loses nothing: another one finishes the job, once. A cancel from the service reaches the worker.
 * Skipped, with the reason, when the PostgreSQL binaries are absent.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, afterEach, before, test } from 'node:test';
import { type JobView, validateRequest, type XwbEvent } from '../../src/api/contract.js';
import { registerJobHandlers } from '../../src/api/job-handlers.js';
import { XwbService } from '../../src/api/service.js';
import { jobKinds } from '../../src/jobs/kinds.js';
import { QUEUE, queueJobId } from '../../src/jobs/pgboss/ids.js';
import { PgBossJobQueue } from '../../src/jobs/pgboss/server.js';
import { type EvalFixture, evalFixture } from '../evaluate/fixture.js';
import { NO_POSTGRES, type PgCluster, startPgCluster } from './pg-cluster.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let pg: PgCluster | undefined;
let f: EvalFixture | undefined;
let runId: number;
let queue: PgBossJobQueue;
let service: XwbService;
const events: XwbEvent[] = [];
const workers: Worker[] = [];

interface Worker {
  child: ChildProcess;
  name: string;
  log: () => string;
}

/** `xwb worker --queue … --db …` as a child process; resolves once it says it is ready. */
function startWorker(): Promise<Worker> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/run.ts',
      'worker',
      '--queue',
      pg!.url,
      '--db',
      f!.dbPath,
      '--progress-interval',
      '100',
      '--json',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XWB_ENGINE: 'wasm' } },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      const w = { child, name: (JSON.parse(line) as { worker: string }).worker, log: () => err };
      workers.push(w);
      resolve(w);
    });
    child.on('exit', (code) => reject(new Error(`xwb worker exited with ${code}: ${err}`)));
  });
}

async function kill(w: Worker, signal: NodeJS.Signals): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const gone = new Promise((r) => w.child.once('exit', r));
  w.child.kill(signal);
  await gone;
}

async function call<T>(method: string, body: unknown): Promise<T> {
  const m = method as Parameters<typeof validateRequest>[0];
  return (await service.call(m, validateRequest(m, body))) as T;
}

const updates = (jobId: number) =>
  events.flatMap((e) => (e.type === 'job.update' && e.job.id === jobId ? [e.job] : []));

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const v = get();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the job's last update once it has ended. */
const ended = (jobId: number) =>
  until(`job ${jobId} to end`, () =>
    updates(jobId).find((j) => ['done', 'failed', 'cancelled'].includes(j.status)),
  );

const explanations = (id: number) => ({ n: f!.store.explanations.list(id).length });

before(async () => {
  if (NO_POSTGRES) return;
  pg = await startPgCluster();
  f = await evalFixture(12);
  runId = await f.makeRun();
  service = new XwbService({
    store: f.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  queue = await PgBossJobQueue.connect({
    store: f.store,
    url: pg.url,
    kinds: jobKinds(),
    watchMs: 100,
    reconcileMs: 1000,
    log: () => {},
  });
  registerJobHandlers(service, {}, queue);
  service.events.on('event', (e) => events.push(e));
});

/** Each test starts its own workers; none is left for the next one. */
afterEach(async () => {
  for (const w of workers.splice(0)) await kill(w, 'SIGKILL');
});

after(async () => {
  for (const w of workers) await kill(w, 'SIGKILL');
  await service?.close();
  f?.done();
  pg?.stop();
});

test('a worker process takes a batch explain from the queue; progress and result reach the store rows', {
  skip: NO_POSTGRES,
}, async () => {
  const w = await startWorker();
  const job = await call<JobView>('explain.start', {
    runId,
    methods: ['gradient', 'gradcam'],
    split: 'trainval',
    batchSize: 2,
    engine: 'wasm',
  });
  assert.equal(job.status, 'queued');
  const end = await ended(job.id);
  assert.equal(end.status, 'done', end.error ?? '');
  const result = end.result as {
    images: number;
    methods: { method: string; computed: number }[];
    worker: { name: string; engine: string; attempt: number };
  };
  assert.equal(result.images, 12);
  assert.deepEqual(
    result.methods.map((m) => [m.method, m.computed]),
    [
      ['gradient', 12],
      ['gradcam', 12],
    ],
  );
  assert.equal(result.worker.name, w.name);
  assert.match(result.worker.engine, /^wasm \(wasm/, 'the engine the worker computed on');
  assert.equal(result.worker.attempt, 1);
  assert.equal(explanations(runId).n, 24, 'the maps are in the shared store');
  // The service saw the worker's progress as it went: queued, then running with growing counts, then done.
  const seen = updates(job.id);
  assert.equal(seen[0].status, 'queued');
  const counts = seen.filter((s) => s.status === 'running' && s.progress).map((s) => s.progress!.done);
  assert.ok(new Set(counts).size >= 2, `progress advanced: ${counts.join(', ')}`);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => a - b),
    'never backwards',
  );
  assert.ok(
    seen.some((s) => /wasm .*on /.test(s.progress?.stage ?? '')),
    'the stored stage names engine and worker',
  );
  assert.deepEqual(end.progress, { done: 24, total: 24, stage: 'explain gradcam' });
  assert.match(w.log(), new RegExp(`job ${job.id}: engine wasm`));
});

test('SIGKILL mid-job: the job stays running, the next worker finishes it exactly once', {
  skip: NO_POSTGRES,
}, async () => {
  const run2 = await f!.makeRun({ seed: 9 });
  const a = await startWorker();
  const job = await call<JobView>('explain.start', {
    runId: run2,
    methods: ['gradient', 'occlusion'],
    split: 'trainval',
    batchSize: 1,
    engine: 'wasm',
  });
  // Killed once it has stored some of the work, well before the end.
  const mid = await until('progress stored by worker A', () => {
    const j = f!.store.jobs.get(job.id)!;
    return j.status === 'running' && (j.progress?.done ?? 0) >= 2 ? j : undefined;
  });
  await kill(a, 'SIGKILL');
  assert.ok(mid.progress!.done < mid.progress!.total);
  assert.equal(f!.store.jobs.get(job.id)!.status, 'running', 'not lost, not failed: it waits for a worker');
  const b = await startWorker();
  const end = await ended(job.id);
  assert.equal(end.status, 'done', end.error ?? '');
  const result = end.result as { worker: { name: string; attempt: number }; methods: { cached: number }[] };
  assert.equal(result.worker.name, b.name, 'finished by the second worker');
  assert.equal(result.worker.attempt, 2);
  assert.ok(result.methods[0].cached > 0, 'what the first attempt stored was reused');
  assert.equal(explanations(run2).n, 24, 'every map once');
  assert.match(b.log(), new RegExp(`job ${job.id} \\(explain\\) started \\(attempt 2 of 3\\)`));
  assert.equal(b.log().match(new RegExp(`job ${job.id}: done`, 'g'))?.length, 1);
  assert.doesNotMatch(a.log(), new RegExp(`job ${job.id}: done`));
  // Once: the row refuses a second end, and the queue entry completed after one retry.
  assert.throws(() => f!.store.jobs.setStatus(job.id, 'done'), /cannot go from "done" to "done"/);
  const boss = (queue as unknown as { boss: import('pg-boss') }).boss;
  const entry = await boss.getJobById(QUEUE, queueJobId(f!.store.jobs.get(job.id)!), {
    includeArchive: true,
  });
  assert.equal(entry?.state, 'completed');
  assert.equal(entry?.retryCount, 1);
});

test('a cancel from the service reaches the worker; the worker goes on to the next job', {
  skip: NO_POSTGRES,
}, async () => {
  const w = await startWorker();
  const run3 = await f!.makeRun({ seed: 13 });
  const job = await call<JobView>('explain.start', {
    runId: run3,
    methods: ['occlusion'],
    split: 'trainval',
    batchSize: 1,
    engine: 'wasm',
  });
  await until('progress from the worker', () =>
    updates(job.id).find((j) => j.status === 'running' && (j.progress?.done ?? 0) >= 1),
  );
  assert.deepEqual(await call('jobs.cancel', { jobId: job.id }), { cancelled: true });
  const end = await ended(job.id);
  assert.equal(end.status, 'cancelled');
  assert.ok((end.progress?.done ?? 0) < 12, 'stopped before the end');
  assert.match(w.log(), new RegExp(`job ${job.id}: cancel asked`));
  assert.match(w.log(), new RegExp(`job ${job.id}: cancelled`));
  // Still serving: the next job runs on the same worker.
  const next = await call<JobView>('explain.start', { runId: run3, methods: ['gradient'], engine: 'wasm' });
  const nextEnd = await ended(next.id);
  assert.equal(nextEnd.status, 'done');
  assert.equal((nextEnd.result as { worker: { name: string } }).worker.name, w.name);
});

test('a job whose worker dies on its last attempt ends failed, with why, instead of running for ever', {
  skip: NO_POSTGRES,
}, async () => {
  // A server whose jobs get one attempt only (the retry limit travels with each queue entry).
  const once = await PgBossJobQueue.connect({
    store: f!.store,
    url: pg!.url,
    kinds: jobKinds(),
    watchMs: 100,
    reconcileMs: 500,
    policy: { retryLimit: 0, expireInSeconds: 3600 },
    log: () => {},
  });
  try {
    const run4 = await f!.makeRun({ seed: 21 });
    const params = validateRequest('explain.start', {
      runId: run4,
      methods: ['occlusion'],
      split: 'trainval',
      batchSize: 1,
      engine: 'wasm',
    });
    const job = await once.start('explain', params as never, 'one attempt only');
    const a = await startWorker();
    await until('progress stored by the worker', () => {
      const j = f!.store.jobs.get(job.id)!;
      return j.status === 'running' && (j.progress?.done ?? 0) >= 1 ? j : undefined;
    });
    await kill(a, 'SIGKILL');
    const end = await once.wait(job.id);
    assert.equal(end?.status, 'failed');
    assert.match(
      end?.error ?? '',
      /^1 attempt lost its worker \(killed, crashed, or cut off from the queue\)/,
    );
    assert.ok((end?.progress?.done ?? 0) >= 1, 'how far it got is kept');
  } finally {
    await once.close();
  }
});

test('a worker on another store refuses the job and stops, rather than run the wrong one', {
  skip: NO_POSTGRES,
}, async () => {
  const other = await evalFixture(2);
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/run.ts', 'worker', '--queue', pg!.url, '--db', other.dbPath, '--json'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    workers.push({ child, name: 'other', log: () => log });
    const job = await call<JobView>('explain.start', { runId, methods: ['gradient'], engine: 'wasm' });
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 1, log);
    assert.match(log, /is not a job of .*is this worker's --db the server's store\? Stopping\./);
    assert.equal(f!.store.jobs.get(job.id)!.status, 'queued', 'the row is untouched');
    assert.equal(other.store.jobs.list().length, 0, 'and nothing was written to the other store');
    // The right worker still gets it (the refusal used one of its attempts).
    await startWorker();
    const end = await ended(job.id);
    assert.equal(end.status, 'done');
    assert.equal((end.result as { worker: { attempt: number } }).worker.attempt, 2);
  } finally {
    other.done();
  }
});

test('SIGTERM stops a worker gracefully: its running job goes back to the queue, not to cancelled', {
  skip: NO_POSTGRES,
}, async () => {
  const run5 = await f!.makeRun({ seed: 31 });
  const a = await startWorker();
  const job = await call<JobView>('explain.start', {
    runId: run5,
    methods: ['occlusion'],
    split: 'trainval',
    batchSize: 1,
    engine: 'wasm',
  });
  await until('progress stored by the worker', () => {
    const j = f!.store.jobs.get(job.id)!;
    return j.status === 'running' && (j.progress?.done ?? 0) >= 1 ? j : undefined;
  });
  const exited = new Promise((r) => a.child.once('exit', r));
  a.child.kill('SIGTERM');
  assert.equal(await exited, 0, a.log());
  assert.match(a.log(), new RegExp(`job ${job.id}: handed back to the queue \\(worker stopping\\)`));
  assert.equal(f!.store.jobs.get(job.id)!.status, 'running', 'still the user’s job, waiting for a worker');
  const b = await startWorker();
  const end = await ended(job.id);
  assert.equal(end.status, 'done', end.error ?? '');
  const w = (end.result as { worker: { name: string; attempt: number } }).worker;
  assert.deepEqual([w.name, w.attempt], [b.name, 2]);
});

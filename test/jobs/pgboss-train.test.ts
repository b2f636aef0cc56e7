/**
 * Training on the team's workers, end to end on a throwaway PostgreSQL cluster: the service (training and job
 * handlers on a PgBossJobQueue) records the run and enqueues it, real `xwb worker` child processes train it on the
 * wasm engine into the shared SQLite store. A worker SIGKILLed mid-training: the next one resumes the SAME run from
 * its latest checkpoint, and every (phase, epoch) is in the run once. A run whose last attempt dies ends failed
 * with why; a cancel from the Training screen reaches the worker. Skipped, with the reason, without PostgreSQL.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { validateRequest, type XwbEvent } from '../../src/api/contract.js';
import { registerJobHandlers } from '../../src/api/job-handlers.js';
import { registerReviewHandlers } from '../../src/api/review-handlers.js';
import { XwbService } from '../../src/api/service.js';
import { registerTrainingHandlers } from '../../src/api/training-handlers.js';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { jobKinds } from '../../src/jobs/kinds.js';
import { PgBossJobQueue } from '../../src/jobs/pgboss/server.js';
import type { EpochRecord } from '../../src/store/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { QUEUED_ENGINE } from '../../src/training/queued.js';
import { recordQueuedRun } from '../../src/training/record.js';
import { NO_POSTGRES, type PgCluster, startPgCluster } from './pg-cluster.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let pg: PgCluster | undefined;
let fx: { dir: string; dbPath: string; store: Store; datasetId: number; done(): void } | undefined;
let queue: PgBossJobQueue;
let service: XwbService;
const events: XwbEvent[] = [];
const workers: Worker[] = [];
/** The run the first test trains to the end (the review test rates its maps). */
let trainedRun = 0;
/** The run the cancel test stops, which the resume test continues. */
let cancelledRun = 0;

interface Worker {
  child: ChildProcess;
  name: string;
  log: () => string;
}

/** `xwb worker` as a child process on the wasm engine; resolves once it says it is ready. */
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
      fx!.dbPath,
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

async function kill(w: Worker): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const gone = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGKILL');
  await gone;
}

async function call<T>(method: string, body: unknown): Promise<T> {
  const m = method as Parameters<typeof validateRequest>[0];
  return (await service.call(m, validateRequest(m, body))) as T;
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 180_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const v = get();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The tiny training of these tests: 16 px, base 4, the three phases of an expclass, two epochs each. */
const form = (seed: number) => ({
  datasetId: fx!.datasetId,
  model: 'expclass',
  size: 16,
  base: 4,
  epochs: [2, 2, 2],
  alpha: [1, 0.25, 0.9],
  batchSize: 8,
  seed,
  engine: 'wasm',
});

const key = (e: Pick<EpochRecord, 'phase' | 'epoch'>) => `${e.phase}/${e.epoch}`;
const trainJobOf = (runId: number) =>
  fx!.store.jobs.list({ limit: 100 }).find((j) => j.kind === 'train' && j.params.runId === runId);

/** Every phase's epochs are 1…n in order, phases in the model's order, none twice; the last one ends its phase. */
function assertOneHistory(epochs: readonly EpochRecord[]): void {
  const keys = epochs.map(key);
  assert.equal(new Set(keys).size, keys.length, `an epoch twice: ${keys.join(' ')}`);
  const phases = [...new Set(epochs.map((e) => e.phase))];
  assert.deepEqual(
    phases,
    ['classifier', 'explainer', 'joint'].filter((p) => phases.includes(p)),
  );
  for (const p of phases) {
    const own = epochs.filter((e) => e.phase === p);
    assert.deepEqual(
      own.map((e) => e.epoch),
      own.map((_, i) => i + 1),
      `phase ${p}: ${keys.join(' ')}`,
    );
    assert.equal(own.at(-1)!.metrics.phase_end, 1, `phase ${p} ends with its last row`);
  }
}

before(async () => {
  if (NO_POSTGRES) return;
  pg = await startPgCluster();
  // The project's generator: 24 images of 16 px (a green triangle or not among black circles), 75/25 split.
  const dir = mkdtempSync(join(tmpdir(), 'xwb-qtrain-'));
  await generateDataset(join(dir, 'shapes'), {
    width: 16,
    height: 16,
    images: 24,
    colourCue: true,
    fill: true,
    shapesPerImage: [1, 2],
    seed: 7,
  });
  const dbPath = join(dir, 'xwb.db');
  const store = openStore(dbPath);
  const { dataset } = await importDataset(store, join(dir, 'shapes'), { name: 'shapes' });
  fx = {
    dir,
    dbPath,
    store,
    datasetId: dataset.id,
    done() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  service = new XwbService({
    store: fx.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  queue = await PgBossJobQueue.connect({
    store: fx.store,
    url: pg.url,
    kinds: jobKinds(),
    watchMs: 100,
    reconcileMs: 1000,
    log: () => {},
  });
  registerTrainingHandlers(service, queue);
  registerReviewHandlers(service, { jobQueue: queue, evalMetrics: 'sparseness' });
  registerJobHandlers(service, {}, queue);
  service.events.on('event', (e) => events.push(e));
});

afterEach(async () => {
  for (const w of workers.splice(0)) await kill(w);
});

after(async () => {
  for (const w of workers) await kill(w);
  await service?.close();
  fx?.done();
  pg?.stop();
});

test('SIGKILL mid-training: the next worker resumes the same run from its checkpoint, each epoch once', {
  skip: NO_POSTGRES,
}, async () => {
  const runsBefore = fx!.store.runs.list().length;
  const { runId } = await call<{ runId: number }>('train.start', form(5));
  trainedRun = runId;
  // Recorded before any worker has it: queued, and no engine yet.
  const queued = fx!.store.runs.get(runId)!;
  assert.equal(queued.status, 'queued');
  assert.equal(queued.engine, QUEUED_ENGINE);
  assert.equal(trainJobOf(runId)?.status, 'queued');
  assert.ok(events.some((e) => e.type === 'train.started' && e.runId === runId));

  const a = await startWorker();
  // Killed once its first epoch has a checkpoint, long before the sixth epoch.
  await until('a checkpoint from worker A', () =>
    fx!.store.runs.checkpoints(runId).length > 0 ? true : undefined,
  );
  await kill(a);
  const atKill = fx!.store.runs.epochs(runId);
  const checkpointsAtKill = fx!.store.runs.checkpoints(runId);
  assert.ok(atKill.length < 6, `worker A was killed mid-run (${atKill.map(key).join(' ')})`);
  const mid = fx!.store.runs.get(runId)!;
  assert.equal(mid.status, 'running', 'not lost, not failed: it waits for a worker');
  assert.equal(mid.engine, 'wasm', 'the worker recorded its engine');
  assert.equal(trainJobOf(runId)?.status, 'running');
  // What the kill left that the retry must keep: every epoch up to the latest checkpoint.
  const latest = checkpointsAtKill.at(-1)!;
  const kept = atKill.slice(0, atKill.findIndex((e) => key(e) === key(latest)) + 1);
  assert.ok(kept.length >= 1);

  const b = await startWorker();
  const finished = await until('train.finished', () =>
    events.find((e) => e.type === 'train.finished' && e.runId === runId),
  );
  assert.equal(finished.type === 'train.finished' && finished.status, 'done', JSON.stringify(finished));

  const run = fx!.store.runs.get(runId)!;
  assert.equal(run.status, 'done');
  assert.equal(run.engine, 'wasm');
  assert.equal(
    fx!.store.runs.list().length,
    runsBefore + 1,
    'one run: the retry trained in it, no second one',
  );
  const epochs = fx!.store.runs.epochs(runId);
  assertOneHistory(epochs);
  assert.ok(epochs.length > atKill.length, 'the retry trained on');
  // Resumed, not restarted: the epochs up to the checkpoint are the first attempt's own rows, untouched.
  for (const k of kept) {
    const now = epochs.find((e) => key(e) === key(k))!;
    assert.equal(now.createdAt, k.createdAt, `${key(k)} was not run again`);
    assert.deepEqual(now.metrics, k.metrics);
  }
  const cps = fx!.store.runs.checkpoints(runId).map(key);
  assert.equal(new Set(cps).size, cps.length, `a checkpoint twice: ${cps.join(' ')}`);

  const job = trainJobOf(runId)!;
  assert.equal(job.status, 'done', job.error ?? '');
  const result = job.result as {
    worker: { name: string; attempt: number };
    resumedAt: string | null;
    epochs: number;
  };
  assert.equal(result.worker.name, b.name, 'finished by the second worker');
  assert.equal(result.worker.attempt, 2);
  const next = epochs[kept.length];
  assert.equal(result.resumedAt, `${next.phase} epoch ${next.epoch}`, 'attempt 2 began after the checkpoint');
  assert.equal(result.epochs, epochs.length);
  assert.match(b.log(), new RegExp(`job ${job.id} \\(train\\) started \\(attempt 2 of 3\\)`));
  assert.doesNotMatch(a.log(), new RegExp(`job ${job.id}: done`));

  // The Training screen's events came from the store: every epoch row was told, and steps with their place.
  const told = new Set(
    events.flatMap((e) => (e.type === 'train.epoch' && e.runId === runId ? [key(e.epoch)] : [])),
  );
  for (const e of epochs) assert.ok(told.has(key(e)), `train.epoch for ${key(e)}`);
  const steps = events.filter((e) => e.type === 'train.progress' && e.runId === runId);
  assert.ok(steps.length >= 2, 'train.progress from the job’s stage');
  const s = steps.at(-1)!;
  assert.ok(
    s.type === 'train.progress' && s.steps >= 2 && s.step >= 1 && s.step <= s.steps && s.epochs === 2,
    JSON.stringify(s),
  );
  const moves = events.flatMap((e) => (e.type === 'run.status' && e.runId === runId ? [e.status] : []));
  assert.deepEqual(moves, ['running']);
});

test('a training whose worker dies on its last attempt ends failed, and so does its run, with why', {
  skip: NO_POSTGRES,
}, async () => {
  const once = await PgBossJobQueue.connect({
    store: fx!.store,
    url: pg!.url,
    kinds: jobKinds(),
    watchMs: 100,
    reconcileMs: 500,
    policy: { retryLimit: 0, expireInSeconds: 3600 },
    log: () => {},
  });
  try {
    const run = recordQueuedRun(fx!.store, {
      datasetId: fx!.datasetId,
      model: { kind: 'classifier', inputSize: 16, base: 4 },
      phases: { classifier: { epochs: 30 } },
      data: { batchSize: 8 },
    });
    const job = await once.start('train', { runId: run.id, engine: 'wasm' }, 'one attempt only');
    const a = await startWorker();
    await until('an epoch from the worker', () =>
      fx!.store.runs.epochs(run.id).length > 0 ? true : undefined,
    );
    await kill(a);
    const end = await once.wait(job.id);
    assert.equal(end?.status, 'failed');
    assert.match(end?.error ?? '', /^1 attempt lost its worker/);
    const failed = fx!.store.runs.get(run.id)!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /^training job: 1 attempt lost its worker \(killed, crashed/);
    assert.ok(fx!.store.runs.epochs(run.id).length >= 1, 'its epochs are kept: it can be resumed');
  } finally {
    await once.close();
  }
});

test('train.cancel reaches the worker: the job and the run end cancelled, the checkpoints stay', {
  skip: NO_POSTGRES,
}, async () => {
  await startWorker();
  const { runId } = await call<{ runId: number }>('train.start', {
    ...form(9),
    epochs: [6, 0, 0],
    model: 'classifier',
  });
  cancelledRun = runId;
  await until('an epoch from the worker', () => (fx!.store.runs.epochs(runId).length > 0 ? true : undefined));
  assert.deepEqual(await call('train.cancel', { runId }), { cancelled: true });
  const finished = await until('train.finished', () =>
    events.find((e) => e.type === 'train.finished' && e.runId === runId),
  );
  assert.equal(finished.type === 'train.finished' && finished.status, 'cancelled');
  assert.equal(fx!.store.runs.get(runId)!.status, 'cancelled');
  assert.equal(trainJobOf(runId)?.status, 'cancelled');
  assert.ok(fx!.store.runs.epochs(runId).length < 6, 'stopped before the end');
  assert.ok(fx!.store.runs.checkpoints(runId).length >= 1);
  assert.deepEqual(await call('train.cancel', { runId }), { cancelled: false }, 'nothing left to cancel');
});

test('train.resume on the queue: a new run that names the cancelled one, its history copied once, done', {
  skip: NO_POSTGRES,
}, async () => {
  assert.ok(cancelledRun > 0, 'the cancel test ran');
  const old = fx!.store.runs.epochs(cancelledRun);
  const oldCheckpoints = fx!.store.runs.checkpoints(cancelledRun);
  const { runId } = await call<{ runId: number }>('train.resume', { runId: cancelledRun, engine: 'wasm' });
  assert.notEqual(runId, cancelledRun);
  assert.equal(fx!.store.runs.get(runId)!.status, 'queued');
  await startWorker();
  const finished = await until('train.finished', () =>
    events.find((e) => e.type === 'train.finished' && e.runId === runId),
  );
  assert.equal(finished.type === 'train.finished' && finished.status, 'done', JSON.stringify(finished));
  const run = fx!.store.runs.get(runId)!;
  assert.equal((run.config as { resumedFrom?: number }).resumedFrom, cancelledRun);
  assert.equal(run.engine, 'wasm');
  const epochs = fx!.store.runs.epochs(runId);
  assertOneHistory(epochs);
  assert.deepEqual(
    epochs.map((e) => e.epoch),
    [1, 2, 3, 4, 5, 6],
  );
  // The old run's epochs up to its last checkpoint were copied (same numbers), the rest trained here.
  const upTo = oldCheckpoints.at(-1)!.epoch;
  for (const e of old.filter((x) => x.epoch <= upTo)) {
    assert.deepEqual(epochs.find((x) => key(x) === key(e))!.metrics, e.metrics, `${key(e)} copied`);
  }
  assert.equal(fx!.store.runs.get(cancelledRun)!.status, 'cancelled', 'the old run stays as it ended');
  const result = trainJobOf(runId)!.result as { resumedAt: string | null };
  assert.equal(result.resumedAt, `classifier epoch ${upTo + 1}`);
});

test('the review analysis’s evaluation runs on a worker: review.eval events from its job, values stored', {
  skip: NO_POSTGRES,
}, async () => {
  assert.ok(
    trainedRun > 0 && fx!.store.runs.get(trainedRun)?.status === 'done',
    'the first test trained a run',
  );
  // review.create computes the session's maps here, in the test process.
  const { initEngine } = await import('../../src/engine/select.js');
  await initEngine({ prefer: 'wasm', logger: () => {} });
  const { session } = await call<{ session: { id: number } }>('review.create', {
    name: 'on a worker',
    runIds: [trainedRun],
    methods: ['gradient'],
    sample: { split: 'val', n: 3, seed: 2 },
    raters: ['Ann'],
  });
  const w = await startWorker();
  const job = await call<{ jobId: number; state: string; total: number }>('review.evaluate', {
    sessionId: session.id,
  });
  assert.equal(job.state, 'running', 'queued counts as running');
  assert.equal(job.total, 3);
  const again = await call<{ jobId: number }>('review.evaluate', { sessionId: session.id });
  assert.equal(again.jobId, job.jobId, 'a running evaluation is not started twice');
  assert.equal(fx!.store.jobs.get(job.jobId)?.kind, 'review-eval', 'the id is the store job’s');
  const last = await until('review.eval done', () =>
    events.find((e) => e.type === 'review.eval' && e.jobId === job.jobId && e.state !== 'running'),
  );
  assert.ok(last.type === 'review.eval');
  assert.equal(last.state, 'done', last.error ?? '');
  assert.equal(last.values, 3, '3 explanations × 1 metric');
  assert.equal(last.done, 3);
  const ids = new Set(fx!.store.ratings.items(session.id).map((i) => i.explanationId));
  for (const id of ids) {
    assert.deepEqual(
      fx!.store.explanations.metrics(id).map((m) => m.metric),
      ['sparseness'],
      `explanation ${id} measured`,
    );
  }
  const row = fx!.store.jobs.get(job.jobId)!;
  assert.equal((row.result as { worker: { name: string } }).worker.name, w.name, 'measured by the worker');
  const summary = await call<{ evaluation: { jobId: number; state: string } | null }>('review.summary', {
    sessionId: session.id,
  });
  assert.deepEqual([summary.evaluation?.jobId, summary.evaluation?.state], [job.jobId, 'done']);
});

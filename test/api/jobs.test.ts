/**
 * Jobs from the workbench through the contract, on a real store: export, batch explain and evaluation run in
 * worker threads (start, progress, cancel, result, a reload finds them), the server answers while a heavy
 * evaluation runs, and a cancelled training run resumes. Runs' status events follow the store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type JobView, validateRequest, type XwbEvent } from '../../src/api/contract.js';
import { registerJobHandlers } from '../../src/api/job-handlers.js';
import { XwbService } from '../../src/api/service.js';
import { registerTrainingHandlers } from '../../src/api/training-handlers.js';
import { startWebServer } from '../../src/server/http.js';
import { openStore } from '../../src/store/index.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../evaluate/fixture.js';

let f: EvalFixture;
let runId: number;
let service: XwbService;
const events: XwbEvent[] = [];

function makeService(store = f.store): XwbService {
  const s = new XwbService({
    store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  registerJobHandlers(s);
  registerTrainingHandlers(s);
  return s;
}

before(async () => {
  await wasmEngine();
  f = await evalFixture(12);
  runId = await f.makeRun();
  service = makeService();
  service.events.on('event', (e) => events.push(e));
});

after(async () => {
  await service.close();
  f.done();
});

async function call<T>(s: XwbService, method: string, body: unknown): Promise<T> {
  const m = method as Parameters<typeof validateRequest>[0];
  return (await s.call(m, validateRequest(m, body))) as T;
}

async function refused(p: Promise<unknown>, status: number, field: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { status?: number; field?: string }) => {
    assert.equal(e.status, status, e.message);
    assert.equal(e.field, field);
    assert.match(e.message, message);
    return true;
  });
}

/** Resolves with the job's last update once it has ended. */
function ended(jobId: number): Promise<JobView> {
  return new Promise((resolve) => {
    const on = (e: XwbEvent) => {
      if (
        e.type === 'job.update' &&
        e.job.id === jobId &&
        ['done', 'failed', 'cancelled'].includes(e.job.status)
      ) {
        service.events.off('event', on);
        resolve(e.job);
      }
    };
    service.events.on('event', on);
  });
}

const updates = (jobId: number) =>
  events.flatMap((e) => (e.type === 'job.update' && e.job.id === jobId ? [e.job] : []));

test('batch explain: a job in a worker, with progress, whose maps land in the store', async () => {
  const job = await call<JobView>(service, 'explain.start', {
    runId,
    methods: ['gradient', 'gradcam'],
    split: 'trainval',
    engine: 'wasm',
  });
  assert.equal(job.kind, 'explain');
  assert.match(job.label, /explain run \d+: gradient, gradcam on trainval/);
  const end = await ended(job.id);
  assert.equal(end.status, 'done', end.error ?? '');
  const result = end.result as {
    images: number;
    engine: string;
    methods: { method: string; computed: number }[];
  };
  assert.equal(result.images, 12);
  assert.equal(result.engine, 'wasm');
  assert.deepEqual(
    result.methods.map((m) => [m.method, m.computed]),
    [
      ['gradient', 12],
      ['gradcam', 12],
    ],
  );
  // 24 maps stored by the worker's own connection, visible to ours.
  const stored = ['gradient', 'gradcam'].map((m) => f.store.explanations.list(runId, { method: m }).length);
  assert.deepEqual(stored, [12, 12]);
  // And a prediction per image, for the gallery's filters; the job predicted all 12 (none were stored before).
  assert.equal((end.result as { predicted: number }).predicted, 12);
  assert.equal(f.store.predictions.count(runId), 12);
  const seen = updates(job.id).filter((u) => u.progress);
  assert.ok(seen.length >= 1);
  assert.deepEqual(seen.at(-1)?.progress, { done: 24, total: 24, stage: 'explain gradcam' });
  const dones = seen.map((u) => u.progress!.done);
  assert.deepEqual(
    dones,
    [...dones].sort((a, b) => a - b),
    'progress never goes back',
  );
});

test('export with explanations: a folder with the maps; bad folders are refused next to the field', async () => {
  const out = path.join(f.dir, 'exported');
  await refused(
    call(service, 'export.start', { datasetId: f.datasetId, outDir: 'relative/out' }),
    400,
    'outDir',
    /full path/,
  );
  fs.mkdirSync(path.join(f.dir, 'full'));
  fs.writeFileSync(path.join(f.dir, 'full', 'x.txt'), 'x');
  await refused(
    call(service, 'export.start', { datasetId: f.datasetId, outDir: path.join(f.dir, 'full') }),
    409,
    'outDir',
    /not an empty folder/,
  );
  await refused(
    call(service, 'export.start', { datasetId: 999, outDir: out }),
    404,
    'datasetId',
    /no dataset/,
  );
  const job = await call<JobView>(service, 'export.start', {
    datasetId: f.datasetId,
    outDir: out,
    with: ['explanations'],
  });
  const end = await ended(job.id);
  assert.equal(end.status, 'done', end.error ?? '');
  const r = end.result as { images: number; explanations: number; outDir: string };
  assert.equal(r.outDir, out);
  assert.equal(r.images, 12);
  assert.equal(r.explanations, 24, 'the maps of the explain job');
  assert.equal(fs.readdirSync(path.join(out, 'JPEGImages')).length, 12);
  assert.deepEqual(end.progress, { done: 12, total: 12, stage: 'copying images' });
});

test('evaluation: the server answers pings in well under 200 ms while it runs; cancel stops it', async () => {
  const web = await startWebServer({ service, port: 0, staticDir: f.dir, token: 'test-token' });
  try {
    // Faithfulness metrics: ~100 model passes per image and metric, seconds of tfjs work on the worker.
    const job = await call<JobView>(service, 'eval.start', {
      runId,
      methods: ['gradient', 'gradcam'],
      metrics: 'default,faithfulness',
      split: 'trainval',
      engine: 'wasm',
    });
    const done = ended(job.id);
    let finished = false;
    void done.then(() => (finished = true));
    const latencies: number[] = [];
    while (!finished && latencies.length < 2000) {
      const t0 = performance.now();
      const res = await fetch(new URL('api/app.info', web.url), {
        method: 'POST',
        headers: { authorization: 'Bearer test-token', 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 200);
      await res.json();
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 25));
    }
    const end = await done;
    assert.equal(end.status, 'done', end.error ?? '');
    assert.ok(latencies.length >= 10, `the job ran long enough to measure (${latencies.length} pings)`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const max = sorted.at(-1)!;
    const over = latencies.filter((l) => l >= 200).length;
    console.log(
      `# eval job: ${latencies.length} pings, median ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, ` +
        `max ${max.toFixed(1)} ms, ${over} at or over 200 ms`,
    );
    // On this shared 2-core machine a ping can wait for a core now and then (the worker's engine uses both);
    // a blocked event loop would instead hold every ping for the length of a batch of model passes (seconds).
    assert.ok(
      at(0.99) < 200,
      `1 % of the pings took ${at(0.99).toFixed(0)} ms or more during the evaluation`,
    );
    assert.ok(max < 1000, `a ping took ${max.toFixed(0)} ms during the evaluation`);
    const table = end.result as {
      table: { method: string; metric: string; mean: number | null; n: number }[];
    };
    const row = table.table.find((t) => t.method === 'gradcam' && t.metric === 'deletion');
    assert.equal((row?.n ?? 0) + ((row as { nanCount?: number } | undefined)?.nanCount ?? 0), 12);
    // The worker stored every value: one deletion value per image on the gradcam maps of the target class.
    const measured = f.store.explanations
      .list(runId, { method: 'gradcam' })
      .filter((e) => f.store.explanations.metrics(e.id).some((m) => m.metric === 'deletion'));
    assert.equal(measured.length, 12);

    // Cancel: an evaluation with every metric (model-parameter randomisation re-explains per layer), stopped
    // after its first progress report (the gradient maps are cached, so that comes at once).
    const long = await call<JobView>(service, 'eval.start', {
      runId,
      methods: ['gradient'],
      metrics: 'all',
      split: 'trainval',
      engine: 'wasm',
    });
    const stopped = ended(long.id);
    await new Promise<void>((resolve) => {
      const on = (e: XwbEvent) => {
        if (e.type === 'job.update' && e.job.id === long.id && e.job.progress) {
          service.events.off('event', on);
          resolve();
        }
      };
      service.events.on('event', on);
    });
    assert.deepEqual(await call(service, 'jobs.cancel', { jobId: long.id }), { cancelled: true });
    const c = await stopped;
    assert.equal(c.status, 'cancelled');
    assert.ok(c.progress && c.progress.done < c.progress.total, 'stopped before the end');
    assert.deepEqual(await call(service, 'jobs.cancel', { jobId: long.id }), { cancelled: false });
  } finally {
    web.server.closeAllConnections(); // fetch keeps its sockets alive; close would wait for them
    await web.close();
  }
});

test('a reload finds every job with its status and result; a restarted server marks unfinished ones', async () => {
  const listed = await call<JobView[]>(service, 'jobs.list', {});
  assert.deepEqual(
    listed.map((j) => [j.kind, j.status]),
    [
      ['eval', 'cancelled'],
      ['eval', 'done'],
      ['export', 'done'],
      ['explain', 'done'],
    ],
  );
  const one = await call<JobView>(service, 'jobs.get', { jobId: listed[3].id });
  assert.equal((one.result as { images: number }).images, 12);
  await refused(call(service, 'jobs.get', { jobId: 9999 }), 404, 'jobId', /no job 9999/);

  // Another process (the server restarted) reading the same file.
  const orphan = f.store.jobs.create({ kind: 'eval', label: 'left running', params: {} });
  f.store.jobs.setStatus(orphan.id, 'running');
  const store2 = openStore(f.dbPath);
  const s2 = makeService(store2);
  try {
    const again = await call<JobView[]>(s2, 'jobs.list', {});
    assert.equal(again.length, 5);
    assert.equal(again[0].status, 'failed');
    assert.match(again[0].error ?? '', /interrupted/);
    assert.deepEqual(
      again.slice(1).map((j) => j.id),
      listed.map((j) => j.id),
    );
  } finally {
    await s2.close();
    store2.close();
  }
});

test('training: the run is "running" once it trains (a status event says so); cancel, then resume', async () => {
  const request = {
    datasetId: f.datasetId,
    size: 32,
    base: 4,
    epochs: [1, 1, 30],
    alpha: [1, 0.25, 0.9],
    batchSize: 4,
    engine: 'wasm',
  };
  const { runId: trained } = await call<{ runId: number }>(service, 'train.start', request);
  const statusEvent = await new Promise<XwbEvent>((resolve) => {
    const on = (e: XwbEvent) => {
      if (e.type === 'run.status' && e.runId === trained) {
        service.events.off('event', on);
        resolve(e);
      }
    };
    service.events.on('event', on);
  });
  assert.deepEqual(statusEvent, { type: 'run.status', runId: trained, status: 'running' });
  assert.equal(f.store.runs.get(trained)?.status, 'running', 'the event follows the store');
  await refused(
    call(service, 'train.resume', { runId: trained }),
    409,
    'runId',
    /only a failed or cancelled/,
  );
  // Cancel once the joint phase has an epoch (so there is a checkpoint to resume from).
  await new Promise<void>((resolve) => {
    const on = (e: XwbEvent) => {
      if (e.type === 'train.epoch' && e.runId === trained && e.epoch.phase === 'joint') {
        service.events.off('event', on);
        resolve();
      }
    };
    service.events.on('event', on);
  });
  const finished = new Promise<XwbEvent>((resolve) =>
    service.events.on('event', (e) => e.type === 'train.finished' && e.runId === trained && resolve(e)),
  );
  await call(service, 'train.cancel', { runId: trained });
  assert.equal(((await finished) as { status: string }).status, 'cancelled');

  const { runId: resumed } = await call<{ runId: number }>(service, 'train.resume', {
    runId: trained,
    engine: 'wasm',
  });
  assert.notEqual(resumed, trained);
  const run = f.store.runs.get(resumed)!;
  assert.equal((run.config as { resumedFrom?: number }).resumedFrom, trained);
  const done = new Promise<XwbEvent>((resolve) =>
    service.events.on('event', (e) => e.type === 'train.finished' && e.runId === resumed && resolve(e)),
  );
  // Stop the resumed one too (30 joint epochs are not needed to see it continue from the copied history).
  await new Promise<void>((resolve) => {
    const on = (e: XwbEvent) => {
      if (e.type === 'train.epoch' && e.runId === resumed) {
        service.events.off('event', on);
        resolve();
      }
    };
    service.events.on('event', on);
  });
  await call(service, 'train.cancel', { runId: resumed });
  await done;
  const epochs = f.store.runs.epochs(resumed);
  const old = f.store.runs.epochs(trained);
  assert.ok(epochs.length > old.length, 'the resumed run continues after the copied epochs');
  assert.deepEqual(
    epochs.slice(0, old.length).map((e) => [e.phase, e.epoch]),
    old.map((e) => [e.phase, e.epoch]),
  );
  await refused(call(service, 'train.resume', { runId: 999 }), 404, 'runId', /no run 999/);
});

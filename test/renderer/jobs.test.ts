import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyRunEvent,
  exportRequest,
  jobFraction,
  jobLine,
  jobOutcome,
  methodList,
  resumable,
  upsertJob,
  viewerRuns,
} from '../../renderer/src/lib/jobs.js';
import type { JobView, RunView } from '../../src/api/contract.js';

const run = (id: number, status: string, datasetId = 1): RunView => ({
  id,
  datasetId,
  model: 'expclass',
  status,
  engine: 'wasm',
  device: null,
  phase: null,
  epoch: null,
  error: null,
  createdAt: '2026-01-01T00:00:00Z',
  config: {},
});

const job = (id: number, over: Partial<JobView> = {}): JobView => ({
  id,
  kind: 'eval',
  label: `job ${id}`,
  status: 'running',
  params: {},
  progress: null,
  etaSeconds: null,
  result: null,
  error: null,
  createdAt: '2026-01-01T00:00:00Z',
  startedAt: null,
  finishedAt: null,
  ...over,
});

test('the runs table follows status events: queued → running → cancelled, phase and epoch from progress', () => {
  const runs = [run(2, 'queued'), run(1, 'done')];
  const a = applyRunEvent(runs, { type: 'run.status', runId: 2, status: 'running' });
  assert.equal(a[0].status, 'running');
  assert.equal(a[1], runs[1], 'other rows are untouched');
  const b = applyRunEvent(a, {
    type: 'train.progress',
    runId: 2,
    phase: 'joint',
    epoch: 3,
    epochs: 5,
    step: 1,
    steps: 4,
    etaSeconds: 10,
  });
  assert.deepEqual([b[0].status, b[0].phase, b[0].epoch], ['running', 'joint', 3]);
  assert.equal(applyRunEvent(b, { type: 'run.status', runId: 2, status: 'running' }), b, 'no change');
  const c = applyRunEvent(b, { type: 'train.finished', runId: 2, status: 'failed', error: 'out of memory' });
  assert.deepEqual([c[0].status, c[0].error], ['failed', 'out of memory']);
  assert.equal(applyRunEvent(c, { type: 'run.status', runId: 99, status: 'running' }), c, 'unknown run');
  // A step from a run the list still shows as queued (an event missed during a reload) means it runs.
  const d = applyRunEvent([run(5, 'queued')], {
    type: 'train.progress',
    runId: 5,
    phase: 'classifier',
    epoch: 1,
    epochs: 1,
    step: 1,
    steps: 1,
    etaSeconds: null,
  });
  assert.equal(d[0].status, 'running');
});

test('the viewer leaves cancelled runs out unless asked, but keeps the selected one', () => {
  const runs = [run(4, 'cancelled'), run(3, 'done'), run(2, 'cancelled'), run(1, 'done', 2)];
  assert.deepEqual(
    viewerRuns(runs, 1, false, null).map((r) => r.id),
    [3],
  );
  assert.deepEqual(
    viewerRuns(runs, 1, true, null).map((r) => r.id),
    [4, 3, 2],
  );
  assert.deepEqual(
    viewerRuns(runs, 1, false, 2).map((r) => r.id),
    [3, 2],
  );
  assert.deepEqual(
    ['queued', 'running', 'done', 'failed', 'cancelled'].map((s) => resumable({ status: s })),
    [false, false, false, true, true],
  );
});

test('jobs: newest first, replaced by id; progress line with ETA; outcome of each kind', () => {
  let list = upsertJob([], job(1, { status: 'done' }));
  list = upsertJob(list, job(3));
  list = upsertJob(list, job(2, { status: 'queued' }));
  list = upsertJob(list, job(3, { status: 'cancelled' }));
  assert.deepEqual(
    list.map((j) => [j.id, j.status]),
    [
      [3, 'cancelled'],
      [2, 'queued'],
      [1, 'done'],
    ],
  );
  const running = job(7, { progress: { done: 12, total: 48, stage: 'explain gradcam' }, etaSeconds: 63 });
  assert.equal(jobLine(running), '12 / 48 · explain gradcam · ETA 1 min 03 s');
  assert.equal(jobFraction(running), 0.25);
  assert.equal(jobFraction(job(8)), null);
  assert.equal(jobLine(job(8, { status: 'queued' })), 'waiting for the running job');
  assert.equal(
    jobLine(job(9, { status: 'failed', error: 'no run 4', progress: { done: 0, total: 10, stage: null } })),
    '0 / 10 · no run 4',
  );
  assert.equal(
    jobOutcome(job(10, { kind: 'export', status: 'done', result: { images: 12, outDir: '/tmp/x' } })),
    '12 images written to /tmp/x',
  );
  assert.equal(
    jobOutcome(
      job(11, {
        kind: 'explain',
        status: 'done',
        result: { methods: [{ method: 'gradcam', computed: 10, cached: 2 }] },
      }),
    ),
    'gradcam: 10 new, 2 cached',
  );
  assert.equal(jobOutcome(job(12, { kind: 'eval', status: 'running' })), null);
  assert.equal(
    jobOutcome(
      job(13, {
        kind: 'train',
        status: 'done',
        result: { runId: 4, status: 'done', epochs: 6, resumedAt: 'explainer epoch 2' },
      }),
    ),
    'run 4 done: 6 epochs, this attempt from explainer epoch 2 (see the Training screen)',
  );
  assert.equal(
    jobOutcome(
      job(14, {
        kind: 'train',
        status: 'done',
        result: { runId: 5, status: 'cancelled', epochs: 1, resumedAt: null },
      }),
    ),
    'run 5 cancelled: 1 epochs (see the Training screen)',
  );
});

test('the export form: a full path and the parts ticked', () => {
  const parts = { ratings: true, masks: false, explanations: true };
  assert.deepEqual(exportRequest(3, { outDir: ' /data/out ', parts }), {
    ok: true,
    req: { datasetId: 3, outDir: '/data/out', with: ['ratings', 'explanations'] },
  });
  assert.equal(exportRequest(3, { outDir: 'C:\\exports\\cue', parts }).ok, true);
  const rel = exportRequest(3, { outDir: 'out/cue', parts });
  assert.equal(rel.ok, false);
  assert.match(rel.ok ? '' : rel.message, /full path/);
  assert.deepEqual(exportRequest(3, { outDir: '  ', parts }), {
    ok: false,
    field: 'outDir',
    message: 'give the folder to export to',
  });
  assert.deepEqual(methodList('gradient, gradcam  lrp_epsilon'), ['gradient', 'gradcam', 'lrp_epsilon']);
  assert.equal(methodList(' , '), undefined);
});

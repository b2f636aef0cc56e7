import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { XwbEvent } from '../../src/api/contract.js';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { serveWorkbench } from '../../src/server/launch.js';
import { openStore, type Store } from '../../src/store/index.js';

let dir: string;
let store: Store;
let web: Awaited<ReturnType<typeof serveWorkbench>>['web'];
let datasetId: number;

async function call(
  method: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${web.url}api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${web.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Reads server-sent events until `stop` returns true (or the time limit passes). */
async function collectEvents(stop: (e: XwbEvent) => boolean, ms: number): Promise<XwbEvent[]> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), ms);
  const res = await fetch(`${web.url}events`, {
    headers: { authorization: `Bearer ${web.token}` },
    signal: ctrl.signal,
  });
  const events: XwbEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!frame.startsWith('data: ')) continue;
        const e = JSON.parse(frame.slice(6)) as XwbEvent;
        events.push(e);
        if (stop(e)) return events;
      }
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return events;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xwb-train-api-'));
  await generateDataset(join(dir, 'cue'), {
    images: 32,
    positives: 16,
    width: 32,
    height: 32,
    shapesPerImage: 3,
    colourCue: true,
    seed: 5,
  });
  store = openStore(join(dir, 'xwb.db'));
  datasetId = (await importDataset(store, join(dir, 'cue'), { name: 'cue' })).dataset.id;
  ({ web } = await serveWorkbench(store, { version: 'test', port: 0 }));
});

after(async () => {
  await web.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('train.start runs in a worker, streams progress and epoch events, and the run is recorded', async () => {
  const events = collectEvents((e) => e.type === 'train.finished', 120_000);
  const started = await call('train.start', {
    datasetId,
    model: 'classifier',
    size: 32,
    base: 4,
    epochs: [2, 0, 0],
    alpha: [1, 1, 1],
    batchSize: 8,
    engine: 'wasm',
  });
  assert.equal(started.status, 200, JSON.stringify(started.json));
  const runId = started.json.runId as number;
  const seen = await events;
  const finished = seen.find((e) => e.type === 'train.finished');
  assert.ok(finished && finished.type === 'train.finished', `no finished event in ${seen.length} events`);
  assert.equal(finished.runId, runId);
  assert.equal(finished.status, 'done');
  const epochs = seen.filter((e) => e.type === 'train.epoch');
  assert.equal(epochs.length, 2);
  const progress = seen.filter((e) => e.type === 'train.progress');
  assert.ok(progress.length >= 2, 'progress events per step');
  const last = progress.at(-1);
  assert.ok(last?.type === 'train.progress' && last.etaSeconds !== null && last.etaSeconds >= 0);
  const run = await call('runs.get', { runId });
  assert.equal(run.json.status, 'done');
  assert.equal((run.json.epochs as unknown[]).length, 2);
  assert.equal(run.json.engine, 'wasm');
});

test('a bad training form is refused next to its field, and nothing is started', async () => {
  const before = (await call('runs.list', {})).json as unknown as unknown[];
  const bad = await call('train.start', { datasetId, epochs: [1, 1], alpha: [1, 1, 1] });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error), /epochs/);
  const missing = await call('train.start', { datasetId: 999, epochs: [1, 0, 0], alpha: [1, 1, 1] });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.field, 'datasetId');
  const afterRuns = (await call('runs.list', {})).json as unknown as unknown[];
  assert.equal(afterRuns.length, before.length);
});

test('train.cancel of a run that is not running says so', async () => {
  const r = await call('train.cancel', { runId: 424242 });
  assert.equal(r.status, 200);
  assert.equal(r.json.cancelled, false);
});

test('fine-tuning through the API: initFrom + phases, a warning event the moment the map is white, kept in runs.get', async () => {
  const common = { datasetId, size: 32, base: 4, alpha: [1, 0.25, 0.9], batchSize: 8, engine: 'wasm' };
  const first = collectEvents((e) => e.type === 'train.finished', 120_000);
  const source = await call('train.start', {
    ...common,
    model: 'expclass',
    // The reference head starts white (BN β 3, tanh); the default sigmoid starts grey.
    faithful: true,
    batchNorm: true,
    epochs: [1, 5, 5],
    phases: ['classifier'],
  });
  assert.equal(source.status, 200, JSON.stringify(source.json));
  await first;
  const sourceId = source.json.runId as number;

  // An explainer that barely moves (lr 1e-6) stays white: the saturated warning, with advice, after epoch 1.
  const events = collectEvents((e) => e.type === 'train.finished', 120_000);
  const tuned = await call('train.start', {
    datasetId,
    initFrom: { runId: sourceId },
    phases: ['explainer'],
    epochs: [0, 1, 0],
    alpha: [1, 0.25, 0.9],
    lr: [1e-6, 1e-6, 1e-6],
    batchSize: 8,
    engine: 'wasm',
  });
  assert.equal(tuned.status, 200, JSON.stringify(tuned.json));
  const runId = tuned.json.runId as number;
  const seen = await events;
  const warning = seen.find((e) => e.type === 'train.warning');
  assert.ok(
    warning && warning.type === 'train.warning',
    `no warning in ${seen.map((e) => e.type).join(', ')}`,
  );
  assert.deepEqual(
    [warning.runId, warning.phase, warning.epoch, warning.code],
    [runId, 'explainer', 1, 'saturated'],
  );
  assert.match(warning.message, /not selecting anything/);
  assert.match(warning.advice, /--l1/);
  const epochAt = seen.findIndex((e) => e.type === 'train.epoch' && e.runId === runId);
  assert.ok(
    seen.indexOf(warning) > epochAt && seen.at(-1)!.type === 'train.finished',
    'reported during the run',
  );
  const run = (await call('runs.get', { runId })).json as unknown as {
    config: { initFrom: unknown; model: { base: number } };
    epochs: { phase: string }[];
    warnings: { code: string; message: string }[];
  };
  assert.deepEqual(run.config.initFrom, { run: sourceId, checkpoint: 'best' });
  assert.equal(run.config.model.base, 4, 'the model comes from the source');
  assert.deepEqual(
    run.epochs.map((e) => e.phase),
    ['explainer'],
  );
  assert.deepEqual(
    run.warnings.map((w) => [w.code, w.message]),
    [['saturated', warning.message]],
  );

  // Refused next to the field: a missing source, a model that differs from the source's.
  const missing = await call('train.start', { ...common, initFrom: { runId: 4242 }, epochs: [0, 1, 0] });
  assert.equal(missing.status, 400);
  assert.equal(missing.json.field, 'initFrom');
  assert.match(String(missing.json.error), /no run 4242/);
  const conflict = await call('train.start', {
    ...common,
    base: 8,
    initFrom: { runId: sourceId },
    epochs: [0, 1, 0],
  });
  assert.equal(conflict.status, 400);
  assert.match(String(conflict.json.error), /model\.base is 8, but run \d+ \(initFrom\) was trained with 4/);
  const phases = await call('train.start', {
    ...common,
    model: 'xcnn',
    phases: ['explainer'],
    epochs: [0, 1, 1],
  });
  assert.equal(phases.status, 400);
  assert.equal(phases.json.field, 'phases');
});

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

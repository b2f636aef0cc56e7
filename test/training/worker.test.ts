import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTraining } from '../../src/training/background.js';
import type { TrainEvent } from '../../src/training/events.js';
import { type Fixture, syntheticStore, tinyConfig } from './helpers.js';

let fx: Fixture;

before(async () => {
  fx = await syntheticStore({ images: 48, seed: 11 });
});

after(() => fx.done());

test('the worker trains off the main thread: start, progress events, done', async () => {
  const handle = startTraining(
    fx.dbPath,
    tinyConfig(fx.datasetId, { phases: { classifier: { epochs: 2, optimizer: 'adam', lr: 0.003 } } }),
    { engine: 'wasm' },
  );
  const events: TrainEvent[] = [];
  for await (const e of handle.iterate()) events.push(e);
  const result = await handle.result;
  const runId = await handle.runId;
  assert.equal(result.runId, runId);
  assert.equal(result.status, 'done');
  assert.equal(result.engine, 'wasm');
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'start');
  assert.equal(types.at(-1), 'done');
  for (const t of ['load', 'phase', 'step', 'epoch'] as const) assert.ok(types.includes(t), `a ${t} event`);
  const steps = events.filter((e) => e.type === 'step');
  assert.equal(steps.length, 2 * Math.ceil(36 / 16), 'one step event per batch (36 training images)');
  assert.equal(events.filter((e) => e.type === 'epoch').length, 2);
  // The worker's writes are in the file this thread reads.
  assert.equal(fx.store.runs.get(runId)!.status, 'done');
  assert.equal(fx.store.runs.epochs(runId).length, 2);
});

test('cancel() stops the worker after its current step; the run is marked cancelled', async () => {
  const handle = startTraining(
    fx.dbPath,
    tinyConfig(fx.datasetId, { phases: { classifier: { epochs: 50 } } }),
    { engine: 'wasm' },
  );
  handle.events.on('event', (e) => {
    if (e.type === 'epoch' && e.epoch === 1) handle.cancel();
  });
  const result = await handle.result;
  assert.equal(result.status, 'cancelled');
  assert.ok(result.phases[0].epochs < 50);
  assert.equal(fx.store.runs.get(result.runId)!.status, 'cancelled');
});

test('a failure in the worker rejects the handle with the trainer’s message', async () => {
  const handle = startTraining(fx.dbPath, { datasetId: 4242 }, { engine: 'wasm' });
  await assert.rejects(handle.result, /no dataset with id 4242/);
  await assert.rejects(handle.runId, /no dataset with id 4242/);
});

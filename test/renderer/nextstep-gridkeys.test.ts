/** The gallery's next-step strip state and its keyboard moves, on the values the store and events give. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextStep, runFraction } from '../../renderer/src/lib/nextstep.js';
import { gridKeyTarget } from '../../renderer/src/lib/virtualgrid.js';
import type { RunView } from '../../src/api/contract.js';

const config = { phases: { classifier: { epochs: 4 }, explainer: { epochs: 3 }, joint: { epochs: 6 } } };
const run = (id: number, status: string, datasetId = 1): RunView => ({
  id,
  datasetId,
  model: 'expclass',
  status,
  engine: 'wasm',
  device: null,
  phase: null,
  epoch: null,
  error: status === 'failed' ? 'out of memory' : null,
  createdAt: '2026-01-01',
  config,
});

test('progress over all phases: epochs before this phase, then steps within it', () => {
  const p = (phase: string, epoch: number, step: number) => ({
    phase,
    epoch,
    epochs: 3,
    step,
    steps: 10,
    etaSeconds: 12,
  });
  assert.equal(runFraction(config, undefined), null);
  assert.equal(runFraction(config, p('classifier', 1, 0)), 0);
  assert.equal(runFraction(config, p('classifier', 2, 5)), 1.5 / 13);
  assert.equal(runFraction(config, p('explainer', 1, 10)), 5 / 13);
  assert.equal(runFraction(config, p('joint', 6, 10)), 1);
  assert.equal(runFraction({}, p('joint', 1, 1)), null);
});

test('the strip: training first, then the newest done run, then a failure, else untrained', () => {
  assert.deepEqual(nextStep(1, [], {}), { kind: 'untrained' });
  assert.deepEqual(nextStep(1, [run(1, 'done', 2)], {}), { kind: 'untrained' }, 'another dataset’s run');
  const training = nextStep(1, [run(3, 'running'), run(2, 'done')], {
    3: { phase: 'explainer', epoch: 2, epochs: 3, step: 5, steps: 10, etaSeconds: 8.4 },
  });
  assert.equal(training.kind, 'training');
  if (training.kind === 'training') {
    assert.equal(training.fraction, 5.5 / 13);
    assert.equal(training.text, 'explainer phase, epoch 2 of 3 · about 8 s left in this phase');
  }
  const waiting = nextStep(1, [run(3, 'running')], {});
  assert.equal(waiting.kind === 'training' && waiting.fraction, null);
  assert.deepEqual(nextStep(1, [run(4, 'failed'), run(2, 'done')], {}), {
    kind: 'trained',
    runId: 2,
    model: 'expclass',
  });
  assert.deepEqual(nextStep(1, [run(4, 'failed')], {}), { kind: 'failed', runId: 4, error: 'out of memory' });
});

test('grid keys: steps, rows, pages and ends, clamped to the list', () => {
  const k = (key: string, i: number) => gridKeyTarget(key, i, 5, 23, 3);
  assert.equal(k('ArrowRight', 0), 1);
  assert.equal(k('ArrowLeft', 0), 0);
  assert.equal(k('ArrowDown', 2), 7);
  assert.equal(k('ArrowDown', 20), 22, 'down from the last row lands on the last image');
  assert.equal(k('ArrowUp', 7), 2);
  assert.equal(k('ArrowUp', 3), 0);
  assert.equal(k('PageDown', 1), 16);
  assert.equal(k('PageUp', 16), 1);
  assert.equal(k('Home', 12), 0);
  assert.equal(k('End', 0), 22);
  assert.equal(k('a', 3), null);
  assert.equal(gridKeyTarget('ArrowRight', 0, 5, 0, 3), null);
});

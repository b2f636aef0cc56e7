import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint, EpochRecord } from '../../src/store/index.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { handOn, planResume } from '../../src/training/resume.js';

const config = resolveTrainConfig({
  datasetId: 1,
  phases: { classifier: { epochs: 4 }, explainer: { epochs: 3 }, joint: { epochs: 5 } },
});

function epoch(phase: string, n: number, metrics: Record<string, number> = {}): EpochRecord {
  return { runId: 1, phase, epoch: n, metrics: { val_loss: 1 / n, ...metrics }, seconds: 1, createdAt: '' };
}

let nextId = 1;
function cp(phase: string, n: number, isBest: boolean, valLoss = 1 / n): Checkpoint {
  return {
    id: nextId++,
    runId: 1,
    phase,
    epoch: n,
    path: `/runs/1/${phase}-${n}`,
    valLoss,
    isBest,
    createdAt: '',
  };
}

test('no checkpoint: start from scratch, copy nothing', () => {
  const plan = planResume(config, [epoch('classifier', 1)], []);
  assert.deepEqual(plan, {
    phaseIndex: 0,
    startEpoch: 1,
    startFrom: null,
    best: null,
    epochs: [],
    checkpoints: [],
  });
});

test('mid-phase: continue after the latest checkpoint, drop rows recorded after it, keep the best so far', () => {
  const best = cp('classifier', 2, true, 0.3);
  const latest = cp('classifier', 3, false, 0.4);
  const rows = [1, 2, 3, 4].map((n) => epoch('classifier', n));
  const plan = planResume(config, rows.slice(0, 3), [best, latest]);
  assert.equal(plan.phaseIndex, 0);
  assert.equal(plan.startEpoch, 4);
  assert.equal(plan.startFrom, latest);
  assert.deepEqual(plan.best, { epoch: 2, valLoss: 0.3 });
  const withExtra = planResume(config, rows, [best, latest]);
  assert.deepEqual(
    withExtra.epochs.map((e) => e.epoch),
    [1, 2, 3],
    'epoch 4 has no checkpoint: it is run again, so it is not copied',
  );
});

test('a phase that had ended hands its best on to the next phase', () => {
  const best = cp('classifier', 2, true);
  const end = cp('classifier', 3, false);
  const rows = [
    epoch('classifier', 1),
    epoch('classifier', 2),
    epoch('classifier', 3, { phase_end: 1, early_stop: 1 }),
  ];
  const plan = planResume(config, rows, [best, end]);
  assert.equal(plan.phaseIndex, 1);
  assert.equal(plan.startEpoch, 1);
  assert.equal(plan.startFrom, best);
  assert.equal(plan.best, null);
});

test('a phase whose every epoch was dead hands on what it was given', () => {
  const clsBest = cp('classifier', 4, true);
  const deadEnd = cp('explainer', 1, false);
  const rows = [
    epoch('classifier', 4, { phase_end: 1 }),
    epoch('explainer', 1, { phase_end: 1, dead_explainer: 1 }),
  ];
  const plan = planResume(config, rows, [clsBest, deadEnd]);
  assert.equal(plan.phaseIndex, 2);
  assert.equal(plan.startFrom, clsBest);
  assert.equal(handOn(['classifier', 'explainer', 'joint'], 0, []), null);
});

test('everything finished: nothing left to run', () => {
  const last = cp('joint', 5, true);
  const plan = planResume(config, [epoch('joint', 5)], [cp('classifier', 4, true), last]);
  assert.equal(plan.phaseIndex, 3);
  assert.equal(plan.startFrom, last);
});

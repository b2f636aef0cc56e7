/** The Training form's "supervise the explainer with marks" option, mapped onto the trainer's config. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateRequest } from '../../src/api/contract.js';
import { trainConfigFromRequest } from '../../src/api/training-handlers.js';
import { resolveTrainConfig } from '../../src/training/config.js';
import { MASK_SOURCES } from '../../src/training/data/masks.js';

const form = (extra: Record<string, unknown>) =>
  validateRequest('train.start', { datasetId: 1, epochs: [1, 1, 1], alpha: [1, 0, 0.5], ...extra });

test('ground-truth sources reach data.maskSource when γ > 0, and the trainer accepts them', () => {
  for (const source of ['gt-boxes', 'gt-mask'] as const) {
    const input = trainConfigFromRequest(form({ gamma: 2, maskSource: source }));
    assert.equal(input.data?.maskSource, source);
    const config = resolveTrainConfig(input);
    assert.equal(config.data.maskSource, source);
    assert.equal(config.loss.gamma, 2);
  }
  // Without a choice γ > 0 keeps the trainer's default (ground-truth boxes).
  assert.equal(resolveTrainConfig(trainConfigFromRequest(form({ gamma: 1 }))).data.maskSource, 'gt-boxes');
});

test('γ = 0 sends no mask source: masks no loss term uses are not loaded', () => {
  const input = trainConfigFromRequest(form({ gamma: 0, maskSource: 'gt-mask' }));
  assert.equal(input.data?.maskSource, undefined);
  assert.equal(resolveTrainConfig(input).data.maskSource, 'none');
});

test('human marks map through to the trainer, which accepts every source the form offers', () => {
  for (const source of ['annotator-boxes', 'regions', 'should-highlight', 'human'] as const) {
    assert.ok((MASK_SOURCES as readonly string[]).includes(source), `${source} is a trainer mask source`);
    const input = trainConfigFromRequest(form({ gamma: 1, maskSource: source }));
    assert.equal(input.data?.maskSource, source);
    assert.equal(resolveTrainConfig(input).data.maskSource, source);
  }
  assert.throws(() => form({ gamma: 1, maskSource: 'pixels' }), /maskSource/);
});

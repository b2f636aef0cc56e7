/** The one formatter of validation problems: zod issues from the real contract schemas become sentences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ApiError, validateRequest } from '../../src/api/contract.js';
import { fieldName, validationMessage } from '../../src/api/messages.js';

function refusal(method: Parameters<typeof validateRequest>[0], body: unknown): ApiError {
  try {
    validateRequest(method, body);
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e;
  }
  assert.fail(`${method} accepted ${JSON.stringify(body)}`);
}

const train = { datasetId: 1, epochs: [1, 1, 1], alpha: [1, 0.25, 0.9] };

test('bounds read as sentences, with the unit where the field has one', () => {
  const e = refusal('train.start', { ...train, size: 8 });
  assert.equal(e.message, 'size must be at least 16 px');
  assert.equal(e.field, 'size');
  assert.equal(e.status, 400);
  assert.equal(refusal('train.start', { ...train, size: 600 }).message, 'size must be at most 512 px');
  assert.equal(refusal('train.start', { ...train, batchSize: 0 }).message, 'batchSize must be at least 1');
});

test('list items are numbered from 1; types, choices, missing and unknown fields', () => {
  assert.equal(
    refusal('train.start', { ...train, alpha: [1, 2, 0.5] }).message,
    'alpha (item 2) must be at most 1',
  );
  assert.equal(
    refusal('train.start', { ...train, epochs: [1, 1.5, 1] }).message,
    'epochs (item 2) must be a whole number',
  );
  assert.equal(
    refusal('train.start', { ...train, model: 'vgg' }).message,
    'model must be "expclass", "xcnn" or "classifier"',
  );
  assert.equal(refusal('train.start', { datasetId: 1, alpha: [1, 1, 1] }).message, 'epochs is missing');
  assert.equal(
    refusal('train.start', { ...train, colour: true }).message,
    'the request has an unknown field "colour"',
  );
  assert.equal(refusal('images.list', { datasetId: 'one' }).message, 'datasetId must be a number');
  assert.equal(
    refusal('datasets.generate', { name: '', options: { images: 10, size: 32 } }).message,
    'name must not be empty',
  );
});

test('several problems: the first, and how many more', () => {
  const e = refusal('train.start', { ...train, size: 8, base: 1, batchSize: 0 });
  assert.equal(e.message, 'size must be at least 16 px (and 2 other problems)');
});

test('no zod wording or schema path leaks into a message', () => {
  for (const body of [
    { ...train, size: 'big' },
    { ...train, alpha: [] },
    { ...train, optimizer: 'rmsprop' },
  ]) {
    const m = refusal('train.start', body).message;
    assert.doesNotMatch(m, /Invalid input|Too small|Too big|expected .* received|train\.start:/, m);
  }
  assert.equal(fieldName(['box', 'x0']), 'box.x0');
  assert.equal(fieldName([]), 'the request');
  const gen = refusal('datasets.generate', { name: 'x', options: { images: 1, size: 32 } });
  assert.equal(gen.message, 'images must be at least 2');
  assert.equal(gen.field, 'options.images', 'the field path stays whole for the form');
  assert.equal(validationMessage([]), 'the request is not valid');
  const r = z.string().min(3).safeParse('ab');
  assert.equal(r.success, false);
  if (!r.success)
    assert.equal(validationMessage(r.error.issues), 'the request must have at least 3 characters');
});

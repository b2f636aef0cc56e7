/** The gallery's filter: the request each screen sends, the address it lives in, and the cell captions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { caption, listRequest, usesPredictions } from '../../renderer/src/lib/gallery.js';
import { DEFAULT_VIEW, parseViewHash, viewHash } from '../../renderer/src/lib/urlstate.js';
import type { ImageView } from '../../src/api/contract.js';

test('listRequest: run filters and sorts go with a run, and are left out without one', () => {
  const f = {
    label: 'cat',
    split: 'val',
    predicted: 1,
    correct: false,
    rating: 'low',
    sort: 'wrong',
  } as const;
  assert.deepEqual(listRequest(4, f, 9), {
    datasetId: 4,
    label: 'cat',
    split: 'val',
    rating: 'low',
    runId: 9,
    predicted: 1,
    correct: false,
    sort: 'wrong',
  });
  assert.deepEqual(listRequest(4, f, null), { datasetId: 4, label: 'cat', split: 'val', rating: 'low' });
  // Ratings need no run (every run's count), so neither does sorting by them.
  assert.deepEqual(listRequest(4, { sort: 'rating' }, null), { datasetId: 4, sort: 'rating' });
  assert.deepEqual(listRequest(4, { sort: 'path' }, 2), { datasetId: 4, runId: 2 });
  assert.equal(usesPredictions({ correct: true }), true);
  assert.equal(usesPredictions({ predicted: 0 }), true);
  assert.equal(usesPredictions({ sort: 'confidence' }), true);
  assert.equal(usesPredictions({ sort: 'rating', rating: 'flagged' }), false);
});

test('the filter and sort live in the address: round trip, defaults left out, bad values dropped', () => {
  const view = {
    ...DEFAULT_VIEW,
    screen: 'gallery' as const,
    datasetId: 2,
    runId: 5,
    filter: { predicted: 0, correct: true, rating: 'flagged' as const, sort: 'confidence' as const },
  };
  const h = viewHash(view);
  assert.equal(h, '#/gallery?d=2&pred=0&correct=1&rating=flagged&sort=confidence&run=5');
  assert.deepEqual(parseViewHash(h), view);
  assert.deepEqual(parseViewHash('#/gallery?d=2&correct=0').filter, { correct: false });
  assert.equal(viewHash({ ...view, filter: { sort: 'path' } }), '#/gallery?d=2&run=5');
  assert.deepEqual(parseViewHash('#/gallery?pred=-1&correct=yes&rating=great&sort=size').filter, {});
});

const item = (over: Partial<ImageView>): ImageView => ({
  id: 1,
  datasetId: 1,
  relPath: 'a.png',
  fileName: 'a.png',
  width: 8,
  height: 8,
  channels: 3,
  label: 'cat',
  split: 'val',
  url: '/files/image/1',
  thumbUrl: null,
  ...over,
});

test('captions: facts, then the prediction with a mark as well as a colour, then the rating', () => {
  assert.deepEqual(caption(item({})), { text: 'cat · val', prediction: '', tone: null, rating: '' });
  const wrong = caption(
    item({
      prediction: { classIndex: 1, className: 'dog', probability: 0.874, correct: false },
      rating: { mean: 2.25, count: 2, flagged: true },
    }),
  );
  assert.deepEqual(wrong, { text: 'cat · val', prediction: '✗ 87 % dog', tone: 'wrong', rating: '★ 2.3 ⚑' });
  const right = caption(
    item({
      label: null,
      split: null,
      prediction: { classIndex: 0, className: 'cat', probability: 1, correct: true },
    }),
  );
  assert.deepEqual(right, { text: '—', prediction: '✓ 100 % cat', tone: 'right', rating: '' });
  const unknown = caption(
    item({
      prediction: { classIndex: 0, className: 'cat', probability: 0.5, correct: null },
      rating: { mean: null, count: 1, flagged: true },
    }),
  );
  assert.deepEqual([unknown.prediction, unknown.tone, unknown.rating], ['50 % cat', 'unknown', '⚑']);
});

/** The view in the address: parse ∘ serialise is the identity, defaults stay out, bad values fall back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_OVERLAY,
  DEFAULT_VIEW,
  parseViewHash,
  type UrlView,
  viewHash,
} from '../../renderer/src/lib/urlstate.js';

const full: UrlView = {
  screen: 'image',
  datasetId: 3,
  filter: { label: 'triangle & co', split: 'val' },
  imageIndex: 41,
  runId: 7,
  overlay: {
    on: false,
    method: 'lrp_epsilon_plus',
    classIndex: 0,
    colormap: 'magma',
    normalisation: 'minmax',
    opacity: 0.35,
    thresholdOn: false,
    threshold: 0.5,
    contour: true,
    panels: true,
  },
};

test('a view survives serialise → parse, field by field', () => {
  const h = viewHash(full);
  assert.equal(
    h,
    '#/image?d=3&label=triangle+%26+co&split=val&i=41&run=7&m=lrp_epsilon_plus&ov=0&class=0&cm=magma&norm=minmax&op=0.35&th=0&t=0.5&contour=1&panels=1',
  );
  assert.deepEqual(parseViewHash(h), full);
  // And every screen, on its own.
  for (const screen of ['datasets', 'gallery', 'image', 'compare', 'training', 'review'] as const) {
    const v = { ...DEFAULT_VIEW, screen, datasetId: 1 };
    assert.deepEqual(parseViewHash(viewHash(v)), v);
  }
});

test('defaults are left out of the address', () => {
  assert.equal(viewHash(DEFAULT_VIEW), '#/datasets');
  assert.equal(viewHash({ ...DEFAULT_VIEW, screen: 'gallery', datasetId: 2 }), '#/gallery?d=2');
  assert.deepEqual(parseViewHash(''), DEFAULT_VIEW);
  assert.deepEqual(parseViewHash('#'), DEFAULT_VIEW);
});

test('slider values are rounded to three decimals in the address', () => {
  const v = { ...DEFAULT_VIEW, overlay: { ...DEFAULT_OVERLAY, opacity: 0.1 + 0.2 } };
  assert.equal(viewHash(v), '#/datasets?op=0.3');
  assert.equal(parseViewHash(viewHash(v)).overlay.opacity, 0.3);
});

test('unreadable values in a hand-edited link fall back to the defaults, the rest is kept', () => {
  const v = parseViewHash(
    '#/nowhere?d=0&i=-4&run=abc&cm=rainbow&norm=log&op=2&t=NaN&th=yes&split=holdout&class=-1&d=5',
  );
  assert.equal(v.screen, 'datasets');
  assert.equal(v.datasetId, null, 'the first d wins and 0 is no id');
  assert.equal(v.imageIndex, 0);
  assert.equal(v.runId, null);
  assert.deepEqual(v.filter, {});
  assert.equal(v.overlay.colormap, 'viridis');
  assert.equal(v.overlay.normalisation, 'auto');
  assert.equal(v.overlay.opacity, 0.6);
  assert.equal(v.overlay.threshold, 0.75);
  assert.equal(v.overlay.thresholdOn, true);
  assert.equal(v.overlay.classIndex, null);
  const kept = parseViewHash('gallery?d=9&i=12&m=gradcam');
  assert.equal(kept.screen, 'gallery');
  assert.equal(kept.datasetId, 9);
  assert.equal(kept.imageIndex, 12);
  assert.equal(kept.overlay.method, 'gradcam');
});

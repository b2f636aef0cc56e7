import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colormapLut, colourAt, legendGradient, lutIndex } from '../../renderer/src/lib/colormap.js';
import {
  colourise,
  decodeFloat32,
  finiteRange,
  keptFraction,
  normalise,
  rangeFor,
  sharedRange,
} from '../../renderer/src/lib/overlay.js';

test('viridis and magma match the published endpoints and midpoint', () => {
  // matplotlib _viridis_data[0], [128], [255] = (0.267004, 0.004874, 0.329415), (0.127568, 0.566949, 0.550556),
  // (0.993248, 0.906157, 0.143936), times 255 and rounded.
  assert.deepEqual(colourAt('viridis', 0), [68, 1, 84]);
  assert.deepEqual(colourAt('viridis', 128 / 256), [33, 145, 140]);
  assert.deepEqual(colourAt('viridis', 1), [253, 231, 37]);
  // _magma_data[0] = (0.001462, 0.000466, 0.013866), [255] = (0.987053, 0.991438, 0.749504).
  assert.deepEqual(colourAt('magma', 0), [0, 0, 4]);
  assert.deepEqual(colourAt('magma', 1), [252, 253, 191]);
  assert.deepEqual(colourAt('grey', 0.5), [128, 128, 128]);
  assert.equal(colormapLut('viridis').length, 768);
  assert.match(legendGradient('viridis'), /^linear-gradient\(to right, rgb\(68 1 84\) 0\.0%/);
});

test('values map to table entries with clamping; NaN shows as the bottom', () => {
  assert.equal(lutIndex(-3), 0);
  assert.equal(lutIndex(Number.NaN), 0);
  assert.equal(lutIndex(0.999), 255);
  assert.equal(lutIndex(7), 255);
  assert.equal(lutIndex(0.5), 128);
});

test('ranges: finite min/max, auto keeps [0,1] maps absolute, shared covers all', () => {
  assert.deepEqual(finiteRange([3, Number.NaN, -1, 2]), { lo: -1, hi: 3 });
  assert.equal(finiteRange([Number.NaN]), undefined);
  assert.deepEqual(rangeFor('auto', { lo: 0.1, hi: 0.8 }), { lo: 0, hi: 1 });
  assert.deepEqual(rangeFor('auto', { lo: -2, hi: 5 }), { lo: -2, hi: 5 });
  assert.deepEqual(rangeFor('map', { lo: 0.1, hi: 0.8 }), { lo: 0.1, hi: 0.8 });
  assert.deepEqual(rangeFor('absolute', { lo: -2, hi: 5 }), { lo: 0, hi: 1 });
  assert.deepEqual(sharedRange([{ lo: 0, hi: 1 }, undefined, { lo: -3, hi: 0.5 }]), { lo: -3, hi: 1 });
  assert.equal(normalise(5, { lo: 0, hi: 10 }), 0.5);
  assert.equal(normalise(-5, { lo: 0, hi: 10 }), 0);
  assert.equal(normalise(2, { lo: 2, hi: 2 }), 0, 'a flat map has no scale');
});

test('colourise: threshold to transparent, or to the floor colour for the thresholded panel', () => {
  const data = new Float32Array([0, 0.5, 0.75, 1]);
  const range = { lo: 0, hi: 1 };
  const px = colourise(data, { colormap: 'viridis', range, threshold: 0.75 });
  assert.deepEqual([...px.slice(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0], 'below 0.75 is transparent');
  assert.equal(px[11], 255, 'exactly at the threshold is kept');
  assert.deepEqual([...px.slice(12, 16)], [253, 231, 37, 255]);
  const floor = colourise(data, { colormap: 'viridis', range, threshold: 0.75, below: 'floor' });
  assert.deepEqual([...floor.slice(0, 4)], [68, 1, 84, 255]);
  const none = colourise(data, { colormap: 'grey', range, threshold: null });
  assert.deepEqual([...none.slice(4, 8)], [128, 128, 128, 255]);
  assert.equal(keptFraction(data, range, 0.75), 0.5);
});

test('decodeFloat32 reads little-endian floats and names a size mismatch', () => {
  const buf = new ArrayBuffer(8);
  new DataView(buf).setFloat32(0, 0.25, true);
  new DataView(buf).setFloat32(4, -2, true);
  assert.deepEqual([...decodeFloat32(buf, 2, 1)], [0.25, -2]);
  assert.throws(() => decodeFloat32(buf, 2, 2, 'gradcam map'), /gradcam map: got 8 bytes, expected 16/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colormapLut, colourAt, legendGradient, lutIndex } from '../../renderer/src/lib/colormap.js';
import { decodeFloat32 } from '../../renderer/src/lib/overlay/colourise.js';

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

test('decodeFloat32 reads little-endian floats and names a size mismatch', () => {
  const buf = new ArrayBuffer(8);
  new DataView(buf).setFloat32(0, 0.25, true);
  new DataView(buf).setFloat32(4, -2, true);
  assert.deepEqual([...decodeFloat32(buf, 2, 1)], [0.25, -2]);
  assert.throws(() => decodeFloat32(buf, 2, 2, 'gradcam map'), /gradcam map: got 8 bytes, expected 16/);
});

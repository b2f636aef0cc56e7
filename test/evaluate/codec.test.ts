import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { groundTruth, placeBoxes } from '../../src/evaluate/groundtruth.js';
import {
  decodeMap,
  encodeMap,
  fromHalfBits,
  keyParams,
  mapToImageResolution,
  toHalfBits,
} from '../../src/explain/store.js';
import { placeImage } from '../../src/training/data/placement.js';
import { rasteriseBoxes } from '../../src/training/data/raster.js';
import { mapToImage } from '../../src/training/predict.js';
import { Random } from '../../src/util/random.js';

test('float16 bits: known values, rounding to nearest even, overflow, subnormals, NaN', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest half
    [65519, 0x7bff], // rounds down to it
    [65520, 0x7c00], // the tie rounds to even: Infinity
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // exactly half of it: tie to even (0)
    [1.5 * 2 ** -25, 0x0001],
    [2 ** -14, 0x0400], // smallest normal
    [0.1, 0x2e66],
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: even (1+2^-9)
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
  ];
  for (const [v, bits] of cases) assert.equal(toHalfBits(v), bits, `toHalfBits(${v})`);
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN))));
  // Every finite half decodes and re-encodes to itself.
  for (let b = 0; b < 0x10000; b++) {
    const v = fromHalfBits(b);
    if (Number.isFinite(v)) assert.equal(toHalfBits(v), b === 0x8000 ? 0x8000 : b, `bits ${b.toString(16)}`);
  }
});

test('f16le-scaled round trip stays within max(|v|·2^-11, max|v|·2^-25) at any magnitude; f32le is exact', () => {
  const rng = new Random(7);
  for (const magnitude of [1e-9, 1e-6, 1, 300, 1e6]) {
    const data = new Float32Array(4096);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * magnitude * 10 ** rng.uniform(-6, 0);
    data[17] = 0;
    data[99] = -100 * magnitude; // the largest |v| comes back exactly
    let maxAbs = 0;
    for (const v of data) maxAbs = Math.max(maxAbs, Math.abs(v));
    const bytes = encodeMap(data, 'f16le-scaled');
    assert.equal(bytes.length, 4 + 2 * data.length, 'half the size of f32 (plus the scale)');
    const back = decodeMap(bytes, 'f16le-scaled', data.length);
    let worstRatio = 0;
    for (let i = 0; i < data.length; i++) {
      const bound = Math.max(Math.abs(data[i]) * 2 ** -11, maxAbs * 2 ** -25) * (1 + 1e-6);
      worstRatio = Math.max(worstRatio, Math.abs(back[i] - data[i]) / bound);
    }
    assert.ok(worstRatio <= 1, `magnitude ${magnitude}: error ${worstRatio} × the bound`);
    assert.equal(back[17], 0);
    assert.equal(back[99], data[99]);
    assert.deepEqual(decodeMap(encodeMap(data, 'f32le'), 'f32le', data.length), data);
  }
  const zeros = decodeMap(encodeMap(new Float32Array(9)), 'f16le-scaled', 9);
  assert.deepEqual(zeros, new Float32Array(9));
});

test('decodeMap refuses wrong lengths and unknown encodings, naming the problem', () => {
  assert.throws(
    () => decodeMap(Buffer.alloc(10), 'f32le', 4, 'explanation 3'),
    /explanation 3: f32le data of 10 bytes/,
  );
  assert.throws(() => decodeMap(Buffer.alloc(10), 'f16le-scaled', 4), /expected 12/);
  assert.throws(() => decodeMap(Buffer.alloc(8), 'png', 2), /encoding "png" is not one xwb can decode/);
});

test('keyParams: defaults filled in, batchSize dropped, unknown keys refused', () => {
  const defaults = { batchSize: 8, mode: 'abs', reduce: 'max' };
  assert.deepEqual(keyParams(defaults, {}, 'gradient'), { mode: 'abs', reduce: 'max' });
  assert.deepEqual(keyParams(defaults, { batchSize: 2, reduce: 'sum' }, 'gradient'), {
    mode: 'abs',
    reduce: 'sum',
  });
  assert.throws(
    () => keyParams(defaults, { steps: 3 }, 'gradient'),
    /explain gradient: unknown parameter 'steps'/,
  );
});

test('maps go back to the image exactly as tf.image.resizeBilinear (half-pixel centres) after cropping', () => {
  const rng = new Random(3);
  for (const [w, h, mode] of [
    [48, 32, 'letterbox'],
    [48, 32, 'stretch'],
    [20, 75, 'letterbox'],
    [32, 32, 'stretch'],
    [7, 5, 'stretch'],
  ] as const) {
    const p = placeImage(w, h, 16, mode);
    const map = Float32Array.from({ length: 256 }, () => rng.normal());
    const before = tf.memory().numTensors;
    const t = tf.tensor2d(map, [16, 16]);
    const reference = mapToImage(t, p);
    t.dispose();
    assert.equal(tf.memory().numTensors, before);
    const ours = mapToImageResolution(map, p);
    assert.equal(ours.length, w * h);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - reference[i]));
    assert.ok(worst < 1e-5, `${w}×${h} ${mode}: max difference ${worst}`);
  }
  // Same size: the identity.
  const map = Float32Array.from({ length: 64 }, (_, i) => i);
  assert.deepEqual(mapToImageResolution(map, placeImage(8, 8, 8, 'letterbox')), map);
});

test('ground truth at the input: the same pixels as the training masks, boxes scaled by the placement', () => {
  const boxes = [
    { x0: 3, y0: 2, x1: 20, y1: 15 },
    { x0: 30, y0: 10, x1: 47, y1: 32 },
  ];
  for (const mode of ['letterbox', 'stretch'] as const) {
    const p = placeImage(48, 32, 32, mode);
    const gt = groundTruth(boxes, p);
    assert.deepEqual(gt.mask.data, rasteriseBoxes(boxes, p), mode);
    assert.equal(gt.mask.width, 32);
  }
  const p = placeImage(48, 32, 32, 'letterbox'); // content 32×21 at y 5: scale 2/3
  const [b] = placeBoxes([{ x0: 3, y0: 3, x1: 48, y1: 32 }], p);
  assert.deepEqual(b, { x0: 2, y0: 5 + 3 * (21 / 32), x1: 32, y1: 5 + 21 });
});

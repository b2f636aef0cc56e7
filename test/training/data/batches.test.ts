import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tf } from '../../../src/engine/tf.js';
import { type Batch, batchCount, batches, forEachBatch } from '../../../src/training/data/batches.js';
import { type ImageSetData, loadSplit } from '../../../src/training/data/load.js';
import { type Fixture, syntheticFixture } from './fixture.js';

const S = 32;
let fx: Fixture;
let data: ImageSetData;

before(async () => {
  await tf.setBackend('cpu');
  fx = await syntheticFixture();
  data = await loadSplit(fx.store, fx.dataset.id, 'train', { size: S, maskSource: 'gt-boxes' });
});
after(() => fx.done());

function collect(opts: Parameters<typeof batches>[1]): number[][] {
  const out: number[][] = [];
  for (const b of batches(data, opts)) {
    out.push(b.indices);
    b.dispose();
  }
  return out;
}

test('batch shapes, dtypes and contents; the last partial batch is kept unless dropped', () => {
  const start = tf.memory().numTensors;
  const sizes: number[] = [];
  for (const b of batches(data, { batchSize: 8 })) {
    sizes.push(b.indices.length);
    const n = b.indices.length;
    assert.deepEqual(b.x.shape, [n, S, S, 3]);
    assert.equal(b.x.dtype, 'float32');
    assert.deepEqual(b.y.shape, [n]);
    assert.equal(b.y.dtype, 'int32');
    assert.deepEqual(b.masks?.shape, [n, S, S, 1]);
    assert.deepEqual(
      Array.from(b.y.dataSync()),
      b.indices.map((i) => data.items[i].label),
    );
    assert.deepEqual(
      b.imageIds,
      b.indices.map((i) => data.items[i].imageId),
    );
    assert.deepEqual(
      b.maskPresent,
      b.indices.map((i) => data.items[i].mask !== null),
    );
    const x = b.x.dataSync();
    const m = b.masks!.dataSync();
    b.indices.forEach((idx, row) => {
      assert.deepEqual(x.subarray(row * S * S * 3, (row + 1) * S * S * 3), data.items[idx].pixels);
      const mask = data.items[idx].mask ?? new Uint8Array(S * S);
      assert.deepEqual(Array.from(m.subarray(row * S * S, (row + 1) * S * S)), Array.from(mask));
    });
    b.dispose();
    b.dispose(); // twice is harmless
  }
  assert.deepEqual(sizes, [8, 8, 2]);
  assert.deepEqual(
    collect({ batchSize: 8, dropLast: true }).map((b) => b.length),
    [8, 8],
  );
  assert.equal(batchCount(18, 8), 3);
  assert.equal(batchCount(18, 8, true), 2);
  assert.deepEqual(
    collect({ batchSize: 5 }).flat(),
    Array.from({ length: 18 }, (_, i) => i),
  );
  assert.equal(tf.memory().numTensors, start);
});

test('shuffling is reproducible for the same seed and epoch and differs between epochs', () => {
  const a = collect({ batchSize: 4, shuffle: true, seed: 11, epoch: 0 });
  assert.deepEqual(collect({ batchSize: 4, shuffle: true, seed: 11, epoch: 0 }), a);
  const b = collect({ batchSize: 4, shuffle: true, seed: 11, epoch: 1 });
  assert.notDeepEqual(b.flat(), a.flat());
  for (const order of [a.flat(), b.flat()]) {
    assert.deepEqual(
      [...order].sort((p, q) => p - q),
      Array.from({ length: 18 }, (_, i) => i),
    );
  }
  // The order does not depend on the batch size.
  assert.deepEqual(collect({ batchSize: 7, shuffle: true, seed: 11, epoch: 0 }).flat(), a.flat());
  assert.throws(() => batches(data, { batchSize: 4, shuffle: true }), /seed: required/);
  assert.throws(() => batches(data, { batchSize: 0 }), /batchSize: expected an integer >= 1/);
});

test('flipping mirrors image and mask together, decided by the seeded RNG', () => {
  const seen = { flipped: 0, kept: 0, flippedWithMask: 0 };
  const run = (): boolean[][] => {
    const flips: boolean[][] = [];
    for (const b of batches(data, { batchSize: 6, shuffle: true, seed: 5, epoch: 2, flip: true })) {
      flips.push(b.flipped);
      const x = b.x.dataSync();
      const m = b.masks!.dataSync();
      b.indices.forEach((idx, row) => {
        const item = data.items[idx];
        const f = b.flipped[row];
        if (f) seen.flipped++;
        else seen.kept++;
        if (f && item.mask) seen.flippedWithMask++;
        for (let r = 0; r < S; r++) {
          for (let c = 0; c < S; c++) {
            const srcC = f ? S - 1 - c : c;
            const got = (row * S * S + r * S + c) * 3;
            const src = (r * S + srcC) * 3;
            for (let k = 0; k < 3; k++) assert.equal(x[got + k], item.pixels[src + k]);
            assert.equal(m[row * S * S + r * S + c], item.mask ? item.mask[r * S + srcC] : 0);
          }
        }
      });
      b.dispose();
    }
    return flips;
  };
  const first = run();
  assert.deepEqual(run(), first);
  assert.ok(seen.flipped > 0 && seen.kept > 0 && seen.flippedWithMask > 0, JSON.stringify(seen));
  // An asymmetric mask really moves: its flipped copy differs from the original.
  const asymmetric = data.items.find((i) =>
    i.mask?.some((v, p) => v !== i.mask![p - (p % S) + S - 1 - (p % S)]),
  );
  assert.ok(asymmetric, 'some positive image has a box off the vertical centre line');
});

test('tensors: the count returns to its start after iterating and disposing; forEachBatch disposes on throw', async () => {
  const start = tf.memory().numTensors;
  let seen = 0;
  const n = await forEachBatch(data, { batchSize: 4, shuffle: true, seed: 1, flip: true }, (b: Batch) => {
    seen += b.indices.length;
    assert.ok(tf.memory().numTensors > start);
  });
  assert.equal(n, 5);
  assert.equal(seen, 18);
  assert.equal(tf.memory().numTensors, start);
  await assert.rejects(
    forEachBatch(data, { batchSize: 4 }, () => {
      throw new Error('step failed');
    }),
    /step failed/,
  );
  assert.equal(tf.memory().numTensors, start);
  // A set loaded without masks gives no mask tensor.
  const plain = await loadSplit(fx.store, fx.dataset.id, 'val', { size: 8 });
  await forEachBatch(plain, { batchSize: 4 }, (b) => {
    assert.equal(b.masks, undefined);
    assert.ok(b.maskPresent.every((p) => !p));
  });
  assert.equal(tf.memory().numTensors, start);
});

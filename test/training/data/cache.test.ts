import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DecodeCache, type DecodeVariant, variantTag } from '../../../src/training/data/cache.js';
import { decodeImage, type ImageDecoder } from '../../../src/training/data/decode.js';
import { loadSplit } from '../../../src/training/data/load.js';
import { type Fixture, syntheticFixture } from './fixture.js';

let fx: Fixture;
before(async () => {
  fx = await syntheticFixture();
});
after(() => fx.done());

function counting(): { decoder: ImageDecoder; count: () => number } {
  let n = 0;
  return {
    decoder: async (req) => {
      n++;
      return decodeImage(req);
    },
    count: () => n,
  };
}

function f32Files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.f32'));
}

const SHA = 'ab'.repeat(32);
const VARIANT: DecodeVariant = { size: 2, resize: 'stretch', kernel: 'linear', padValue: 1 };

test('a shared cache decodes each image once: a second load (another epoch, another run) decodes nothing', async () => {
  const cache = new DecodeCache();
  const c = counting();
  const first = await loadSplit(fx.store, fx.dataset.id, 'train', { size: 32, cache, decoder: c.decoder });
  assert.equal(c.count(), 18);
  const second = await loadSplit(fx.store, fx.dataset.id, 'train', { size: 32, cache, decoder: c.decoder });
  assert.equal(c.count(), 18);
  for (const [i, item] of second.items.entries()) assert.equal(item.pixels, first.items[i].pixels);
  // Another size is another entry.
  await loadSplit(fx.store, fx.dataset.id, 'train', { size: 16, cache, decoder: c.decoder });
  assert.equal(c.count(), 36);
  assert.deepEqual(
    { ...cache.stats(), maxBytes: 0 },
    {
      entries: 36,
      bytes: 18 * (32 * 32 + 16 * 16) * 3 * 4,
      maxBytes: 0,
      memoryHits: 18,
      diskHits: 0,
      decodes: 36,
      evictions: 0,
      diskErrors: 0,
    },
  );
});

test('persistent cache files are written atomically and reused by a new process (a new cache)', async () => {
  const dir = path.join(fx.dir, 'cache-persist');
  const a = counting();
  const first = await loadSplit(fx.store, fx.dataset.id, 'val', {
    size: 24,
    cache: new DecodeCache({ dir }),
    decoder: a.decoder,
  });
  assert.equal(a.count(), 6);
  const files = f32Files(dir);
  assert.equal(files.length, 6);
  assert.ok(files.every((f) => f.endsWith(`.${variantTag({ ...VARIANT, size: 24 })}.f32`)));
  assert.ok(fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).every((f) => !f.endsWith('.tmp')));
  const item = first.items[0];
  assert.equal(
    fs.statSync(path.join(dir, item.sha256.slice(0, 2), `${item.sha256}.v1-24px-stretch-linear.f32`)).size,
    24 * 24 * 3 * 4,
  );

  const b = counting();
  const fresh = new DecodeCache({ dir });
  const second = await loadSplit(fx.store, fx.dataset.id, 'val', {
    size: 24,
    cache: fresh,
    decoder: b.decoder,
  });
  assert.equal(b.count(), 0);
  assert.equal(fresh.stats().diskHits, 6);
  for (const [i, it] of second.items.entries()) assert.deepEqual(it.pixels, first.items[i].pixels);
});

test('a truncated cache file is ignored and rewritten', async () => {
  const dir = path.join(fx.dir, 'cache-truncated');
  const cache = new DecodeCache({ dir });
  const file = cache.filePath(SHA, VARIANT)!;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.alloc(10));
  let calls = 0;
  const pixels = new Float32Array([0, 0.25, 0.5, 0.75, 1, 0, 0, 0, 0, 0, 0, 0.125]);
  const got = await cache.get(SHA, VARIANT, async () => {
    calls++;
    return pixels;
  });
  assert.equal(calls, 1);
  assert.equal(got, pixels);
  const again = await new DecodeCache({ dir }).get(SHA, VARIANT, async () => {
    throw new Error('should come from disk');
  });
  assert.deepEqual(again, pixels);
});

test('the memory budget is respected (least recently used dropped); concurrent asks share one decode', async () => {
  const one = 2 * 2 * 3 * 4;
  const cache = new DecodeCache({ maxBytes: 2 * one });
  let calls = 0;
  const make = async () => {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    return new Float32Array(12);
  };
  const shas = ['01', '02', '03'].map((p) => p.repeat(32));
  const [x, y] = await Promise.all([cache.get(shas[0], VARIANT, make), cache.get(shas[0], VARIANT, make)]);
  assert.equal(calls, 1);
  assert.equal(x, y);
  await cache.get(shas[1], VARIANT, make);
  await cache.get(shas[0], VARIANT, make); // touch 0: now 1 is the least recently used
  await cache.get(shas[2], VARIANT, make);
  assert.equal(calls, 3);
  assert.deepEqual([cache.stats().entries, cache.stats().bytes, cache.stats().evictions], [2, 2 * one, 1]);
  await cache.get(shas[0], VARIANT, make);
  assert.equal(calls, 3);
  await cache.get(shas[1], VARIANT, make);
  assert.equal(calls, 4);

  // A failed decode is not cached, and the next ask tries again.
  await assert.rejects(
    cache.get('04'.repeat(32), VARIANT, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  await cache.get('04'.repeat(32), VARIANT, make);
  assert.equal(calls, 5);
  await assert.rejects(cache.get('xyz', VARIANT, make), /"xyz" is not a SHA-256 in hex/);
  await assert.rejects(
    cache.get('05'.repeat(32), VARIANT, async () => new Float32Array(3)),
    /decoder returned 3 values, expected 2×2×3/,
  );
  assert.throws(() => new DecodeCache({ maxBytes: -1 }), /maxBytes must be an integer number of bytes >= 0/);
});

test('a cache folder that cannot be written costs speed, not correctness', async () => {
  const blocker = path.join(fx.dir, 'not-a-folder');
  fs.writeFileSync(blocker, 'x');
  const cache = new DecodeCache({ dir: blocker });
  const got = await cache.get(SHA, VARIANT, async () => new Float32Array(12).fill(0.5));
  assert.equal(got[0], 0.5);
  // Both the read and the write failed (the "folder" is a file), and both were recorded.
  assert.equal(cache.stats().diskErrors, 2);
  assert.match(cache.stats().lastDiskError ?? '', /not-a-folder/);
});

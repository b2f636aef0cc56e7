import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBmp, isBmp } from '../../src/data/bmp.js';
import { openImage } from '../../src/data/open-image.js';

/** A BITMAPINFOHEADER BMP written by hand: bits 24 or 32 (BI_RGB), or 8 with a palette. */
function bmp(
  width: number,
  height: number,
  bits: 8 | 24 | 32,
  pixel: (x: number, y: number) => number[],
  topDown = false,
): Buffer {
  const stride = Math.ceil((width * bits) / 32) * 4;
  const paletteBytes = bits === 8 ? 256 * 4 : 0;
  const offset = 14 + 40 + paletteBytes;
  const buf = Buffer.alloc(offset + stride * height);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(topDown ? -height : height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bits, 28);
  if (bits === 8)
    for (let i = 0; i < 256; i++) buf.writeUInt32LE((i << 16) | ((255 - i) << 8) | (i >> 1), 54 + i * 4);
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      if (bits === 8) buf[row + x] = r;
      else {
        const o = row + x * (bits / 8);
        buf[o] = b;
        buf[o + 1] = g;
        buf[o + 2] = r;
      }
    }
  }
  return buf;
}

const colour = (x: number, y: number) => [10 * x, 20 * y, 7];

for (const bits of [24, 32] as const) {
  for (const topDown of [false, true]) {
    test(`decodes ${bits}-bit ${topDown ? 'top-down' : 'bottom-up'} pixels in reading order`, () => {
      const img = decodeBmp(bmp(5, 3, bits, colour, topDown), 'a.bmp');
      assert.equal(img.channels, 3);
      assert.deepEqual([img.width, img.height], [5, 3]);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 5; x++) {
          const o = (y * 5 + x) * 3;
          assert.deepEqual([...img.data.subarray(o, o + 3)], colour(x, y));
        }
      }
    });
  }
}

test('decodes an 8-bit palette image through its palette', () => {
  const img = decodeBmp(
    bmp(3, 2, 8, (x) => [x * 100, 0, 0]),
    'p.bmp',
  );
  // palette entry i is (r=i, g=255-i, b=i>>1), stored as BGRA
  assert.deepEqual([...img.data.subarray(3, 6)], [100, 155, 50]);
});

test('sharp reads the decoded pixels (sharp itself reads no BMP)', async () => {
  const { data, info } = await openImage(bmp(4, 4, 24, colour), 'c.bmp')
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [4, 4, 3]);
  assert.deepEqual([...data.subarray(0, 3)], colour(0, 0));
});

test('refuses truncated and unsupported files with the file name', () => {
  const full = bmp(8, 8, 24, colour);
  assert.throws(
    () => decodeBmp(full.subarray(0, full.length - 10), 'cut.bmp'),
    /cut\.bmp: .*cut short.*convert it to PNG/,
  );
  const rle = Buffer.from(full);
  rle.writeUInt32LE(1, 30);
  assert.throws(() => decodeBmp(rle, 'rle.bmp'), /rle\.bmp: .*compression 1/);
  assert.equal(isBmp(Buffer.from('PNG')), false);
});

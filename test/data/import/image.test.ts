import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { ImageReadError, probeImage, readBmpHeader } from '../../../src/data/image.js';
import { encodeBmp24, encodeImage, pixels, removeDir, sha256, tempDir, writeFile } from './fixtures.js';

const root = tempDir();
after(() => removeDir(root));

test('BMP headers: 24-bit bottom-up and top-down, 32-bit with and without an alpha mask', () => {
  const bmp = encodeBmp24(5, 3, pixels(5, 3, 3, 1));
  assert.deepEqual(readBmpHeader(bmp, 'a.bmp'), { width: 5, height: 3, channels: 3 });
  const topDown = Buffer.from(bmp);
  topDown.writeInt32LE(-3, 22);
  assert.deepEqual(readBmpHeader(topDown, 'a.bmp'), { width: 5, height: 3, channels: 3 });

  // BITMAPV4HEADER (108 bytes), 32 bits, BI_BITFIELDS with masks R, G, B, A.
  const v4 = Buffer.alloc(14 + 108 + 2 * 2 * 4);
  v4.write('BM', 0, 'latin1');
  v4.writeUInt32LE(v4.length, 2);
  v4.writeUInt32LE(14 + 108, 10);
  v4.writeUInt32LE(108, 14);
  v4.writeInt32LE(2, 18);
  v4.writeInt32LE(2, 22);
  v4.writeUInt16LE(1, 26);
  v4.writeUInt16LE(32, 28);
  v4.writeUInt32LE(3, 30);
  v4.writeUInt32LE(0x00ff0000, 54);
  v4.writeUInt32LE(0x0000ff00, 58);
  v4.writeUInt32LE(0x000000ff, 62);
  v4.writeUInt32LE(0xff000000, 66);
  assert.deepEqual(readBmpHeader(v4, 'v4.bmp'), { width: 2, height: 2, channels: 4 });
  v4.writeUInt32LE(0, 66);
  assert.equal(readBmpHeader(v4, 'v4.bmp')?.channels, 3);

  assert.equal(readBmpHeader(Buffer.from('\x89PNG'), 'x.png'), undefined);
});

test('a broken BMP is refused with the file name and the reason', () => {
  const bmp = encodeBmp24(8, 8, pixels(8, 8, 3, 2));
  const cases: [Buffer, RegExp][] = [
    [bmp.subarray(0, bmp.length - 10), /pixel data is cut short/],
    [bmp.subarray(0, 20), /shorter than a BMP header/],
    [Buffer.concat([bmp.subarray(0, 28), Buffer.from([7, 0]), bmp.subarray(30)]), /7 bits per pixel/],
  ];
  for (const [buf, reason] of cases) {
    assert.throws(
      () => readBmpHeader(buf, '/data/x.bmp'),
      (e: Error) =>
        e instanceof ImageReadError &&
        e.message.startsWith('/data/x.bmp: cannot read image') &&
        reason.test(e.message),
    );
  }
});

test('probeImage: a file cut short is refused even though its header is intact', async () => {
  for (const format of ['png', 'jpeg'] as const) {
    const full = await encodeImage(format, 64, 64, 3, 5);
    const file = path.join(root, `cut.${format}`);
    writeFile(file, full.subarray(0, full.length >> 1));
    await assert.rejects(
      probeImage(file),
      (e: Error) => e instanceof ImageReadError && e.message.startsWith(file),
    );
  }
  await assert.rejects(probeImage(path.join(root, 'absent.png')), /absent\.png: cannot read image: ENOENT/);
});

test('probeImage with a known earlier probe: same bytes skip decoding, changed bytes are decoded', async () => {
  const buf = await encodeImage('png', 6, 4, 3, 9);
  const file = path.join(root, 'known.png');
  writeFile(file, buf);
  const fresh = await probeImage(file);
  assert.deepEqual(fresh, {
    width: 6,
    height: 4,
    channels: 3,
    format: 'png',
    sha256: sha256(buf),
    bytes: buf.length,
  });
  // A known record with the same hash is trusted as it is (that is what makes re-imports cheap).
  const known = { width: 1, height: 1, channels: 1, format: 'png', sha256: fresh.sha256 };
  assert.deepEqual(await probeImage(file, { known }), { ...known, bytes: buf.length });
  const stale = { ...known, sha256: '0'.repeat(64) };
  assert.deepEqual(await probeImage(file, { known: stale }), fresh);
});

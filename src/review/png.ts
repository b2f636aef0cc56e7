/**
 * A small synchronous PNG writer for greyscale images (8 or 16 bits), used for should-highlight masks and exported
 * explanation maps. Synchronous on purpose: `rate()` writes the mask in the same transaction as the rating, and a
 * transaction cannot wait for sharp's asynchronous encoder. Output is deterministic (no time stamps, no gamma or
 * text chunks, filter 0, fixed zlib level), so the same pixels always give the same bytes.
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Greyscale PNG of `pixels` (row-major; Uint8Array → 8-bit, Uint16Array → 16-bit big-endian as PNG wants). */
export function encodeGreyPng(pixels: Uint8Array | Uint16Array, width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`encodeGreyPng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (pixels.length !== width * height) {
    throw new Error(`encodeGreyPng: ${pixels.length} pixels do not make a ${width}×${height} image`);
  }
  const depth = pixels instanceof Uint16Array ? 16 : 8;
  const bytes = depth / 8;
  const stride = width * bytes + 1;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    // Filter byte 0 (none) starts each row.
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x];
      const at = y * stride + 1 + x * bytes;
      if (depth === 16) raw.writeUInt16BE(v, at);
      else raw[at] = v;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = 0; // greyscale
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (per-row filter bytes)
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

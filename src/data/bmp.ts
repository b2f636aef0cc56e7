import sharp from 'sharp';

/**
 * Decoding BMP ourselves: sharp's bundled libvips reads no BMP at all, yet BMP is common in older medical and
 * microscopy datasets. Covers what such files use: uncompressed 24- and 32-bit pixels (BI_RGB, or BI_BITFIELDS
 * with the usual byte masks) and 8-bit palettes, stored bottom-up or top-down. Anything else is refused with a
 * message that says to convert the file.
 */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

function maskShift(mask: number): number {
  if (mask === 0) return -1;
  let s = 0;
  while (((mask >>> s) & 1) === 0) s++;
  return s;
}

export function decodeBmp(buf: Buffer, file: string): RawImage {
  const fail = (why: string): never => {
    throw new Error(`${file}: cannot decode BMP: ${why}; convert it to PNG`);
  };
  if (!isBmp(buf) || buf.length < 54) fail('not a BMP file or its header is cut short');
  const offset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (headerSize < 40) fail(`OS/2 header (size ${headerSize}) is not supported`);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  const bits = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  if (width <= 0 || height === 0) fail(`size ${width}x${height}`);
  if (compression !== 0 && !(compression === 3 && bits === 32)) fail(`compression ${compression}`);
  if (bits !== 8 && bits !== 24 && bits !== 32) fail(`${bits} bits per pixel`);
  const stride = Math.ceil((width * bits) / 32) * 4;
  if (offset + stride * height > buf.length) fail('its pixel data is cut short');

  let masks = { r: 0x00ff0000, g: 0x0000ff00, b: 0x000000ff, a: 0 };
  if (bits === 32 && compression === 3) {
    const at = headerSize >= 52 ? 14 + 40 : 14 + headerSize; // V4/V5 hold them in the header, else after it
    masks = { r: buf.readUInt32LE(at), g: buf.readUInt32LE(at + 4), b: buf.readUInt32LE(at + 8), a: 0 };
  }
  if (bits === 32 && headerSize >= 56) masks.a = buf.readUInt32LE(14 + 52);
  const channels: 3 | 4 = bits === 32 && masks.a !== 0 ? 4 : 3;
  let palette: Buffer | undefined;
  if (bits === 8) {
    const colours = buf.readUInt32LE(46) || 256;
    palette = buf.subarray(14 + headerSize, 14 + headerSize + colours * 4);
    if (palette.length < colours * 4) fail('its palette is cut short');
  }
  const out = Buffer.alloc(width * height * channels);
  const shifts = {
    r: maskShift(masks.r),
    g: maskShift(masks.g),
    b: maskShift(masks.b),
    a: maskShift(masks.a),
  };
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (bits === 24) {
        out[o] = buf[row + x * 3 + 2];
        out[o + 1] = buf[row + x * 3 + 1];
        out[o + 2] = buf[row + x * 3];
      } else if (bits === 32) {
        const v = buf.readUInt32LE(row + x * 4);
        out[o] = (v & masks.r) >>> shifts.r;
        out[o + 1] = (v & masks.g) >>> shifts.g;
        out[o + 2] = (v & masks.b) >>> shifts.b;
        if (channels === 4) out[o + 3] = (v & masks.a) >>> shifts.a;
      } else {
        const i = buf[row + x] * 4;
        if (i + 3 > palette!.length) fail(`pixel (${x}, ${y}) uses colour ${i / 4} beyond the palette`);
        out[o] = palette![i + 2];
        out[o + 1] = palette![i + 1];
        out[o + 2] = palette![i];
      }
    }
  }
  return { data: out, width, height, channels };
}

/** A sharp pipeline over any image file xwb accepts, BMP included. */
export function openImage(bytes: Buffer, file: string): ReturnType<typeof sharp> {
  if (!isBmp(bytes)) return sharp(bytes);
  const img = decodeBmp(bytes, file);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
}

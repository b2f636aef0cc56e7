/**
 * PNG encoding through sharp with fixed options and no metadata (sharp writes only IHDR, pHYs, IDAT, IEND), so
 * the same pixels always give the same bytes for a given sharp/libvips build.
 */
import sharp from 'sharp';

export async function encodePng(
  data: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
): Promise<Buffer> {
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: ${data.length} bytes do not make a ${width}x${height}x${channels} image`);
  }
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
    raw: { width, height, channels },
  });
  // Without this, sharp turns single-channel raw input into an RGB PNG.
  if (channels === 1) img = img.toColourspace('b-w');
  return img
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false, progressive: false })
    .toBuffer();
}

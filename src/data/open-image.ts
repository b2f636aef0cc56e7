/**
 * Opening a stored image file for decoding. Apart from bmp.ts so that the importer's reader threads, which prove
 * most files without sharp, do not load sharp until a file needs it.
 */
import sharp from 'sharp';
import { DECODE_FAIL_ON, DECODER_MAX_PIXELS, decodeBmp, isBmp } from './bmp.js';

/** A sharp pipeline over any image file xwb accepts, BMP included; larger than `maxPixels` is refused. */
export function openImage(
  bytes: Buffer,
  file: string,
  maxPixels = DECODER_MAX_PIXELS,
): ReturnType<typeof sharp> {
  if (!isBmp(bytes)) return sharp(bytes, { limitInputPixels: maxPixels, failOn: DECODE_FAIL_ON });
  const img = decodeBmp(bytes, file, maxPixels);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
}

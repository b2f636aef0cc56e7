/**
 * From decoded 8-bit pixels to the model's input layout: Float32, HWC, 3 channels, values in [0, 1]. Pure, so
 * the layout rules are tested without an image codec.
 */
import type { Placement } from './placement.js';

/**
 * Places `raw` (contentWidth×contentHeight, `channels` interleaved 8-bit samples, 1 = grey or 3 = RGB) into a
 * size×size×3 Float32Array at the placement's content rectangle. Grey is repeated into R, G and B. Pixels
 * outside the content rectangle (letterbox padding) get `padValue` in every channel.
 */
export function toInputPixels(
  raw: Uint8Array,
  channels: number,
  p: Placement,
  padValue: number,
): Float32Array {
  if (channels !== 1 && channels !== 3) {
    throw new Error(`expected 1 (grey) or 3 (RGB) channels after decoding, got ${channels}`);
  }
  const expected = p.contentWidth * p.contentHeight * channels;
  if (raw.length !== expected) {
    throw new Error(
      `decoded ${raw.length} samples, expected ${p.contentWidth}×${p.contentHeight}×${channels} = ${expected}`,
    );
  }
  if (!(padValue >= 0 && padValue <= 1)) throw new Error(`padValue must be in [0, 1], got ${padValue}`);
  const n = p.size;
  const out = new Float32Array(n * n * 3);
  const letterboxed = p.contentWidth !== n || p.contentHeight !== n;
  if (letterboxed) out.fill(padValue);
  for (let r = 0; r < p.contentHeight; r++) {
    let o = ((p.contentY + r) * n + p.contentX) * 3;
    let i = r * p.contentWidth * channels;
    for (let c = 0; c < p.contentWidth; c++, o += 3, i += channels) {
      if (channels === 3) {
        out[o] = raw[i] / 255;
        out[o + 1] = raw[i + 1] / 255;
        out[o + 2] = raw[i + 2] / 255;
      } else {
        const g = raw[i] / 255;
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
      }
    }
  }
  return out;
}

/**
 * Where a source image lands in the model's square input. Pure geometry, shared by the pixel decoder and the
 * mask rasteriser so that an image and its mask can never disagree about which source pixel an input pixel shows.
 *
 * Two ways to make a W×H image S×S:
 * - 'stretch' (default, what the reference code does with `cv2.resize(img, (S, S))`): the whole input is the image,
 *   scaled by S/W horizontally and S/H vertically; a non-square image is distorted.
 * - 'letterbox': the image is scaled by S/max(W, H) in both directions (aspect ratio kept), centred, and the
 *   rest of the input is padding (the pad value is chosen by the decoder). Padding pixels are never part of a mask.
 *
 * The sampling rule: input pixel (c, r) inside the content rectangle shows the source point at its centre,
 *   sx = (c − contentX + 0.5) · W / contentWidth,   sy = (r − contentY + 0.5) · H / contentHeight,
 * in the pixel-edge coordinates of src/data/types.ts. When S equals W and H this is the identity (sx = c + 0.5).
 */

export type ResizeMode = 'stretch' | 'letterbox';
export const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'letterbox'];

/** How a `srcWidth`×`srcHeight` image maps onto a `size`×`size` input. All numbers are integers. */
export interface Placement {
  size: number;
  srcWidth: number;
  srcHeight: number;
  /** The rectangle of the input that shows the image; outside it is padding (letterbox only). */
  contentX: number;
  contentY: number;
  contentWidth: number;
  contentHeight: number;
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
  return v;
}

export function placeImage(srcWidth: number, srcHeight: number, size: number, mode: ResizeMode): Placement {
  positiveInt(srcWidth, 'image width');
  positiveInt(srcHeight, 'image height');
  positiveInt(size, 'input size');
  if (mode === 'stretch') {
    return { size, srcWidth, srcHeight, contentX: 0, contentY: 0, contentWidth: size, contentHeight: size };
  }
  if (mode !== 'letterbox') {
    throw new Error(`resize mode must be one of ${RESIZE_MODES.join(', ')}, got "${String(mode)}"`);
  }
  const scale = size / Math.max(srcWidth, srcHeight);
  // At least one pixel, so a 1000×1 strip still shows up as a line.
  const contentWidth = Math.min(size, Math.max(1, Math.round(srcWidth * scale)));
  const contentHeight = Math.min(size, Math.max(1, Math.round(srcHeight * scale)));
  return {
    size,
    srcWidth,
    srcHeight,
    contentX: Math.floor((size - contentWidth) / 2),
    contentY: Math.floor((size - contentHeight) / 2),
    contentWidth,
    contentHeight,
  };
}

/**
 * For each input column, the source x-coordinate of its centre, or NaN for padding columns. (Rows: call with
 * the vertical fields.) Computed once per image so every mask source samples the same points.
 */
export function sampleCentres(size: number, contentStart: number, contentLength: number, srcLength: number) {
  const out = new Float64Array(size).fill(Number.NaN);
  for (let i = 0; i < contentLength; i++) out[contentStart + i] = ((i + 0.5) * srcLength) / contentLength;
  return out;
}

export function columnCentres(p: Placement): Float64Array {
  return sampleCentres(p.size, p.contentX, p.contentWidth, p.srcWidth);
}

export function rowCentres(p: Placement): Float64Array {
  return sampleCentres(p.size, p.contentY, p.contentHeight, p.srcHeight);
}

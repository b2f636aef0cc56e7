/**
 * Draws a laid-out image: composites each shape's raster, builds the target mask and the VOC objects.
 * Pure: the only randomness (noise) comes from the stream passed in.
 */
import type { Random } from '../../util/random.js';
import type { Box, VocObject } from '../types.js';
import type { LayoutItem } from './layout.js';
import type { ResolvedOptions, Rgb } from './options.js';
import { rasteriseShape, type ShapeRaster } from './raster.js';

export interface RenderedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Row-major, interleaved channels, height * width * channels. */
  pixels: Uint8Array;
  /** Row-major height * width: 1 where a pixel centre lies inside a drawn target, else 0. */
  mask: Uint8Array;
  /** Targets first, then (if annotated) the other shapes, each in drawing order. */
  objects: VocObject[];
  /** Targets with at least one mask pixel in the image. */
  visibleTargets: number;
}

/** ITU-R BT.601 luma, for grey images. */
function grey(c: Rgb): number {
  return Math.round(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]);
}

interface Clip {
  box: Box | null;
  truncated: boolean;
}

/** Bounding box of the touched (alpha > 0) pixels, clipped to the image, and whether any fell outside. */
function touchedBox(ras: ShapeRaster, width: number, height: number): Clip {
  let x0 = Number.POSITIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  let truncated = false;
  const { runs } = ras;
  for (let k = 0; k < runs.length; k += 3) {
    const y = runs[k];
    const iy = ras.y0 + y;
    for (let x = runs[k + 1]; x < runs[k + 2]; x++) {
      if (ras.alpha[y * ras.w + x] === 0) continue;
      const ix = ras.x0 + x;
      if (ix < 0 || iy < 0 || ix >= width || iy >= height) {
        truncated = true;
        continue;
      }
      if (ix < x0) x0 = ix;
      if (ix >= x1) x1 = ix + 1;
      if (iy < y0) y0 = iy;
      if (iy >= y1) y1 = iy + 1;
    }
  }
  return { box: x1 > x0 ? { x0, y0, x1, y1 } : null, truncated };
}

/** Source-over compositing in integers, so results do not depend on float rounding of the blend. */
function composite(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  ras: ShapeRaster,
  colour: readonly number[],
): void {
  const xs = Math.max(0, -ras.x0);
  const xe = Math.min(ras.w, width - ras.x0);
  const ys = Math.max(0, -ras.y0);
  const ye = Math.min(ras.h, height - ras.y0);
  const { runs } = ras;
  for (let k = 0; k < runs.length; k += 3) {
    const y = runs[k];
    if (y < ys || y >= ye) continue;
    for (let x = Math.max(xs, runs[k + 1]); x < Math.min(xe, runs[k + 2]); x++) {
      const a = ras.alpha[y * ras.w + x];
      if (a === 0) continue;
      const base = ((ras.y0 + y) * width + ras.x0 + x) * channels;
      for (let c = 0; c < channels; c++) {
        pixels[base + c] = Math.floor((pixels[base + c] * (255 - a) + colour[c] * a + 127) / 255);
      }
    }
  }
}

function markMask(mask: Uint8Array, width: number, height: number, ras: ShapeRaster): number {
  const xs = Math.max(0, -ras.x0);
  const xe = Math.min(ras.w, width - ras.x0);
  const ys = Math.max(0, -ras.y0);
  const ye = Math.min(ras.h, height - ras.y0);
  const { runs } = ras;
  let n = 0;
  for (let k = 0; k < runs.length; k += 3) {
    const y = runs[k];
    if (y < ys || y >= ye) continue;
    for (let x = Math.max(xs, runs[k + 1]); x < Math.min(xe, runs[k + 2]); x++) {
      if (ras.inside[y * ras.w + x] === 0) continue;
      mask[(ras.y0 + y) * width + ras.x0 + x] = 1;
      n++;
    }
  }
  return n;
}

/** Fills interleaved pixels with one colour by doubling copies (a per-pixel loop is most of a render). */
function fillColour(pixels: Uint8Array, colour: readonly number[]): void {
  if (pixels.length === 0) return;
  pixels.set(colour, 0);
  for (let n = colour.length; n < pixels.length; n *= 2)
    pixels.copyWithin(n, 0, Math.min(n, pixels.length - n));
}

function addNoise(pixels: Uint8Array, sigma: number, rng: Random): void {
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.round(pixels[i] + sigma * rng.normal());
    pixels[i] = Math.min(255, Math.max(0, v));
  }
}

export function renderImage(items: readonly LayoutItem[], o: ResolvedOptions, noise: Random): RenderedImage {
  const { width, height, channels } = o;
  const colourOf = (c: Rgb): number[] => (channels === 1 ? [grey(c)] : c);
  const bg = colourOf(o.background);
  const pixels = new Uint8Array(width * height * channels);
  fillColour(pixels, bg);
  const mask = new Uint8Array(width * height);
  const targets: VocObject[] = [];
  const others: VocObject[] = [];
  let visibleTargets = 0;

  for (const item of items) {
    // Containers are always outlines: a filled container would hide the shape inside it.
    const ras = rasteriseShape(item, { lineWidth: o.lineWidth, fill: item.role !== 'container' && o.fill });
    const isTarget = item.role === 'target';
    composite(
      pixels,
      width,
      height,
      channels,
      ras,
      colourOf(isTarget && o.colourCue ? o.targetColour : o.ink),
    );
    if (!isTarget && !o.annotateDistractors) continue;
    const { box, truncated } = touchedBox(ras, width, height);
    if (isTarget && markMask(mask, width, height, ras) > 0 && box) visibleTargets++;
    if (!box) continue; // nothing of it is in the image: no object to annotate
    const obj: VocObject = {
      name: isTarget ? o.targetName : item.shape.name,
      box,
      truncated,
      difficult: false,
    };
    (isTarget ? targets : others).push(obj);
  }
  if (o.noiseSigma > 0) addNoise(pixels, o.noiseSigma, noise);
  return { width, height, channels, pixels, mask, objects: [...targets, ...others], visibleTargets };
}

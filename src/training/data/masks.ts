/**
 * Per-image "where the object is" masks at the input size, for the hybrid loss (which skips images without
 * one). Sources:
 * - 'gt-boxes': the union of the image's ground-truth boxes of the dataset's target class, or of all its boxes
 *   when the dataset has no target class, rasterised by raster.ts.
 * - 'gt-mask': the image's ground-truth class mask (VOC SegmentationClass). Grey masks are class indices (the
 *   generator writes 0 = background, 1 = target): every value other than 0 and 255 (VOC's "void" border)
 *   counts. Colour and palette masks use the VOC devkit colour map: index 0 and the void colour are
 *   background; when the target class is one of VOC's 20 classes only its colour counts, otherwise every class
 *   colour does; a colour outside the map counts as object.
 * - 'annotator-boxes': the live boxes people drew in xwb (of the target class, or all of them when the dataset has
 *   no target class), rasterised like ground-truth boxes.
 * - 'regions': the region masks painted in xwb (any annotator) or restored from a rated export.
 * - 'should-highlight': the regions raters painted in reviews as "should have been highlighted".
 * - 'human': the union of the three above: every mark a person made.
 * - 'none': no masks.
 * The human sources are how ratings and marked regions supervise the explainer: only images somebody marked get
 * a mask, so only they contribute to the hybrid term.
 * With `highlightMasks`, every "should-highlight" mask people painted in xwb (any annotator; on = any channel
 * above 127 after transparent pixels are made black) is added to the union.
 * An image whose union is empty gets no mask (null): "nothing annotated" is not "nothing here".
 */
import { join } from 'node:path';
import sharp from 'sharp';
import type { Box, VocObject } from '../../data/types.js';
import {
  type Dataset,
  GROUND_TRUTH,
  type ImageRecord,
  type MaskRecord,
  type Store,
} from '../../store/index.js';
import { DataLoadError, readSourceFile } from './decode.js';
import type { Placement } from './placement.js';
import { countOn, rasteriseBoxes, resampleMask, unionInto } from './raster.js';

export type MaskSource =
  | 'gt-boxes'
  | 'gt-mask'
  | 'annotator-boxes'
  | 'regions'
  | 'should-highlight'
  | 'human'
  | 'none';
export const MASK_SOURCES: readonly MaskSource[] = [
  'gt-boxes',
  'gt-mask',
  'annotator-boxes',
  'regions',
  'should-highlight',
  'human',
  'none',
];

/** PASCAL VOC's classes in the order of their mask indices 1..20. */
export const VOC_CLASSES = [
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
] as const;

const VOID_INDEX = 255;

/** The VOC devkit's colour for mask index i (the bit-interleaving rule of its `labelcolormap.m`). */
export function vocColour(index: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  let c = index;
  for (let j = 0; j < 8; j++) {
    r |= (c & 1) << (7 - j);
    g |= ((c >> 1) & 1) << (7 - j);
    b |= ((c >> 2) & 1) << (7 - j);
    c >>= 3;
  }
  return [r, g, b];
}

const COLOUR_TO_INDEX = new Map<number, number>(
  Array.from({ length: 256 }, (_, i) => {
    const [r, g, b] = vocColour(i);
    return [(r << 16) | (g << 8) | b, i] as const;
  }),
);

/** Boxes that make the mask: the target class's, or all of them when the dataset has no target class. */
export function maskBoxes(objects: readonly VocObject[], targetClass: string | null): Box[] {
  return objects.filter((o) => targetClass === null || o.name === targetClass).map((o) => o.box);
}

/**
 * A source-resolution 0/1 mask from a decoded class mask (3 interleaved 8-bit channels). `colourMap` says the
 * file encodes classes as VOC colours rather than grey indices; `targetIndex` keeps only that class.
 */
export function classMaskPixels(rgb: Uint8Array, colourMap: boolean, targetIndex: number | null): Uint8Array {
  const n = Math.floor(rgb.length / 3);
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    let index: number | undefined;
    if (colourMap) index = COLOUR_TO_INDEX.get((rgb[j] << 16) | (rgb[j + 1] << 8) | rgb[j + 2]);
    else index = rgb[j];
    if (index === undefined)
      out[i] = 1; // a colour the map does not know: annotated, so object
    else if (index !== 0 && index !== VOID_INDEX && (targetIndex === null || index === targetIndex))
      out[i] = 1;
  }
  return out;
}

/** A 0/1 mask from a painted highlight (3 channels, alpha already composited on black). */
export function highlightPixels(rgb: Uint8Array): Uint8Array {
  const n = Math.floor(rgb.length / 3);
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    if (rgb[j] > 127 || rgb[j + 1] > 127 || rgb[j + 2] > 127) out[i] = 1;
  }
  return out;
}

interface DecodedMask {
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Channels stored in the file before conversion (1-2 grey, 3-4 colour), and whether it is a palette image. */
  storedChannels: number;
  palette: boolean;
}

async function decodeMask(m: MaskRecord, dataset: Dataset, image: ImageRecord): Promise<DecodedMask> {
  let bytes: Buffer;
  let where: string;
  if ('png' in m.content) {
    bytes = m.content.png;
    where = `${m.kind} mask of image ${image.relPath} (stored in the database)`;
  } else {
    const file = join(dataset.sourcePath ?? '', m.content.relPath);
    where = `${file} (${m.kind} mask of image ${image.relPath})`;
    bytes = await readSourceFile(file, `the ${m.kind} mask of image ${image.relPath}`);
  }
  try {
    const meta = await sharp(bytes).metadata();
    const { data, info } = await sharp(bytes)
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      storedChannels: meta.channels ?? 3,
      palette: meta.isPalette === true,
    };
  } catch (e) {
    throw new DataLoadError(`${where}: cannot decode mask: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkSize(d: DecodedMask, m: MaskRecord, image: ImageRecord): void {
  if (d.width !== image.width || d.height !== image.height) {
    throw new DataLoadError(
      `${m.kind} mask of image ${image.relPath} is ${d.width}×${d.height} but the image is ` +
        `${image.width}×${image.height}; fix or remove the mask and re-import`,
    );
  }
}

export interface MaskSpec {
  source: MaskSource;
  highlightMasks: boolean;
}

/** The image's mask at the input size, or null when the chosen sources annotate nothing on it. */
export async function buildMask(
  store: Store,
  dataset: Dataset,
  image: ImageRecord,
  placement: Placement,
  spec: MaskSpec,
): Promise<Uint8Array | null> {
  const out = new Uint8Array(placement.size * placement.size);
  if (spec.source === 'gt-boxes') {
    const objects = store.objects.list(image.id, { source: GROUND_TRUTH }).map((s) => s.object);
    unionInto(out, rasteriseBoxes(maskBoxes(objects, dataset.targetClass), placement));
  } else if (spec.source === 'gt-mask') {
    const m = store.masks.get(image.id, 'class', GROUND_TRUTH);
    if (m !== undefined) {
      const d = await decodeMask(m, dataset, image);
      checkSize(d, m, image);
      const colourMap = d.palette || d.storedChannels >= 3;
      const vocIndex = VOC_CLASSES.indexOf(dataset.targetClass as (typeof VOC_CLASSES)[number]);
      const targetIndex = colourMap && vocIndex >= 0 ? vocIndex + 1 : null;
      unionInto(out, resampleMask(classMaskPixels(d.rgb, colourMap, targetIndex), placement));
    }
  }
  const human = spec.source === 'human';
  if (human || spec.source === 'annotator-boxes') {
    const drawn = store.objects
      .list(image.id)
      .filter((s) => s.source.kind === 'annotator')
      .map((s) => s.object);
    unionInto(out, rasteriseBoxes(maskBoxes(drawn, dataset.targetClass), placement));
  }
  const kinds = new Set<string>();
  if (human || spec.source === 'regions') kinds.add('region');
  if (human || spec.source === 'should-highlight' || spec.highlightMasks) kinds.add('should-highlight');
  if (kinds.size > 0) {
    for (const m of store.masks.list(image.id)) {
      if (!kinds.has(m.kind)) continue;
      const d = await decodeMask(m, dataset, image);
      checkSize(d, m, image);
      unionInto(out, resampleMask(highlightPixels(d.rgb), placement));
    }
  }
  return countOn(out) > 0 ? out : null;
}

/**
 * Data types shared by the generator, the VOC reader/writer, import/export and the store.
 *
 * Coordinate convention (the one place it is defined):
 * - Inside xwb a box is in *pixel-edge* coordinates, 0-based, half-open: a box {x0, y0, x1, y1} covers the pixel
 *   columns x0 .. x1-1 and rows y0 .. y1-1, so its width is x1 - x0. Whole-pixel boxes have integer values;
 *   boxes read from files written by other tools may carry fractions, which are kept.
 * - PASCAL VOC files use the devkit's convention: 1-based, inclusive pixel indices. So
 *   `xmin = x0 + 1`, `xmax = x1` (and the same for y), and reading gives back `x0 = xmin - 1`, `x1 = xmax`.
 *   `src/data/voc/coords.ts` is the only code that converts.
 * - The writer writes integers (rounding x0/x1 to the nearest pixel edge); reading what we wrote gives back
 *   exactly the integer boxes we stored.
 */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A `<part>` of a VOC object (e.g. head, hand in VOC's person layout). */
export interface VocPart {
  name: string;
  box: Box;
}

export interface VocObject {
  name: string;
  box: Box;
  pose?: string;
  truncated?: boolean;
  difficult?: boolean;
  occluded?: boolean;
  parts?: VocPart[];
  /** Free `<attributes>`/unknown scalar children, kept so nothing a tool wrote is lost. */
  attributes?: Record<string, string>;
}

export interface ImageSize {
  width: number;
  height: number;
  depth: number;
}

export interface VocAnnotation {
  folder?: string;
  /** The image file name, always with its extension when written by xwb. */
  filename: string;
  path?: string;
  source?: { database?: string; annotation?: string; image?: string };
  /** Absent when the file had no `<size>`: the importer takes it from the image. */
  size?: ImageSize;
  segmented?: boolean;
  /** LabelImg's `verified="yes"` attribute on the root element. */
  verified?: boolean;
  objects: VocObject[];
}

/** A problem found while reading a file that did not stop the file from being read. */
export interface DataWarning {
  file: string;
  /** Which object, when the warning concerns one (0-based index in document order). */
  object?: number;
  message: string;
}

/** A split name as used by VOC's ImageSets/Main. */
export type SplitName = 'train' | 'val' | 'test' | 'trainval';

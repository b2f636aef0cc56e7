/**
 * Draws, encodes and writes the files of a range of a dataset's images. Synchronous on purpose: it runs in the
 * generator's worker threads (and in slices on the main thread), where blocking writes of small files cost less
 * than promises. Each image depends only on the options, its index and whether it is positive, so any split of
 * the range over threads writes the same files.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Random } from '../../util/random.js';
import type { VocAnnotation } from '../types.js';
import { formatVoc } from '../voc/write.js';
import { layoutImage } from './layout.js';
import type { ResolvedOptions, ShapeSet } from './options.js';
import { encodePng } from './png.js';
import { type RenderedImage, renderImage } from './render.js';

export function imageId(index: number, images: number): string {
  return String(index + 1).padStart(Math.max(6, String(images).length), '0');
}

/** Draws image `index` of the dataset; depends only on the options, the index and whether it is positive. */
export function drawImage(o: ResolvedOptions, sh: ShapeSet, index: number, positive: boolean): RenderedImage {
  const stream = new Random(o.seed).fork(`image:${index}`);
  const label = imageId(index, o.images);
  const layoutRng = stream.fork('layout');
  // Border occlusion can leave a target with no pixel inside the image; such layouts are redrawn (bounded).
  for (let attempt = 1; ; attempt++) {
    const items = layoutImage(layoutRng, o, sh, positive, label);
    const img = renderImage(items, o, stream.fork('noise'));
    if (!positive || img.visibleTargets === o.targetsPerPositive) return img;
    if (attempt >= 100) {
      throw new Error(
        `image ${label}: could not draw ${o.targetsPerPositive} visible target(s) in 100 layouts`,
      );
    }
  }
}

function annotationOf(img: RenderedImage, id: string): VocAnnotation {
  return {
    // Fixed folder and no <path>: the files must not depend on where the dataset is written.
    folder: 'JPEGImages',
    filename: `${id}.png`,
    source: { database: 'xwb synthetic' },
    size: { width: img.width, height: img.height, depth: img.channels },
    segmented: true,
    objects: img.objects,
  };
}

/**
 * Writes images [from, to) into the dataset folder `dir` (JPEGImages, SegmentationClass, Annotations, which
 * must exist) and returns, per image, the class names of its objects. `positive[i]` says whether image i shows
 * the target. An error names the image and the folder.
 */
export function writeImages(
  dir: string,
  o: ResolvedOptions,
  sh: ShapeSet,
  positive: ArrayLike<boolean | number>,
  from: number,
  to: number,
): string[][] {
  const classes: string[][] = [];
  for (let i = from; i < to; i++) {
    const id = imageId(i, o.images);
    // A drawing error (a layout that cannot be placed) names the image already.
    const img = drawImage(o, sh, i, Boolean(positive[i]));
    try {
      writeFileSync(
        path.join(dir, 'JPEGImages', `${id}.png`),
        encodePng(img.pixels, img.width, img.height, img.channels),
      );
      writeFileSync(
        path.join(dir, 'SegmentationClass', `${id}.png`),
        encodePng(img.mask, img.width, img.height, 1),
      );
      writeFileSync(path.join(dir, 'Annotations', `${id}.xml`), formatVoc(annotationOf(img, id)));
    } catch (e) {
      throw new Error(`writing image ${id} into ${dir}: ${(e as Error).message}`);
    }
    classes.push(img.objects.map((obj) => obj.name));
  }
  return classes;
}

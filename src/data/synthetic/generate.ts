/**
 * Writes a synthetic dataset in the PASCAL VOC devkit layout. The only module here with side effects.
 *
 * Layout of `outDir` (built in a temporary folder next to it and renamed into place at the end, so a reader
 * never sees half a dataset):
 *   JPEGImages/<id>.png            the images (VOC tools look in JPEGImages whatever the format)
 *   Annotations/<id>.xml           one <object> per target instance (and distractors if asked), every image
 *   SegmentationClass/<id>.png     target mask, 8-bit grey PNG: 0 = background, 1 = target (pixel centre inside
 *                                  the drawn target: its stroke, or its area when filled), from the geometry
 *   ImageSets/Main/{train,val,trainval,test}.txt and <class>_<split>.txt (1 / -1 per image)
 *   ImageSets/Segmentation/{train,val,trainval,test}.txt (every image has a mask)
 *   xwb-generator.json             generator version, resolved options (seed included), counts, classes
 * Ids are 1-based and zero-padded: 000001, 000002, ...
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Random } from '../../util/random.js';
import type { VocAnnotation } from '../types.js';
import { formatClassImageSet, formatImageSet } from '../voc/imagesets.js';
import { formatVoc } from '../voc/write.js';
import { layoutImage } from './layout.js';
import {
  type GeneratorOptions,
  parseShapes,
  type ResolvedOptions,
  resolveOptions,
  type ShapeSet,
} from './options.js';
import { encodePng } from './png.js';
import { type RenderedImage, renderImage } from './render.js';
import { choosePositives, PARTS, type PartName, stratifiedSplit } from './split.js';

/** Bump whenever the same options and seed would produce different files. */
export const GENERATOR_VERSION = 1;
export const GENERATOR_FILE = 'xwb-generator.json';
/** Images whose files are being encoded/written while the next ones are drawn. */
const IN_FLIGHT = 4;

export interface GenerateSummary {
  outDir: string;
  images: number;
  positives: number;
  negatives: number;
  splits: Record<PartName, { images: number; positives: number }>;
  /** Target class first, then annotated distractor classes (sorted). */
  classes: string[];
  elapsedMs: number;
}

export type ProgressFn = (done: number, total: number) => void;

export function imageId(index: number, images: number): string {
  return String(index + 1).padStart(Math.max(6, String(images).length), '0');
}

/** Classes that get VOC objects: the target, then the other shapes' names when they are annotated. */
export function classNames(o: ResolvedOptions, sh: ShapeSet): string[] {
  if (!o.annotateDistractors) return [o.targetName];
  const others = new Set([
    ...sh.distractors.map((d) => d.name),
    ...(sh.container ? [sh.container.name] : []),
  ]);
  return [o.targetName, ...[...others].sort()];
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

async function prepareOutDir(outDir: string): Promise<{ tmp: string; replaceEmpty: boolean }> {
  let replaceEmpty = false;
  try {
    const st = await fsp.stat(outDir);
    if (!st.isDirectory())
      throw new Error(`output ${outDir} exists and is not a folder; choose a new folder`);
    const entries = await fsp.readdir(outDir);
    if (entries.length > 0) {
      throw new Error(
        `output folder ${outDir} already exists and is not empty (${entries.length} entries); choose a new folder or empty it`,
      );
    }
    replaceEmpty = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const parent = path.dirname(outDir);
  await fsp.mkdir(parent, { recursive: true });
  const tmp = path.join(
    parent,
    `.${path.basename(outDir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  await fsp.mkdir(tmp);
  for (const d of [
    'JPEGImages',
    'Annotations',
    'SegmentationClass',
    'ImageSets/Main',
    'ImageSets/Segmentation',
  ]) {
    await fsp.mkdir(path.join(tmp, d), { recursive: true });
  }
  return { tmp, replaceEmpty };
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

async function writeImage(dir: string, id: string, img: RenderedImage): Promise<void> {
  const [png, mask] = await Promise.all([
    encodePng(img.pixels, img.width, img.height, img.channels),
    encodePng(img.mask, img.width, img.height, 1),
  ]);
  await Promise.all([
    fsp.writeFile(path.join(dir, 'JPEGImages', `${id}.png`), png),
    fsp.writeFile(path.join(dir, 'SegmentationClass', `${id}.png`), mask),
    fsp.writeFile(path.join(dir, 'Annotations', `${id}.xml`), formatVoc(annotationOf(img, id))),
  ]);
}

async function writeImageSets(
  dir: string,
  ids: readonly string[],
  parts: readonly PartName[],
  presence: ReadonlyMap<string, readonly boolean[]>,
): Promise<void> {
  const lists: [string, string][] = [];
  const groups: [string, PartName[]][] = [
    ['train', ['train']],
    ['val', ['val']],
    ['trainval', ['train', 'val']],
    ['test', ['test']],
  ];
  for (const [name, members] of groups) {
    const idx = ids.flatMap((_, i) => (members.includes(parts[i]) ? [i] : []));
    if (name === 'test' && idx.length === 0) continue;
    const list = formatImageSet(idx.map((i) => ids[i]));
    lists.push([`Main/${name}.txt`, list], [`Segmentation/${name}.txt`, list]);
    for (const [cls, flags] of presence) {
      const entries = idx.map((i) => ({ id: ids[i], flag: flags[i] ? (1 as const) : (-1 as const) }));
      lists.push([`Main/${cls}_${name}.txt`, formatClassImageSet(entries)]);
    }
  }
  await Promise.all(lists.map(([f, text]) => fsp.writeFile(path.join(dir, 'ImageSets', f), text)));
}

/**
 * Generates the dataset described by `options` into `outDir` (which must not exist, or be empty).
 * The same options and seed give byte-identical files. `onProgress(done, total)` is called after each image.
 */
export async function generateDataset(
  outDir: string,
  options: GeneratorOptions = {},
  onProgress?: ProgressFn,
): Promise<GenerateSummary> {
  const started = performance.now();
  const o = resolveOptions(options);
  const sh = parseShapes(o);
  const classes = classNames(o, sh);
  const root = new Random(o.seed);
  const positive = choosePositives(o.images, o.positives, root.fork('positives'));
  const parts = stratifiedSplit(positive, o.split, root.fork('split'));
  const ids = Array.from({ length: o.images }, (_, i) => imageId(i, o.images));
  const presence = new Map<string, boolean[]>(
    classes.map((c) => [c, new Array<boolean>(o.images).fill(false)]),
  );

  const target = path.resolve(outDir);
  const { tmp, replaceEmpty } = await prepareOutDir(target);
  const pending: Promise<void>[] = [];
  let done = 0;
  const settle = async (p: Promise<void>) => {
    await p;
    done++;
    onProgress?.(done, o.images);
  };
  try {
    for (let i = 0; i < o.images; i++) {
      const img = drawImage(o, sh, i, positive[i]);
      for (const obj of img.objects) presence.get(obj.name)![i] = true;
      const write = writeImage(tmp, ids[i], img).catch((e: Error) => {
        throw new Error(`writing image ${ids[i]} into ${tmp}: ${e.message}`);
      });
      // Mark the promise handled now; its error is rethrown when it is awaited in order below.
      write.catch(() => {});
      pending.push(write);
      if (pending.length >= IN_FLIGHT) await settle(pending.shift()!);
    }
    while (pending.length > 0) await settle(pending.shift()!);

    await writeImageSets(tmp, ids, parts, presence);
    const counts = summarise(positive, parts);
    const meta = {
      generator: 'xwb-synthetic',
      version: GENERATOR_VERSION,
      options: o,
      seed: o.seed,
      counts,
      classes,
      mask: {
        folder: 'SegmentationClass',
        encoding:
          '8-bit single-channel PNG; 0 = background, 1 = target (pixel centre inside the drawn target)',
        values: { 0: 'background', 1: o.targetName },
      },
    };
    await fsp.writeFile(path.join(tmp, GENERATOR_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    if (replaceEmpty) await fsp.rmdir(target);
    await fsp.rename(tmp, target);
    return { outDir: target, ...counts, classes, elapsedMs: performance.now() - started };
  } catch (e) {
    await Promise.allSettled(pending);
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

function summarise(positive: readonly boolean[], parts: readonly PartName[]) {
  const splits = Object.fromEntries(PARTS.map((p) => [p, { images: 0, positives: 0 }])) as Record<
    PartName,
    { images: number; positives: number }
  >;
  positive.forEach((pos, i) => {
    splits[parts[i]].images++;
    if (pos) splits[parts[i]].positives++;
  });
  const positives = positive.filter(Boolean).length;
  return { images: positive.length, positives, negatives: positive.length - positives, splits };
}

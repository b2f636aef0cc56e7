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
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { Random } from '../../util/random.js';
import { spawnModuleWorker } from '../../util/worker.js';
import { formatClassImageSet, formatImageSet } from '../voc/imagesets.js';
import { imageId, writeImages } from './images.js';
import type { ImagesReply, ImagesWorkerData } from './images-worker.js';
import {
  type GeneratorOptions,
  parseShapes,
  type ResolvedOptions,
  resolveOptions,
  type ShapeSet,
} from './options.js';
import { choosePositives, PARTS, type PartName, stratifiedSplit } from './split.js';

export { drawImage, imageId } from './images.js';

/**
 * Bump whenever the same options and seed would produce different files. 2: PNGs written by zlib instead of sharp
 * (the same pixels, other bytes).
 */
export const GENERATOR_VERSION = 2;
export const GENERATOR_FILE = 'xwb-generator.json';
/**
 * Images per slice of work handed to a thread: small enough that the main thread's slices (which block its
 * event loop) stay around 10 ms at 224 px and the threads finish together, large enough that messages cost
 * nothing.
 */
const SLICE = 8;
/** Below this many images per thread a worker's start-up (~0.1-0.3 s) costs more than it saves. */
const MIN_IMAGES_PER_THREAD = 100;

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

/** How to run a generation; none of it changes the files. */
export interface GenerateRun {
  /**
   * Threads that draw and write images, the main thread included. Default: one per core, but at most one per
   * MIN_IMAGES_PER_THREAD images (so small sets stay on the main thread).
   */
  threads?: number;
}

function threadCount(images: number, asked: number | undefined): number {
  if (asked !== undefined) {
    if (!Number.isInteger(asked) || asked < 1)
      throw new Error(`threads must be a whole number >= 1, got ${asked}`);
    return Math.min(asked, Math.ceil(images / SLICE));
  }
  return Math.max(1, Math.min(availableParallelism(), Math.floor(images / MIN_IMAGES_PER_THREAD)));
}

/**
 * Writes every image, in slices of SLICE images handed out in order to whichever thread is free: `threads - 1`
 * workers and this thread (which yields to the event loop between its slices, so progress and the workers'
 * replies keep flowing). `onImage(i, classes)` is called once per image, in the order slices finish. The first
 * failure stops the hand-out, ends the workers and is thrown (it names the image).
 */
async function writeAllImages(
  dir: string,
  o: ResolvedOptions,
  sh: ShapeSet,
  positive: readonly boolean[],
  threads: number,
  onImage: (i: number, classes: readonly string[]) => void,
): Promise<void> {
  let next = 0;
  const take = (): [number, number] | null => {
    if (next >= o.images) return null;
    const from = next;
    next = Math.min(o.images, next + SLICE);
    return [from, next];
  };
  const report = (from: number, classes: readonly string[][]) => {
    classes.forEach((names, k) => {
      onImage(from + k, names);
    });
  };
  // After a failure only earlier slices are still running (slices go out in order); the earliest failure is
  // thrown, which is the error a single thread would have met first.
  let failure: { from: number; error: Error } | null = null;
  const fail = (from: number, error: Error) => {
    if (!failure || from < failure.from) failure = { from, error };
    next = o.images; // hand out nothing more
  };

  const data: ImagesWorkerData = { dir, options: o, positive: Uint8Array.from(positive, Number) };
  const workers: Worker[] = [];
  const finished: Promise<void>[] = [];
  for (let t = 1; t < threads; t++) {
    const worker = spawnModuleWorker(new URL('./images-worker.js', import.meta.url), data, import.meta.url);
    workers.push(worker);
    finished.push(
      new Promise<void>((resolve) => {
        let current = -1;
        const send = () => {
          const slice = take();
          if (!slice) return resolve();
          current = slice[0];
          worker.postMessage({ from: slice[0], to: slice[1] });
        };
        worker.on('message', (reply: ImagesReply) => {
          if ('error' in reply) fail(reply.from, new Error(reply.error));
          else report(reply.from, reply.classes);
          send();
        });
        worker.on('error', (e) => {
          fail(current, new Error(`image writer thread failed: ${e.message}`));
          resolve();
        });
        send();
      }),
    );
  }
  try {
    for (let slice = take(); slice; slice = take()) {
      try {
        report(slice[0], writeImages(dir, o, sh, positive, slice[0], slice[1]));
      } catch (e) {
        fail(slice[0], e as Error);
      }
      await nextTurn();
    }
    await Promise.all(finished);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw (failure as { error: Error }).error;
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
  run: GenerateRun = {},
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
  let done = 0;
  const onImage = (i: number, names: readonly string[]) => {
    for (const name of names) presence.get(name)![i] = true;
    done++;
    onProgress?.(done, o.images);
  };
  try {
    await writeAllImages(tmp, o, sh, positive, threadCount(o.images, run.threads), onImage);
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

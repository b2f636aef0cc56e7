import { basename, resolve } from 'node:path';
import { type RestoreReport, readRatedExport, restoreRatedExport } from '../../review/exchange/import.js';
import type { Dataset, DatasetKind, Split, Store } from '../../store/index.js';
import { GROUND_TRUTH } from '../../store/index.js';
import { Random } from '../../util/random.js';
import type { ImageProbe, KnownImage } from '../image.js';
import type { DataWarning, VocAnnotation } from '../types.js';
import type { ImportProblem, ReadJob } from './read.js';
import { readAllImages } from './read-pool.js';
import { type Layout, negativeLabel, type ScannedImage, type ScanResult, scanDataset } from './scan.js';

export interface ImportOptions {
  /** Dataset name; default: the folder's name. */
  name?: string;
  /** Makes a binary "contains CLASS" task of a VOC dataset: image labels come from object presence. */
  target?: string;
  /** Validation share for datasets that bring no split of their own (stratified by label). */
  valFraction?: number;
  /** Seed of that split, recorded with the dataset. */
  splitSeed?: number;
  /** Largest image accepted, width × height (default DEFAULT_MAX_PIXELS, 40 MP); larger ones are skipped. */
  maxPixels?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Threads that read, hash and prove the files beside the main thread: a number (0: the main thread alone), or
   * 'auto' (one per core beyond the first, at most one per 500 images). Default 0: measured no faster on 2 cores
   * (see readerThreads in read-pool.ts). The result is the same with any number.
   */
  workers?: number | 'auto';
}

export type { ImportProblem } from './read.js';

export interface ImportReport {
  dataset: Dataset;
  created: boolean;
  layout: Layout;
  images: { found: number; inserted: number; updated: number; unchanged: number; failed: number };
  objects: number;
  masks: number;
  splitsAssigned: number;
  /** Repaired problems (boxes clamped, sizes taken from the image, …). */
  warnings: DataWarning[];
  /** Files that could not be read: they were skipped; everything else was imported. */
  errors: ImportProblem[];
  /** Decisions the user should hear about (e.g. several VOC years imported as one dataset). */
  notes: string[];
  /** What a rated export (xwb export --with …) brought besides the dataset: people, runs, ratings, masks … */
  review?: RestoreReport;
}

export class ImportError extends Error {
  constructor(
    message: string,
    /** When no image could be read: every file that was skipped, with its problem (the message names the first). */
    readonly problems: readonly ImportProblem[] = [],
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

interface ReadImage {
  scanned: ScannedImage;
  probe: ImageProbe;
  annotation?: VocAnnotation;
}

const KIND: Record<Layout, DatasetKind> = {
  synthetic: 'synthetic',
  voc: 'voc',
  flat: 'voc',
  folder: 'folder',
};

function labelFor(r: ReadImage, target: string | undefined): string | undefined {
  if (r.scanned.label !== undefined) return r.scanned.label;
  if (target === undefined) return undefined;
  const has = r.annotation?.objects.some((o) => o.name === target) ?? false;
  return has ? target : negativeLabel(target);
}

function classesFor(scan: ScanResult, read: ReadImage[], target: string | undefined, root: string): string[] {
  if (scan.classes.length > 0) return scan.classes;
  const names = new Set<string>();
  for (const r of read) for (const o of r.annotation?.objects ?? []) names.add(o.name);
  if (target === undefined) return [...names].sort();
  // Checked here, against the objects: the binary class list below always contains the target.
  if (!names.has(target)) {
    throw new ImportError(
      `--target ${target}: no object of that class in ${root} (classes: ${[...names].sort().join(', ') || 'none'})`,
    );
  }
  return [negativeLabel(target), target];
}

/**
 * A stratified split of the images that have none yet: within each label, a seeded shuffle, the first
 * round(n·valFraction) go to val. Images that already have a split keep it, so re-importing never moves an
 * image between train and val.
 */
export function stratifiedSplit(
  items: readonly { key: string; label: string | null }[],
  valFraction: number,
  seed: number,
): Map<string, Split> {
  const byLabel = new Map<string, string[]>();
  for (const it of items) {
    const k = it.label ?? '\u0000';
    const list = byLabel.get(k) ?? [];
    list.push(it.key);
    byLabel.set(k, list);
  }
  const out = new Map<string, Split>();
  const rng = new Random(seed);
  for (const label of [...byLabel.keys()].sort()) {
    const keys = [...byLabel.get(label)!].sort();
    rng.shuffle(keys);
    const nVal = Math.round(keys.length * valFraction);
    keys.forEach((k, i) => {
      out.set(k, i < nVal ? 'val' : 'train');
    });
  }
  return out;
}

/**
 * Imports a dataset folder into the store. Source files are only read. Everything is written in one
 * transaction, so an import that fails half-way leaves the store as it was; re-importing the same folder
 * changes nothing.
 */
export async function importDataset(
  store: Store,
  dir: string,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const scan = scanDataset(resolve(dir));
  const root = scan.root;
  // A rated export carries review data; it is checked in full (checksums, documents) before anything is written.
  // Its dataset keeps its own name by default: the ratings, sessions and runs in it belong to that dataset.
  const rated = readRatedExport(root);
  const name = opts.name ?? rated?.manifest.dataset ?? (basename(resolve(dir)) || 'dataset');
  const existing = store.datasets.getByName(name);
  if (existing && existing.sourcePath !== root) {
    throw new ImportError(
      `a dataset named "${name}" already exists (imported from ${existing.sourcePath ?? 'nowhere'}); ` +
        'choose another name with --name',
    );
  }
  const target = scan.targetClass ?? opts.target ?? existing?.targetClass ?? undefined;
  const warnings: DataWarning[] = [...scan.warnings];
  const errors: ImportProblem[] = scan.skipped.map((p) => ({
    file: p.file,
    message: `${p.file}: ${p.message}`,
  }));
  // What the store already knows about these files: unchanged ones need not be decoded again.
  const known = new Map<string, KnownImage>();
  if (existing) {
    for (let offset = 0; ; offset += 10_000) {
      const page = store.images.list(existing.id, { offset, limit: 10_000 });
      for (const im of page) known.set(im.relPath, im);
      if (page.length < 10_000) break;
    }
  }
  const total = scan.images.length;
  opts.onProgress?.(0, total);
  const jobs = scan.images.map((img): ReadJob => {
    const job: ReadJob = { relPath: img.relPath };
    if (img.annotationRelPath !== undefined) job.annotationRelPath = img.annotationRelPath;
    const k = known.get(img.relPath);
    if (k)
      job.known = {
        width: k.width,
        height: k.height,
        channels: k.channels,
        format: k.format,
        sha256: k.sha256,
      };
    return job;
  });
  const { outcomes, threadFailures } = await readAllImages(root, jobs, {
    ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    onProgress: (done) => opts.onProgress?.(done, total),
  });
  // Warnings and errors in the images' order, whichever thread read them.
  const read: ReadImage[] = [];
  outcomes.forEach((o, i) => {
    warnings.push(...o.warnings);
    if ('error' in o) errors.push(o.error);
    else
      read.push({
        scanned: scan.images[i],
        probe: o.probe,
        ...(o.annotation ? { annotation: o.annotation } : {}),
      });
  });
  if (read.length === 0) {
    const first = errors[0] ? ` First problem: ${errors[0].message}` : '';
    throw new ImportError(
      `${root}: none of its ${total} images could be read; nothing was imported.${first}`,
      errors,
    );
  }

  const classes = classesFor(scan, read, target, root);
  if (target !== undefined && !classes.includes(target)) {
    throw new ImportError(
      `--target ${target}: not a class of ${root} (classes: ${classes.join(', ') || 'none'})`,
    );
  }
  const valFraction = opts.valFraction ?? 0.25;
  const splitSeed = opts.splitSeed ?? 0;
  const meta = {
    layout: scan.layout,
    importedFrom: root,
    ...(scan.generator ? { generator: scan.generator as Record<string, never> } : {}),
    generatedSplit: { valFraction, seed: splitSeed },
  };

  const report: ImportReport = store.transaction(() => {
    const dataset =
      existing ??
      store.datasets.create({
        name,
        kind: scan.kind ?? KIND[scan.layout],
        sourcePath: root,
        classes,
        targetClass: target ?? null,
        meta,
      });
    if (existing && JSON.stringify(existing.classes) !== JSON.stringify(classes)) {
      store.datasets.update(existing.id, { classes });
    }
    const up = store.images.upsertMany(
      read.map((r) => ({
        datasetId: dataset.id,
        relPath: r.scanned.relPath,
        width: r.probe.width,
        height: r.probe.height,
        channels: r.probe.channels,
        format: r.probe.format,
        sha256: r.probe.sha256,
        label: labelFor(r, target) ?? null,
      })),
    );
    let objects = 0;
    let masks = 0;
    read.forEach((r, i) => {
      const imageId = up.ids[i];
      if (r.annotation) {
        store.objects.replaceGroundTruth(imageId, r.annotation.objects);
        objects += r.annotation.objects.length;
      }
      if (r.scanned.classMaskRelPath) {
        const cur = store.masks.get(imageId, 'class', GROUND_TRUTH);
        const same = cur && 'relPath' in cur.content && cur.content.relPath === r.scanned.classMaskRelPath;
        if (!same) {
          store.masks.put({
            imageId,
            kind: 'class',
            source: GROUND_TRUTH,
            content: { relPath: r.scanned.classMaskRelPath },
            width: r.probe.width,
            height: r.probe.height,
          });
        }
        masks++;
      }
    });

    // Splits: the dataset's own where it has them; a generated stratified split for the rest.
    const assignments: { imageId: number; split: Split }[] = [];
    const unsplit: { key: string; label: string | null }[] = [];
    const idByKey = new Map<string, number>();
    read.forEach((r, i) => {
      const imageId = up.ids[i];
      const current = store.images.get(imageId)?.split ?? null;
      if (r.scanned.split) {
        if (current !== r.scanned.split) assignments.push({ imageId, split: r.scanned.split });
      } else if (current === null) {
        unsplit.push({ key: r.scanned.relPath, label: labelFor(r, target) ?? null });
        idByKey.set(r.scanned.relPath, imageId);
      }
    });
    const hasOwnSplits = read.some((r) => r.scanned.split !== undefined);
    if (!hasOwnSplits && unsplit.length > 0) {
      for (const [key, split] of stratifiedSplit(unsplit, valFraction, splitSeed)) {
        assignments.push({ imageId: idByKey.get(key)!, split });
      }
    }
    if (assignments.length > 0) store.splits.set(assignments);

    return {
      dataset: store.datasets.getById(dataset.id)!,
      created: existing === undefined,
      layout: scan.layout,
      images: {
        found: total,
        inserted: up.inserted,
        updated: up.updated,
        unchanged: up.unchanged,
        failed: errors.length,
      },
      objects,
      masks,
      splitsAssigned: assignments.length,
      warnings,
      errors,
      notes: [
        ...scan.notes,
        ...threadFailures.map((f) => `${f}; the files it was reading were read on the main thread`),
      ],
    };
  });
  if (rated !== undefined) {
    try {
      report.review = restoreRatedExport(store, report.dataset.id, rated);
    } catch (e) {
      throw new ImportError(
        `${(e as Error).message}. The dataset "${report.dataset.name}" itself was imported; none of the review data ` +
          'was (it is written all at once). Importing the folder again after fixing this is safe.',
      );
    }
  }
  return report;
}

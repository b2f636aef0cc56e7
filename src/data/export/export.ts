import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Dataset, ImageRecord, Store } from '../../store/index.js';
import { GROUND_TRUTH } from '../../store/index.js';
import { siblingTempDir } from '../../util/atomic.js';
import { DATASET_MANIFEST } from '../import/scan.js';
import type { VocAnnotation } from '../types.js';
import { formatClassImageSet, formatImageSet, type PresenceFlag } from '../voc/imagesets.js';
import { formatVoc } from '../voc/write.js';

export interface ExportOptions {
  onProgress?: (done: number, total: number) => void;
  /**
   * Adds files to the export (src/review/exchange adds ratings, masks and explanations). Called last, inside the
   * temporary folder, so the extra files share the export's all-or-nothing rename.
   */
  extend?: ExportExtension;
}

export interface ExportExtensionContext {
  /** The temporary folder being written; becomes `outDir` after the extension returns. */
  dir: string;
  dataset: Dataset;
  /** The exported images, and their VOC ids (same order). */
  images: readonly ImageRecord[];
  ids: readonly string[];
}

export type ExportExtension = (ctx: ExportExtensionContext) => void;

export interface ExportReport {
  outDir: string;
  images: number;
  annotations: number;
  masks: number;
  splits: { train: number; val: number; test: number };
}

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

/**
 * A VOC id for every image. VOC ids are file stems; images from class folders can share a stem
 * (`cat/1.png`, `dog/1.png`), so their folders become part of the id.
 */
export function exportIds(images: readonly Pick<ImageRecord, 'relPath'>[]): string[] {
  const stems = images.map((im) => {
    const rel = im.relPath.replace(/^JPEGImages\//, '');
    return rel.slice(0, rel.length - extname(rel).length);
  });
  return stems.map((s) => s.replace(/[/\\]/g, '__'));
}

function presence(
  ds: Dataset,
  cls: string,
  label: string | null,
  objectNames: Map<string, boolean>,
): PresenceFlag {
  if (label !== null && ds.classes.includes(label)) return label === cls ? 1 : -1;
  if (!objectNames.has(cls)) return -1;
  // VOC: 0 marks an image whose only instances of the class are 'difficult'.
  return objectNames.get(cls) ? 1 : 0;
}

/**
 * Writes a dataset as a VOC devkit folder (images, annotations, image sets, class masks, manifest). Everything is
 * written into a temporary sibling folder which is renamed into place at the end, so an interrupted export leaves
 * nothing half-written at `outDir`.
 */
export function exportDataset(
  store: Store,
  datasetId: number,
  outDir: string,
  opts: ExportOptions = {},
): ExportReport {
  const ds = store.datasets.getById(datasetId);
  if (!ds) throw new ExportError(`no dataset with id ${datasetId} in ${store.path}`);
  const out = resolve(outDir);
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new ExportError(
      `${out}: exists and is not empty; export writes a new folder (choose another path)`,
    );
  }
  if (!ds.sourcePath)
    throw new ExportError(`dataset "${ds.name}" has no source folder to copy its images from`);
  const images: ImageRecord[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = store.images.list(ds.id, { offset, limit: 1000 });
    images.push(...page);
    if (page.length < 1000) break;
  }
  const ids = exportIds(images);
  const tmp = siblingTempDir(out);
  rmSync(tmp, { recursive: true, force: true });
  try {
    for (const d of ['JPEGImages', 'Annotations', 'ImageSets/Main', 'SegmentationClass']) {
      mkdirSync(join(tmp, d), { recursive: true });
    }
    const splits: Record<'train' | 'val' | 'test', string[]> = { train: [], val: [], test: [] };
    const classFlags = new Map<string, { id: string; split: string | null; flag: PresenceFlag }[]>();
    let annotations = 0;
    let masks = 0;
    images.forEach((im, i) => {
      const id = ids[i];
      const fileName = `${id}${extname(im.relPath).toLowerCase()}`;
      const src = join(ds.sourcePath!, im.relPath);
      if (!existsSync(src)) {
        throw new ExportError(`${src}: the source image is missing (moved or deleted since the import)`);
      }
      copyFileSync(src, join(tmp, 'JPEGImages', fileName));
      const objects = store.objects.list(im.id, { source: GROUND_TRUTH }).map((o) => o.object);
      const ann: VocAnnotation = {
        folder: 'JPEGImages',
        filename: fileName,
        source: { database: ds.name },
        size: { width: im.width, height: im.height, depth: im.channels },
        segmented: false,
        objects,
      };
      const mask = store.masks.get(im.id, 'class', GROUND_TRUTH);
      if (mask) {
        const dst = join(tmp, 'SegmentationClass', `${id}.png`);
        if ('png' in mask.content) writeFileSync(dst, mask.content.png);
        else {
          const src = join(ds.sourcePath!, mask.content.relPath);
          if (!existsSync(src)) {
            throw new ExportError(
              `${src}: the class mask of ${im.relPath} is missing (moved or deleted since the import)`,
            );
          }
          copyFileSync(src, dst);
        }
        ann.segmented = true;
        masks++;
      }
      writeFileSync(join(tmp, 'Annotations', `${id}.xml`), formatVoc(ann));
      annotations++;
      if (im.split) splits[im.split].push(id);
      const names = new Map<string, boolean>();
      for (const o of objects) names.set(o.name, (names.get(o.name) ?? false) || !o.difficult);
      for (const cls of ds.classes) {
        const list = classFlags.get(cls) ?? [];
        list.push({ id, split: im.split, flag: presence(ds, cls, im.label, names) });
        classFlags.set(cls, list);
      }
      opts.onProgress?.(i + 1, images.length);
    });
    const main = join(tmp, 'ImageSets', 'Main');
    for (const split of ['train', 'val', 'test'] as const) {
      if (splits[split].length > 0) writeFileSync(join(main, `${split}.txt`), formatImageSet(splits[split]));
    }
    writeFileSync(join(main, 'trainval.txt'), formatImageSet([...splits.train, ...splits.val].sort()));
    for (const [cls, entries] of classFlags) {
      for (const split of ['train', 'val', 'test'] as const) {
        const rows = entries.filter((e) => e.split === split);
        if (rows.length > 0) writeFileSync(join(main, `${cls}_${split}.txt`), formatClassImageSet(rows));
      }
      const tv = entries
        .filter((e) => e.split === 'train' || e.split === 'val')
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      if (tv.length > 0) writeFileSync(join(main, `${cls}_trainval.txt`), formatClassImageSet(tv));
    }
    if (masks === 0) rmSync(join(tmp, 'SegmentationClass'), { recursive: true });
    const manifest = {
      format: 'xwb-dataset',
      version: 1,
      name: ds.name,
      kind: ds.kind,
      classes: ds.classes,
      targetClass: ds.targetClass,
      labels: Object.fromEntries(images.map((im, i) => [ids[i], im.label])),
      // How a generated set was made (options and seed) travels with it.
      ...(ds.meta.generator !== undefined ? { generator: ds.meta.generator } : {}),
      exportedAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, DATASET_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    opts.extend?.({ dir: tmp, dataset: ds, images, ids });
    if (existsSync(out)) rmSync(out, { recursive: true }); // an empty folder the user made
    renameSync(tmp, out);
    return {
      outDir: out,
      images: images.length,
      annotations,
      masks,
      splits: { train: splits.train.length, val: splits.val.length, test: splits.test.length },
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw failedExport(out, e);
  }
}

/**
 * A file-system failure names the temporary folder, which is gone by now: say what the user asked for instead, and
 * that nothing was left there. A full disk gets its own wording, with the system's message kept for the details.
 */
function failedExport(out: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (e instanceof ExportError || typeof code !== 'string') return e;
  const cause = (e as Error).message;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ExportError(
      `${out}: no space left on the disk while exporting (${code}); nothing was written there and the store is ` +
        `unchanged. Free some space or export to another disk. (${cause})`,
    );
  }
  return new ExportError(`${out}: the export failed and nothing was written there: ${cause}`);
}

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, sep } from 'node:path';
import { isImageFile } from '../image.js';
import type { DataWarning } from '../types.js';
import { parseImageSet } from '../voc/imagesets.js';

/** Written by `xwb export` (src/data/export/export.ts) and read back here. */
export const DATASET_MANIFEST = 'xwb-dataset.json';

/**
 * Finds out which dataset layout a folder holds and lists its images with where their annotations, masks, labels
 * and splits come from. Reads names and small text files only; images and XML are read by the importer.
 *
 * Layouts, tried in this order:
 * - `synthetic`: the generator's output (a VOC devkit folder with `xwb-generator.json`).
 * - `voc`: a VOC devkit folder (`Annotations/`, `JPEGImages/`, optional `ImageSets/Main`, `SegmentationClass/`,
 *   `SegmentationObject/`), also when given the folder above it (`VOCdevkit/VOC2007`) or a year folder.
 * - `flat`: images with same-named `.xml` files side by side.
 * - `folder`: class-per-folder (`<class>/*.png`), optionally under split folders (`train/<class>/*.png`).
 */
export type Layout = 'synthetic' | 'voc' | 'flat' | 'folder';
export type Split = 'train' | 'val' | 'test';

export interface ScannedImage {
  /** Stable id within the dataset: the VOC id, or the path without extension for folder layouts. */
  id: string;
  /** Path of the image relative to the dataset root, with forward slashes. */
  relPath: string;
  annotationRelPath?: string;
  classMaskRelPath?: string;
  objectMaskRelPath?: string;
  /** Image-level label when the layout gives one (class folder, or presence of the target class). */
  label?: string;
  split?: Split;
}

export interface ScanResult {
  /** The folder that holds the dataset (may be below the one the user named). */
  root: string;
  layout: Layout;
  images: ScannedImage[];
  /** Class names in a stable order, when the layout defines them without reading annotations. */
  classes: string[];
  /** For binary "contains X" datasets (the generator's), the class X. */
  targetClass?: string;
  /** The dataset kind an xwb export recorded (a class-folder set exported as VOC is still a 'folder' set). */
  kind?: 'voc' | 'folder' | 'synthetic';
  /** The generator's own record of how the set was made, kept with the dataset. */
  generator?: Record<string, unknown>;
  warnings: DataWarning[];
}

export class DatasetLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetLayoutError';
  }
}

const SPLIT_DIRS: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
  testing: 'test',
};

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

function listDirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

function stem(name: string): string {
  return basename(name, extname(name));
}

/** Descends `VOCdevkit/VOC2007`-style wrappers to the folder that has `Annotations/`. */
function findVocRoot(dir: string): string | undefined {
  if (isDir(join(dir, 'Annotations'))) return dir;
  const subs = listDirs(dir);
  for (const name of ['VOCdevkit', ...subs.filter((s) => /^VOC/i.test(s))]) {
    const p = join(dir, name);
    if (!isDir(p)) continue;
    if (isDir(join(p, 'Annotations'))) return p;
    const inner = listDirs(p).filter((s) => isDir(join(p, s, 'Annotations')));
    if (inner.length === 1) return join(p, inner[0]);
  }
  return undefined;
}

function readSplits(root: string, warnings: DataWarning[]): Map<string, Split> {
  const splits = new Map<string, Split>();
  const main = join(root, 'ImageSets', 'Main');
  if (!isDir(main)) return splits;
  for (const split of ['train', 'val', 'test'] as const) {
    const file = join(main, `${split}.txt`);
    if (!existsSync(file)) continue;
    for (const line of parseImageSet(readFileSync(file, 'utf8'), file)) {
      const before = splits.get(line.id);
      if (before && before !== split) {
        warnings.push({
          file,
          message: `image ${line.id} is listed in both ${before} and ${split}; kept ${before}`,
        });
        continue;
      }
      splits.set(line.id, split);
    }
  }
  return splits;
}

function scanVoc(root: string, layout: 'voc' | 'synthetic'): ScanResult {
  const warnings: DataWarning[] = [];
  const imageDir = join(root, 'JPEGImages');
  if (!isDir(imageDir)) {
    throw new DatasetLayoutError(
      `${root}: has Annotations/ but no JPEGImages/ folder; a VOC devkit folder needs both`,
    );
  }
  const annotations = new Set(
    listFiles(join(root, 'Annotations')).filter((f) => f.toLowerCase().endsWith('.xml')),
  );
  const classMasks = isDir(join(root, 'SegmentationClass'))
    ? new Set(listFiles(join(root, 'SegmentationClass')))
    : new Set<string>();
  const objectMasks = isDir(join(root, 'SegmentationObject'))
    ? new Set(listFiles(join(root, 'SegmentationObject')))
    : new Set<string>();
  const splits = readSplits(root, warnings);
  const images: ScannedImage[] = [];
  const seen = new Set<string>();
  for (const name of listFiles(imageDir)) {
    if (!isImageFile(name)) continue;
    const id = stem(name);
    if (seen.has(id)) {
      warnings.push({
        file: join(imageDir, name),
        message: `a second image with id ${id}; only the first is imported`,
      });
      continue;
    }
    seen.add(id);
    const img: ScannedImage = { id, relPath: `JPEGImages/${name}` };
    if (annotations.has(`${id}.xml`)) img.annotationRelPath = `Annotations/${id}.xml`;
    if (classMasks.has(`${id}.png`)) img.classMaskRelPath = `SegmentationClass/${id}.png`;
    if (objectMasks.has(`${id}.png`)) img.objectMaskRelPath = `SegmentationObject/${id}.png`;
    const split = splits.get(id);
    if (split) img.split = split;
    images.push(img);
  }
  for (const a of annotations) {
    if (!seen.has(stem(a))) {
      warnings.push({
        file: join(root, 'Annotations', a),
        message: 'no image with this id in JPEGImages/; skipped',
      });
    }
  }
  const result: ScanResult = { root, layout, images, classes: [], warnings };
  if (existsSync(join(root, DATASET_MANIFEST))) applyDatasetManifest(result);
  else if (layout === 'synthetic') applyGeneratorRecord(result);
  return result;
}

/** The manifest `xwb export` writes: class order, target class and every image's label, restored exactly. */
function applyDatasetManifest(result: ScanResult): void {
  const file = join(result.root, DATASET_MANIFEST);
  const m = readJson(file);
  if (m.format !== 'xwb-dataset')
    throw new DatasetLayoutError(`${file}: not an xwb dataset manifest (no "format": "xwb-dataset")`);
  if (!Array.isArray(m.classes) || !m.classes.every((c) => typeof c === 'string')) {
    throw new DatasetLayoutError(`${file}: "classes" must be a list of class names`);
  }
  result.classes = m.classes as string[];
  if (typeof m.targetClass === 'string') result.targetClass = m.targetClass;
  if (m.kind === 'synthetic') result.layout = 'synthetic';
  if (m.kind === 'voc' || m.kind === 'folder' || m.kind === 'synthetic') result.kind = m.kind;
  if (m.generator !== null && typeof m.generator === 'object')
    result.generator = m.generator as Record<string, unknown>;
  const labels = (m.labels ?? {}) as Record<string, unknown>;
  for (const img of result.images) {
    const label = labels[img.id];
    if (typeof label === 'string') img.label = label;
  }
}

function readJson(file: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new DatasetLayoutError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** The generator records its target class; image labels then come from the per-class image sets. */
function applyGeneratorRecord(result: ScanResult): void {
  const file = join(result.root, 'xwb-generator.json');
  const record = readJson(file);
  result.generator = record;
  const options = (record.options ?? {}) as Record<string, unknown>;
  const target =
    typeof record.targetClass === 'string'
      ? record.targetClass
      : typeof options.targetName === 'string'
        ? options.targetName
        : undefined;
  if (!target)
    throw new DatasetLayoutError(`${file}: names no target class; was it written by xwb generate?`);
  result.targetClass = target;
  // The generator's own class list names object classes (target and annotated distractors); the task is binary.
  result.classes = [negativeLabel(target), target];
  const main = join(result.root, 'ImageSets', 'Main');
  const flags = new Map<string, number>();
  for (const split of ['trainval', 'train', 'val', 'test']) {
    const f = join(main, `${target}_${split}.txt`);
    if (!existsSync(f)) continue;
    for (const line of parseImageSet(readFileSync(f, 'utf8'), f))
      if (line.flag !== undefined) flags.set(line.id, line.flag);
  }
  for (const img of result.images) {
    const flag = flags.get(img.id);
    if (flag !== undefined) img.label = flag === -1 ? negativeLabel(target) : target;
  }
}

/** The name of the "does not contain X" class of a binary dataset. */
export function negativeLabel(target: string): string {
  return `no-${target}`;
}

function scanFlat(root: string, files: string[]): ScanResult {
  const xml = new Set(files.filter((f) => f.toLowerCase().endsWith('.xml')).map(stem));
  const images = files.filter(isImageFile).map((name): ScannedImage => {
    const id = stem(name);
    const img: ScannedImage = { id, relPath: name };
    if (xml.has(id)) img.annotationRelPath = `${id}.xml`;
    return img;
  });
  return { root, layout: 'flat', images, classes: [], warnings: [] };
}

function scanClassFolders(
  root: string,
  dir: string,
  split: Split | undefined,
  out: ScannedImage[],
  classes: Set<string>,
): void {
  for (const cls of listDirs(dir)) {
    const files = listFiles(join(dir, cls)).filter(isImageFile);
    if (files.length === 0) continue;
    classes.add(cls);
    for (const f of files) {
      const rel = toPosix(relative(root, join(dir, cls, f)));
      const img: ScannedImage = {
        id: rel.slice(0, rel.length - extname(rel).length),
        relPath: rel,
        label: cls,
      };
      if (split) img.split = split;
      out.push(img);
    }
  }
}

export function scanDataset(dir: string): ScanResult {
  if (!existsSync(dir)) throw new DatasetLayoutError(`${dir}: no such folder`);
  if (!isDir(dir)) throw new DatasetLayoutError(`${dir}: not a folder (import takes a dataset folder)`);
  const vocRoot = findVocRoot(dir);
  if (vocRoot) return scanVoc(vocRoot, existsSync(join(vocRoot, 'xwb-generator.json')) ? 'synthetic' : 'voc');
  const files = listFiles(dir);
  if (files.some(isImageFile)) return scanFlat(dir, files);
  const subdirs = listDirs(dir);
  const images: ScannedImage[] = [];
  const classes = new Set<string>();
  const splitDirs = subdirs.filter((d) => SPLIT_DIRS[d.toLowerCase()] !== undefined);
  if (splitDirs.length > 0) {
    for (const d of splitDirs)
      scanClassFolders(dir, join(dir, d), SPLIT_DIRS[d.toLowerCase()], images, classes);
  } else {
    scanClassFolders(dir, dir, undefined, images, classes);
  }
  if (images.length === 0) {
    throw new DatasetLayoutError(
      `${dir}: no dataset found. Expected a VOC devkit folder (Annotations/ and JPEGImages/), images with ` +
        'same-named .xml files, or one folder of images per class (optionally under train/ val/ test/)',
    );
  }
  return { root: dir, layout: 'folder', images, classes: [...classes].sort(), warnings: [] };
}

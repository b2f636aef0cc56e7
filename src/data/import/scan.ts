import { type Dirent, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, sep } from 'node:path';
import { isImageFile } from '../image.js';
import { MAX_CLASS_NAME } from '../limits.js';
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
  /** Entries that looked like dataset files but were not read (a FIFO, a link leaving the folder, …), each with why. */
  skipped: ScanProblem[];
  /** What the scan decided that the user should hear about (several VOC years imported together, …). */
  notes: string[];
}

export interface ScanProblem {
  file: string;
  message: string;
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

/**
 * Where a scan may read, and where it reports what it passed over. Symbolic links are followed when their
 * target lies inside `boundary` (the real path of the folder the user named), so a dataset assembled from links
 * to its own files imports; a link leaving the folder, a broken link, a FIFO, socket or device is never opened
 * (reading a FIFO would block the import forever) and is named with its reason.
 */
interface ScanContext {
  boundary: string;
  warnings: DataWarning[];
  skipped: ScanProblem[];
}

/** Names that are dataset files: a problem with one of them is a skipped file, not just a remark. */
function isDataName(name: string): boolean {
  const lower = name.toLowerCase();
  return isImageFile(lower) || lower.endsWith('.xml');
}

function specialKind(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean }): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  return 'a block device';
}

function inside(boundary: string, target: string): boolean {
  const rel = relative(boundary, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** What a directory entry is once links are resolved: a file, a folder, or a reason not to read it. */
function entryKind(dir: string, d: Dirent, ctx: ScanContext): 'file' | 'dir' | { problem: string } {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (!d.isSymbolicLink()) return { problem: `${specialKind(d)}, not a file; skipped` };
  const p = join(dir, d.name);
  let target: string;
  try {
    target = realpathSync(p);
  } catch {
    return { problem: 'a symbolic link whose target does not exist; skipped' };
  }
  if (!inside(ctx.boundary, target)) {
    return {
      problem:
        `a symbolic link to ${target}, outside the dataset folder ${ctx.boundary}; links are followed only ` +
        'inside it (copy the file in instead); skipped',
    };
  }
  const st = statSync(target);
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  return { problem: `a symbolic link to ${specialKind(st)}, not a file; skipped` };
}

/**
 * The files and folders of `dir` (hidden ones aside), sorted. Entries that are neither are reported: as skipped
 * files when their name is that of a dataset file, else as warnings. Folders found where only files are read
 * (`folders: 'warn'`) are reported as warnings.
 */
function listEntries(
  dir: string,
  ctx: ScanContext,
  folders: 'list' | 'warn',
): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const d of entries) {
    if (d.name.startsWith('.')) continue;
    const kind = entryKind(dir, d, ctx);
    const file = join(dir, d.name);
    if (kind === 'file') files.push(d.name);
    else if (kind === 'dir') {
      if (folders === 'list') dirs.push(d.name);
      else
        (isDataName(d.name) ? ctx.skipped : ctx.warnings).push({
          file,
          message: `a folder where files are read (${basename(dir)}/ is not searched below); skipped`,
        });
    } else (isDataName(d.name) ? ctx.skipped : ctx.warnings).push({ file, message: kind.problem });
  }
  return { files, dirs };
}

/** Lists without reporting: for probing which layout a folder holds. */
function listDirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => !d.name.startsWith('.') && isDir(join(dir, d.name)))
    .map((d) => d.name)
    .sort();
}

function stem(name: string): string {
  return basename(name, extname(name));
}

/**
 * Descends `VOCdevkit/VOC2007`-style wrappers to the folders that have `Annotations/`: one, or several years of
 * one devkit (VOCdevkit/VOC2007 and VOCdevkit/VOC2012), which are all siblings.
 */
function findVocRoots(dir: string): string[] {
  if (isDir(join(dir, 'Annotations'))) return [dir];
  const subs = listDirs(dir);
  const years = subs.filter((s) => /^VOC/i.test(s) && isDir(join(dir, s, 'Annotations')));
  if (years.length > 0) return years.map((s) => join(dir, s));
  for (const name of ['VOCdevkit', ...subs.filter((s) => /^VOC/i.test(s))]) {
    const p = join(dir, name);
    if (!isDir(p)) continue;
    const inner = listDirs(p).filter((s) => isDir(join(p, s, 'Annotations')));
    if (inner.length > 0) return inner.map((s) => join(p, s));
  }
  return [];
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

function scanVoc(root: string, layout: 'voc' | 'synthetic', ctx: ScanContext): ScanResult {
  const warnings = ctx.warnings;
  const imageDir = join(root, 'JPEGImages');
  if (!isDir(imageDir)) {
    throw new DatasetLayoutError(
      `${root}: has Annotations/ but no JPEGImages/ folder; a VOC devkit folder needs both`,
    );
  }
  const annotations = new Set(
    listEntries(join(root, 'Annotations'), ctx, 'warn').files.filter((f) => f.toLowerCase().endsWith('.xml')),
  );
  const masksIn = (folder: string) =>
    isDir(join(root, folder))
      ? new Set(listEntries(join(root, folder), ctx, 'warn').files)
      : new Set<string>();
  const classMasks = masksIn('SegmentationClass');
  const objectMasks = masksIn('SegmentationObject');
  const splits = readSplits(root, warnings);
  const images: ScannedImage[] = [];
  const seen = new Set<string>();
  for (const name of listEntries(imageDir, ctx, 'warn').files) {
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
  const result: ScanResult = { root, layout, images, classes: [], warnings, skipped: ctx.skipped, notes: [] };
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

/**
 * Several years of one devkit (VOCdevkit/VOC2007 and VOC2012): one dataset rooted at their parent, each image
 * under its year's folder (`VOC2007/JPEGImages/000001.jpg`) with that year's annotations and splits. Years are
 * never silently dropped; to import one, the user names its folder.
 */
function scanVocYears(roots: string[], ctx: ScanContext): ScanResult {
  const parent = dirname(roots[0]);
  const names = roots.map((r) => basename(r));
  const images: ScannedImage[] = [];
  for (const root of roots) {
    const year = basename(root);
    if (existsSync(join(root, 'xwb-generator.json')) || existsSync(join(root, DATASET_MANIFEST))) {
      throw new DatasetLayoutError(
        `${parent} holds ${names.join(', ')}, and ${year} was written by xwb; import each folder on its own`,
      );
    }
    const r = scanVoc(root, 'voc', ctx);
    const at = (p: string | undefined) => (p === undefined ? undefined : `${year}/${p}`);
    for (const img of r.images) {
      const out: ScannedImage = { ...img, id: `${year}/${img.id}`, relPath: `${year}/${img.relPath}` };
      for (const k of ['annotationRelPath', 'classMaskRelPath', 'objectMaskRelPath'] as const) {
        if (img[k] !== undefined) out[k] = at(img[k]);
      }
      images.push(out);
    }
  }
  return {
    root: parent,
    layout: 'voc',
    images,
    classes: [],
    warnings: ctx.warnings,
    skipped: ctx.skipped,
    notes: [
      `${parent} holds ${roots.length} VOC folders (${names.join(', ')}): all were imported into one dataset, ` +
        `each image under its folder's name; to import only one, name its folder (e.g. ${roots[0]})`,
    ],
  };
}

function scanFlat(root: string, files: string[], ctx: ScanContext): ScanResult {
  const xml = new Set(files.filter((f) => f.toLowerCase().endsWith('.xml')).map(stem));
  const images = files.filter(isImageFile).map((name): ScannedImage => {
    const id = stem(name);
    const img: ScannedImage = { id, relPath: name };
    if (xml.has(id)) img.annotationRelPath = `${id}.xml`;
    return img;
  });
  return {
    root,
    layout: 'flat',
    images,
    classes: [],
    warnings: ctx.warnings,
    skipped: ctx.skipped,
    notes: [],
  };
}

function scanClassFolders(
  root: string,
  dir: string,
  split: Split | undefined,
  out: ScannedImage[],
  classes: Set<string>,
  ctx: ScanContext,
): void {
  for (const cls of listEntries(dir, ctx, 'list').dirs) {
    const files = listEntries(join(dir, cls), ctx, 'warn').files.filter(isImageFile);
    if (files.length === 0) continue;
    if (cls.length > MAX_CLASS_NAME) {
      ctx.skipped.push({
        file: join(dir, cls),
        message: `the folder's name (its class) has ${cls.length} characters, more than the ${MAX_CLASS_NAME} a class name may have; its ${files.length} images were skipped`,
      });
      continue;
    }
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
  const ctx: ScanContext = { boundary: realpathSync(dir), warnings: [], skipped: [] };
  const vocRoots = findVocRoots(dir);
  if (vocRoots.length > 1) return scanVocYears(vocRoots, ctx);
  if (vocRoots.length === 1) {
    const vocRoot = vocRoots[0];
    return scanVoc(vocRoot, existsSync(join(vocRoot, 'xwb-generator.json')) ? 'synthetic' : 'voc', ctx);
  }
  // Probed quietly first: the folder may be a class-per-folder set, whose root holds folders, not images.
  const probe = listEntries(dir, { ...ctx, warnings: [], skipped: [] }, 'list');
  if (probe.files.some(isImageFile)) return scanFlat(dir, listEntries(dir, ctx, 'warn').files, ctx);
  const subdirs = listDirs(dir);
  const images: ScannedImage[] = [];
  const classes = new Set<string>();
  const splitDirs = subdirs.filter((d) => SPLIT_DIRS[d.toLowerCase()] !== undefined);
  if (splitDirs.length > 0) {
    for (const d of splitDirs)
      scanClassFolders(dir, join(dir, d), SPLIT_DIRS[d.toLowerCase()], images, classes, ctx);
  } else {
    scanClassFolders(dir, dir, undefined, images, classes, ctx);
  }
  if (images.length === 0) {
    throw new DatasetLayoutError(
      `${dir}: no dataset found. Expected a VOC devkit folder (Annotations/ and JPEGImages/), images with ` +
        'same-named .xml files, or one folder of images per class (optionally under train/ val/ test/)',
    );
  }
  return {
    root: dir,
    layout: 'folder',
    images,
    classes: [...classes].sort(),
    warnings: ctx.warnings,
    skipped: ctx.skipped,
    notes: [],
  };
}

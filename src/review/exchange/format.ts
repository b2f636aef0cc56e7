/**
 * The rated-dataset export: what `xwb export <dataset> <dir> --with ratings,masks,explanations` writes next to the
 * VOC folder, and `xwb import <dir>` reads back. Written by ./export.ts, read by ./import.ts.
 *
 * Layout (every path relative to the export folder):
 *   manifest.json                 format, xwb version, store schema version, what was included, exportedAt, and a
 *                                 SHA-256 for every other file (checked before anything is imported)
 *   people.json                   raters and annotators by name, with their creation time and file-safe folder
 *   Annotations-<folder>/<id>.xml boxes drawn by one annotator, one plain VOC file per image. A separate folder, not
 *                                 extra <object>s in Annotations/: every VOC tool reads Annotations/ as ground
 *                                 truth and would silently train on people's boxes; a folder per annotator is a
 *                                 complete VOC annotation set a tool can be pointed at, and it round-trips exactly.
 *                                 <source><annotation> names the annotator.
 *   masks.json, masks/<folder>/<kind>/<id>.png
 *                                 masks drawn by people (should-highlight, region, class) and the ground truth's
 *                                 non-class masks (folder "gt"; ground-truth class masks stay in SegmentationClass/)
 *   explanations.json             the runs the explanations come from (records only: no model) and every exported
 *                                 explanation: key, size, encoding, metrics, and its files:
 *   explanations/<run>/<id>/<method>-c<class>-<params hash>.f32  the stored map, bytes as stored (.raw when the
 *                                 encoding is not 'f32le'); .png beside it: 16-bit grey, min–max scaled, with
 *                                 the min and max in explanations.json
 *   ratings.json                  review sessions with their items, and every rating (method and run UNBLINDED)
 *                                 with its revision history
 *   ratings.csv                   the ratings as one flat table for spreadsheets and R
 *
 * References between files use export-local names (run-1, e12, session-1, people's names, VOC image ids), never
 * store ids, so exporting a re-imported dataset gives identical files. Documented differences between two exports
 * of the same content: `exportedAt` in manifest.json and xwb-dataset.json, and therefore the SHA-256 of
 * xwb-dataset.json in manifest.json. Not exported: timestamps of explanations, metrics, masks and boxes (they get
 * the import time), soft-deleted boxes, run epochs, checkpoints and model weights.
 */

export const RATED_MANIFEST = 'manifest.json';
export const RATED_FORMAT = 'xwb-rated-export';
export const RATED_VERSION = 1;

export const EXTRAS = ['ratings', 'masks', 'explanations'] as const;
/**
 * ratings: sessions, items, ratings, and the explanations they are about (ratings cannot be restored without them);
 * masks: everything people drew, boxes and masks; explanations: every explanation of the dataset's images.
 */
export type Extra = (typeof EXTRAS)[number];

export const FILES = {
  people: 'people.json',
  explanations: 'explanations.json',
  masks: 'masks.json',
  ratingsJson: 'ratings.json',
  ratingsCsv: 'ratings.csv',
} as const;

/**
 * Config key marking a run restored from an export ("imported": a record without its model). It describes this
 * store's copy, not the run, so export leaves it out.
 */
export const IMPORTED_RUN_KEY = 'xwbImported';

export const GT_FOLDER = 'gt';

export interface Manifest {
  format: typeof RATED_FORMAT;
  version: number;
  xwbVersion: string;
  storeSchemaVersion: number;
  dataset: string;
  with: Extra[];
  exportedAt: string;
  /** Every file but this one, '/'-separated path → lower-case hex SHA-256. */
  files: Record<string, string>;
}

export interface PersonDoc {
  name: string;
  createdAt: string;
  folder: string;
}

export interface RunDoc {
  ref: string;
  model: string;
  config: Record<string, unknown>;
  engine: string;
  device: string | null;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  error: string | null;
  phase: string | null;
  epoch: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Metric values: numbers, or "NaN" / "Infinity" / "-Infinity" (JSON has no such numbers). */
export interface MetricDoc {
  metric: string;
  params: Record<string, unknown>;
  value: number | string;
}

export interface ExplanationDoc {
  ref: string;
  run: string;
  image: string;
  classIndex: number;
  method: string;
  params: Record<string, unknown>;
  width: number;
  height: number;
  encoding: string;
  file: string;
  png: string | null;
  /** The values that map to 0 and 65535 in the PNG; null without a PNG or when no value is finite. */
  min: number | null;
  max: number | null;
  metrics: MetricDoc[];
}

export interface MaskDoc {
  image: string;
  /** A person's name, or null for the ground truth. */
  person: string | null;
  kind: 'class' | 'region' | 'should-highlight';
  file: string;
  width: number;
  height: number;
}

export interface ItemDoc {
  rater: string;
  explanation: string;
  position: number;
  side: 'left' | 'right' | null;
  createdAt: string;
}

export interface SessionDoc {
  ref: string;
  name: string;
  config: Record<string, unknown>;
  blinded: boolean;
  createdAt: string;
  items: ItemDoc[];
}

export interface RevisionDoc {
  correctness: number | null;
  completeness: number | null;
  compactness: number | null;
  comment: string | null;
  wrongFlag: boolean;
  validFrom: string;
  replacedAt: string;
}

export interface RatingDoc {
  /** Session ref and position identify the review item; both null for a rating given outside a session. */
  session: string | null;
  position: number | null;
  rater: string;
  explanation: string;
  /** Unblinded context, for people reading the file (import takes it from the explanation). */
  image: string;
  run: string;
  method: string;
  classIndex: number;
  correctness: number | null;
  completeness: number | null;
  compactness: number | null;
  comment: string | null;
  wrongFlag: boolean;
  createdAt: string;
  updatedAt: string;
  history: RevisionDoc[];
}

/** A file-name-safe, lower-case folder name, unique among `taken` (which it joins). */
export function uniqueFolder(name: string, taken: Set<string>): string {
  const base =
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '') || 'person';
  let folder = base;
  for (let i = 2; taken.has(folder); i++) folder = `${base}-${i}`;
  taken.add(folder);
  return folder;
}

export const metricToDoc = (v: number): number | string => (Number.isFinite(v) ? v : String(v));
export const metricFromDoc = (v: number | string): number =>
  typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number.NaN;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function jsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The one contract between the renderer and the core: every request the renderer may make, with the schema that
 * validates it at the boundary and the type of its answer. Electron's IPC (electron/) and the web mode
 * (src/server/) both implement exactly this, and nothing else reaches the core.
 *
 * No Node or DOM imports here: the renderer imports this file too (types, schemas and the method list).
 */
import { z } from 'zod';

const id = z.number().int().positive();
const split = z.enum(['train', 'val', 'test']);

export const generateOptionsSchema = z
  .object({
    images: z.number().int().min(2).max(100_000),
    positives: z.number().int().min(0).optional(),
    size: z.number().int().min(16).max(1024),
    target: z.string().min(1).max(32).default('triangle'),
    distractors: z.array(z.string().min(1).max(32)).min(1).max(8).default(['circle']),
    shapesPerImage: z.number().int().min(1).max(60).optional(),
    colourCue: z.boolean().default(false),
    fill: z.boolean().default(false),
    rotation: z.boolean().default(true),
    overlap: z.boolean().default(false),
    borderOcclusion: z.boolean().default(false),
    noiseSigma: z.number().min(0).max(128).default(0),
    valFraction: z.number().min(0.05).max(0.9).default(0.25),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1),
  })
  .strict();

export const trainRequestSchema = z
  .object({
    datasetId: id,
    model: z.enum(['expclass', 'xcnn', 'classifier']).default('expclass'),
    size: z.number().int().min(16).max(512).default(64),
    base: z.number().int().min(2).max(64).default(32),
    batchNorm: z.boolean().default(true),
    epochs: z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)]),
    alpha: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]),
    lr: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
    beta: z.number().min(0).max(1).default(0.9),
    gamma: z.number().min(0).default(0),
    l1: z.number().min(0).optional(),
    optimizer: z.enum(['sgd', 'adadelta', 'adam']).default('adam'),
    batchSize: z.number().int().min(1).max(256).default(8),
    seed: z.number().int().min(0).default(1),
    engine: z.enum(['gpu', 'node', 'wasm', 'cpu']).optional(),
  })
  .strict();

// ---- annotation ----
// Boxes and region masks people draw in the workbench (issue 6 §1). Boxes are pixel-edge, half-open
// (src/data/types.ts). Every mutating method is one store transaction and answers with the stored record, so the
// renderer's save queue can treat a 200 as "acknowledged".

const annotationBox = z
  .object({
    x0: z.number().finite(),
    y0: z.number().finite(),
    x1: z.number().finite(),
    y1: z.number().finite(),
  })
  .strict();
const annotationClass = z.string().trim().min(1).max(200);
const annotationMaskKind = z.enum(['region', 'should-highlight']);

export const annotationRequestSchemas = {
  'annotator.set': z.object({ name: z.string().trim().min(1).max(200) }).strict(),
  'annotations.list': z.object({ imageId: id }).strict(),
  'annotations.add': z
    .object({
      imageId: id,
      annotator: id,
      box: annotationBox,
      className: annotationClass,
      difficult: z.boolean().default(false),
    })
    .strict(),
  'annotations.update': z
    .object({ id, box: annotationBox, className: annotationClass, difficult: z.boolean().default(false) })
    .strict(),
  'annotations.delete': z.object({ id }).strict(),
  'annotations.restore': z.object({ id }).strict(),
  'masks.put': z
    .object({
      imageId: id,
      annotator: id,
      kind: annotationMaskKind,
      // 1 MiB request bodies (src/server/http.ts) leave ~750 KiB of PNG; binary masks compress far below that.
      png: z.string().min(8).max(1_000_000),
      width: z.number().int().positive().max(65_535),
      height: z.number().int().positive().max(65_535),
    })
    .strict(),
  'masks.get': z.object({ imageId: id, annotator: id, kind: annotationMaskKind }).strict(),
} as const;

export type AnnotationMaskKind = z.output<typeof annotationMaskKind>;

export interface AnnotatorView {
  id: number;
  name: string;
}

/** One stored box: ground truth (`annotator: null`, read-only) or a person's (editable, soft-deleted). */
export interface AnnotationView {
  id: number;
  imageId: number;
  /** null: the dataset's ground truth. */
  annotator: number | null;
  className: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  difficult: boolean;
  deleted: boolean;
  updatedAt: string;
}

export interface MaskMetaView {
  id: number;
  imageId: number;
  /** null: the dataset's own (class) masks. */
  annotator: number | null;
  kind: string;
  width: number;
  height: number;
  updatedAt: string;
}

export interface AnnotationsListView {
  imageId: number;
  width: number;
  height: number;
  /** The dataset's classes in their order (digit keys 1–9), then other names already used on this image. */
  classes: string[];
  annotators: AnnotatorView[];
  /** Ground truth first (document order), then every annotator's live boxes in creation order. */
  boxes: AnnotationView[];
  masks: MaskMetaView[];
}

/** What `masks.put` stored: the mask's record and how many of its pixels are on. */
export interface MaskSavedView extends MaskMetaView {
  count: number;
}

/** A binary mask as an 8-bit greyscale PNG, 0 = off, 255 = on, base64 (no data: prefix). */
export interface MaskDataView extends MaskSavedView {
  png: string;
}

export interface AnnotationResponses {
  'annotator.set': AnnotatorView;
  'annotations.list': AnnotationsListView;
  'annotations.add': AnnotationView;
  'annotations.update': AnnotationView;
  'annotations.delete': AnnotationView;
  'annotations.restore': AnnotationView;
  'masks.put': MaskSavedView;
  'masks.get': MaskDataView;
}
// ---- end annotation ----

/** Request schemas by method. A method's name is also its IPC channel (`xwb:<name>`) and HTTP path. */
export const requestSchemas = {
  'app.info': z.object({}).strict(),
  'datasets.list': z.object({}).strict(),
  'datasets.import': z
    .object({
      dir: z.string().min(1).max(4096),
      name: z.string().min(1).max(200).optional(),
      target: z.string().optional(),
    })
    .strict(),
  'datasets.generate': z
    .object({ name: z.string().min(1).max(200), options: generateOptionsSchema })
    .strict(),
  'datasets.demo': z.object({}).strict(),
  'images.list': z
    .object({
      datasetId: id,
      split: split.optional(),
      label: z.string().optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(5000).default(500),
    })
    .strict(),
  'images.detail': z.object({ imageId: id }).strict(),
  'runs.list': z.object({ datasetId: id.optional() }).strict(),
  'runs.get': z.object({ runId: id }).strict(),
  'train.start': trainRequestSchema,
  'train.cancel': z.object({ runId: id }).strict(),
  predict: z.object({ runId: id, imageId: id }).strict(),
  explain: z
    .object({
      runId: id,
      imageId: id,
      method: z.string().min(1).max(64),
      classIndex: z.number().int().min(0).optional(),
      params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    })
    .strict(),
  'explain.methods': z.object({}).strict(),
  ...annotationRequestSchemas,
  'metrics.table': z.object({ runId: id }).strict(),
} as const;

export type Method = keyof typeof requestSchemas;
export const METHODS = Object.keys(requestSchemas) as Method[];
export type Request<M extends Method> = z.input<(typeof requestSchemas)[M]>;
export type ValidRequest<M extends Method> = z.output<(typeof requestSchemas)[M]>;
export type GenerateOptions = z.output<typeof generateOptionsSchema>;
export type TrainRequest = z.output<typeof trainRequestSchema>;

// ---- answers (plain JSON) ----

export interface EngineView {
  name: string;
  backend: string;
  device: string;
}

export interface AppInfo {
  version: string;
  storePath: string;
  engine: EngineView | null;
  /** 'electron' or 'web'. */
  transport: string;
}

export interface BoxView {
  name: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  difficult: boolean;
  truncated: boolean;
}

export interface DatasetView {
  id: number;
  name: string;
  kind: string;
  sourcePath: string | null;
  classes: string[];
  targetClass: string | null;
  imageCount: number;
  objectCount: number;
  labelCounts: { label: string | null; count: number }[];
  splitCounts: { train: number; val: number; test: number; unassigned: number };
  sizes: { width: number; height: number; count: number }[];
}

export interface ImageView {
  id: number;
  datasetId: number;
  relPath: string;
  fileName: string;
  width: number;
  height: number;
  channels: number;
  label: string | null;
  split: 'train' | 'val' | 'test' | null;
  /** URL of the image bytes, valid for this transport (web: with the launch token; Electron: xwb://). */
  url: string;
}

export interface ImageDetail extends ImageView {
  boxes: BoxView[];
}

export interface ImageListView {
  total: number;
  offset: number;
  items: ImageView[];
}

export interface ImportResultView {
  datasetId: number;
  name: string;
  created: boolean;
  found: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: { file: string; message: string }[];
  warnings: number;
}

export interface EpochView {
  phase: string;
  epoch: number;
  metrics: Record<string, number | string | null>;
  seconds: number;
}

export interface RunView {
  id: number;
  datasetId: number;
  model: string;
  status: string;
  engine: string;
  device: string | null;
  phase: string | null;
  epoch: number | null;
  error: string | null;
  createdAt: string;
  config: Record<string, unknown>;
}

export interface RunDetail extends RunView {
  epochs: EpochView[];
}

export interface PredictionView {
  probs: number[];
  classIndex: number;
  className: string;
}

export interface ExplanationView {
  method: string;
  classIndex: number;
  width: number;
  height: number;
  min: number;
  max: number;
  /** Float32 little-endian, row-major, width × height. */
  url: string;
  cached: boolean;
  /** Metric values measured on this map, by metric name (NaN/unmeasurable as null), when any were measured. */
  metrics?: Record<string, number | null>;
}

/**
 * One row of a run's method × metric table (`metrics.table`): the stored values of one metric, measured with one
 * parameter set, over the explanations of one method. Mean/SD/CI are null when undefined (n < 2 for SD and CI).
 */
export interface MetricsTableRow {
  method: string;
  metric: string;
  paramsHash: string;
  params: Record<string, unknown>;
  /** null for a metric this version does not know. */
  higherIsBetter: boolean | null;
  mean: number | null;
  sd: number | null;
  /** Student-t 95 % interval of the mean. */
  ci95: [number | null, number | null];
  n: number;
  /** Explanations where the metric is undefined (e.g. no box of the class). */
  nanCount: number;
}

export interface MetricsTableView {
  runId: number;
  rows: MetricsTableRow[];
}

export interface MethodInfo {
  name: string;
  family: string;
}

export interface Responses extends AnnotationResponses {
  'app.info': AppInfo;
  'datasets.list': DatasetView[];
  'datasets.import': ImportResultView;
  'datasets.generate': ImportResultView;
  'datasets.demo': ImportResultView | null;
  'images.list': ImageListView;
  'images.detail': ImageDetail;
  'runs.list': RunView[];
  'runs.get': RunDetail;
  'train.start': { runId: number };
  'train.cancel': { cancelled: boolean };
  predict: PredictionView;
  explain: ExplanationView;
  'explain.methods': MethodInfo[];
  'metrics.table': MetricsTableView;
}

/** Events pushed to the renderer (SSE in web mode, `xwb:event` in Electron). */
export type XwbEvent =
  | { type: 'train.started'; runId: number }
  | {
      type: 'train.progress';
      runId: number;
      phase: string;
      epoch: number;
      epochs: number;
      step: number;
      steps: number;
      etaSeconds: number | null;
    }
  | { type: 'train.epoch'; runId: number; epoch: EpochView }
  | { type: 'train.finished'; runId: number; status: string; error: string | null };

/** An error the renderer shows where the user is working; `field` names the form field at fault. */
export interface ApiErrorBody {
  error: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Validates a request at the boundary; the message names the offending field. */
export function validateRequest<M extends Method>(method: M, body: unknown): ValidRequest<M> {
  const schema = requestSchemas[method];
  if (!schema) throw new ApiError(`unknown method "${String(method)}"`, 404);
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || undefined;
    throw new ApiError(
      `${method}: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid request'}`,
      400,
      field,
    );
  }
  return r.data as ValidRequest<M>;
}

export function isMethod(name: string): name is Method {
  return Object.hasOwn(requestSchemas, name);
}

/**
 * The one contract between the renderer and the core: every request the renderer may make, with the schema that
 * validates it at the boundary and the type of its answer. Electron's IPC (electron/) and the web mode
 * (src/server/) both implement exactly this, and nothing else reaches the core.
 *
 * No Node or DOM imports here: the renderer imports this file too (types, schemas and the method list).
 */
import { z } from 'zod';
import { validationMessage } from './messages.js';

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
    /**
     * The model (defaults expclass, 64 px, base 32, batch norm on). With initFrom, what is left out is taken
     * from the source run, and a value that differs from the source's is refused.
     */
    model: z.enum(['expclass', 'xcnn', 'classifier']).optional(),
    size: z.number().int().min(16).max(512).optional(),
    base: z.number().int().min(2).max(64).optional(),
    batchNorm: z.boolean().optional(),
    /** expclass: the paper's own layout (`xwb train --faithful`: transposed convs, tanh-then-ReLU head, no BN). */
    faithful: z.boolean().optional(),
    /** Start from another run's weights (fine-tuning): its final (best) or its last checkpoint. */
    initFrom: z
      .object({ runId: id, checkpoint: z.enum(['best', 'last']).default('best') })
      .strict()
      .optional(),
    /** Which of the model kind's phases run (the others get 0 epochs); default all. */
    phases: z
      .array(z.enum(['classifier', 'explainer', 'joint']))
      .min(1)
      .max(3)
      .optional(),
    epochs: z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)]),
    alpha: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]),
    lr: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
    beta: z.number().min(0).max(1).default(0.9),
    gamma: z.number().min(0).default(0),
    /**
     * What the hybrid term (γ > 0) pulls the explanation towards: ground-truth boxes or class masks, or marks
     * people made in xwb (annotators' regions, raters' should-highlight masks). Default: ground-truth boxes.
     */
    maskSource: z
      .enum(['gt-boxes', 'gt-mask', 'annotator-boxes', 'regions', 'should-highlight', 'human'])
      .optional(),
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
const baseVersion = z.number().int().min(1).optional();

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
      /** Chosen by the client, unique per annotator: an add retried after a lost answer is stored once. */
      clientKey: z.string().min(1).max(200).optional(),
    })
    .strict(),
  'annotations.update': z
    .object({
      id,
      box: annotationBox,
      className: annotationClass,
      difficult: z.boolean().default(false),
      /** The version the change is based on: a stale one (someone else changed the box) is refused with 409. */
      version: baseVersion,
    })
    .strict(),
  'annotations.delete': z.object({ id, version: baseVersion }).strict(),
  'annotations.restore': z.object({ id, version: baseVersion }).strict(),
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
  /** Raised by every change; send it back with the next change of this box (optimistic concurrency). */
  version: number;
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

// ---- review ----
// Blinded rating of explanations by clinicians (issue 6 §2). A blinded item view carries no method name, run id or
// parameters; the explanation's URL is by id, which the brief accepts. `review.rate` answers only after the store's
// transaction has committed, so the renderer may show "saved" on a 200 and must retry anything else.

const reviewScore = z.number().int().min(1).max(5).nullable();
const raterName = z.string().trim().min(1).max(200);

export const reviewRequestSchemas = {
  'review.create': z
    .object({
      name: z.string().trim().min(1).max(200),
      runIds: z.array(id).min(1).max(16),
      methods: z.array(z.string().min(1).max(64)).min(1).max(32),
      sample: z
        .object({
          split,
          n: z.number().int().min(1).max(10_000),
          seed: z
            .number()
            .int()
            .min(0)
            .max(2 ** 32 - 1)
            .default(0),
        })
        .strict(),
      raters: z.array(raterName).min(1).max(100),
      blinded: z.boolean().default(true),
      pairwise: z.boolean().default(false),
      /**
       * The class rated in every image: 'target' (the ground-truth label, what `xwb eval` measures), 'predicted'
       * (the model's prediction, what the viewer shows; the default) or a class index.
       */
      classChoice: z.union([z.enum(['target', 'predicted']), z.number().int().min(0)]).optional(),
      /** Same as a numeric classChoice (the first version's field). */
      classIndex: z.number().int().min(0).optional(),
    })
    .strict(),
  'review.sessions': z.object({}).strict(),
  /** The owner's: one rater link (capability) per rater of the session, valid until the server stops. */
  'review.raterLinks': z.object({ sessionId: id }).strict(),
  /** The owner's: measure the metrics the analysis correlates on the session's explanations (a background job). */
  'review.evaluate': z.object({ sessionId: id }).strict(),
  'review.evaluateCancel': z.object({ jobId: id }).strict(),
  'review.next': z
    .object({
      sessionId: id,
      rater: raterName,
      /** Items whose rating the renderer still has in its save queue: answer with the first open item after them. */
      skip: z.array(id).max(10_000).default([]),
    })
    .strict(),
  'review.rate': z
    .object({
      itemId: id,
      correctness: reviewScore,
      completeness: reviewScore,
      compactness: reviewScore,
      comment: z.string().max(20_000).nullable().default(null),
      wrongFlag: z.boolean().default(false),
      /** Where the explanation should have looked: a PNG at the image's size, base64 (no data: prefix). */
      shouldHighlight: z.string().min(8).max(1_000_000).optional(),
    })
    .strict(),
  'review.summary': z.object({ sessionId: id }).strict(),
  /**
   * The owner's (team mode): give a reviewer account a session to rate (items are added for them when the session
   * was created without them), or take it away (`assigned: false`; their ratings stay).
   */
  'review.assign': z
    .object({ sessionId: id, user: z.string().trim().min(1).max(64), assigned: z.boolean().default(true) })
    .strict(),
  /** The owner's (team mode): who is assigned to a session, with their item counts (what `review.assign` answers). */
  'review.assignees': z.object({ sessionId: id }).strict(),
  /** The owner's (team mode): the accounts, to pick reviewers from (names and roles only). */
  'team.users': z.object({}).strict(),
} as const;

export interface ReviewAssignView {
  sessionId: number;
  /** Every account assigned to the session, with how many items they have. */
  assigned: { user: string; role: string; items: number }[];
}

export interface TeamUserView {
  name: string;
  role: 'owner' | 'reviewer' | 'viewer';
}

export interface ReviewProgressView {
  rater: string;
  done: number;
  total: number;
}

/** A session as the picker shows it: no method names or run ids (the picker sits on the rating screen). */
export interface ReviewSessionView {
  id: number;
  name: string;
  blinded: boolean;
  pairwise: boolean;
  createdAt: string;
  raters: ReviewProgressView[];
}

export interface ReviewCreatedView {
  session: ReviewSessionView;
  /** Explanations computed for the session (the rest were in the store already). */
  computed: number;
  explanations: number;
  items: number;
}

export interface ReviewRatingValuesView {
  correctness: 1 | 2 | 3 | 4 | 5 | null;
  completeness: 1 | 2 | 3 | 4 | 5 | null;
  compactness: 1 | 2 | 3 | 4 | 5 | null;
  comment: string | null;
  wrongFlag: boolean;
}

export interface ReviewItemView {
  itemId: number;
  /** 0-based place in the rater's order. */
  position: number;
  /** "Explanation 7", or "Explanation A"/"B" side by side: tied to the place, never to the method. */
  label: string;
  side: 'left' | 'right' | null;
  image: { url: string; width: number; height: number };
  className: string | null;
  /** Float32 little-endian, row-major, image width × height (as `explain` serves it). */
  explanation: { url: string; width: number; height: number };
  /** The rater's saved values, when coming back to an item. */
  rating: (ReviewRatingValuesView & { updatedAt: string }) | null;
  /** Only in sessions that are not blinded. */
  unblinded?: { method: string; runId: number };
}

export interface ReviewNextView {
  sessionId: number;
  rater: { id: number; name: string };
  blinded: boolean;
  /** Items with all three criteria acknowledged, and the rater's total. */
  done: number;
  total: number;
  /** null: the rater is done (or every open item is in `skip`). */
  item: ReviewItemView | null;
  /** Side by side: the other explanation of the pair, shown for reference. */
  partner: ReviewItemView | null;
}

export interface ReviewRatedView extends ReviewRatingValuesView {
  itemId: number;
  ratingId: number;
  updatedAt: string;
  /** Pixels marked "should have been highlighted" that were stored with the rating (0: no mask sent). */
  maskPixels: number;
  done: number;
  total: number;
}

/** Mean, interval and counts; NaN from the core becomes null in JSON. */
export interface ReviewStatView {
  mean: number | null;
  sd: number | null;
  n: number;
  ci95: [number | null, number | null];
}

export interface ReviewCorrelationView {
  rho: number | null;
  n: number;
  p: number | null;
  ci95: [number | null, number | null];
}

export type ReviewScoreKey = 'correctness' | 'completeness' | 'compactness' | 'mean';

export interface ReviewSummaryView {
  sessionId: number;
  ratings: number;
  raters: string[];
  explanations: number;
  agreement: Record<
    'correctness' | 'completeness' | 'compactness',
    {
      alphaOrdinal: number | null;
      alphaInterval: number | null;
      pairableUnits: number;
      fleissKappa: number | null;
      fleissUnits: number;
      fleissDroppedUnits: number;
    }
  >;
  methods: {
    method: string;
    runId: number;
    explanations: number;
    scores: Record<ReviewScoreKey, ReviewStatView>;
  }[];
  metrics: {
    metric: string;
    paramsHash: string;
    params: Record<string, unknown>;
    correlations: Record<ReviewScoreKey, ReviewCorrelationView>;
  }[];
  /** The latest evaluation started for this session since the server started, if any. */
  evaluation: ReviewEvalJobView | null;
}

/** A background evaluation of a session's explanations, started from the analysis. */
export interface ReviewEvalJobView {
  jobId: number;
  sessionId: number;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  /** Explanations measured so far, of `total` (each with every metric). */
  done: number;
  total: number;
  /** Metric values stored. */
  values: number;
  error: string | null;
}

export interface ReviewRaterLinksView {
  sessionId: number;
  /** The token goes into the address as `/?rater=<token>`. */
  links: { rater: string; token: string }[];
}

export interface ReviewResponses {
  'review.create': ReviewCreatedView;
  'review.sessions': ReviewSessionView[];
  'review.raterLinks': ReviewRaterLinksView;
  'review.evaluate': ReviewEvalJobView;
  'review.evaluateCancel': { cancelled: boolean };
  'review.next': ReviewNextView;
  'review.rate': ReviewRatedView;
  'review.summary': ReviewSummaryView;
  'review.assign': ReviewAssignView;
  'review.assignees': ReviewAssignView;
  'team.users': TeamUserView[];
}

/** Explanations being computed for a new session (emitted at most a few times a second). */
export type ReviewEvent =
  | {
      type: 'review.progress';
      name: string;
      done: number;
      total: number;
      stage: 'explaining' | 'creating';
    }
  | ({ type: 'review.eval' } & ReviewEvalJobView);
// ---- end review ----

// ---- jobs ----
// Long work started from the workbench (issue 12): export, batch explain, evaluation. Each runs as a job
// (src/jobs/): status, progress and result are stored, so a reloaded page lists it again; `job.update` events
// carry every change.

const classChoice = z.union([z.enum(['predicted', 'target']), z.number().int().min(0)]);
const methodList = z.array(z.string().trim().min(1).max(64)).min(1).max(32);
const batchJob = {
  runId: id,
  /** Method names or families, or ['all']; default explainer (when the model has one), gradient, gradcam. */
  methods: methodList.optional(),
  split: z.enum(['train', 'val', 'test', 'trainval']).default('val'),
  /** The first N images of the split (all when left out). */
  limit: z.number().int().min(1).max(100_000).optional(),
  batchSize: z.number().int().min(1).max(256).default(8),
  engine: z.enum(['gpu', 'node', 'wasm', 'cpu']).optional(),
};

export const EXPORT_PARTS = ['ratings', 'masks', 'explanations'] as const;

export const jobRequestSchemas = {
  'jobs.list': z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(),
  'jobs.get': z.object({ jobId: id }).strict(),
  'jobs.cancel': z.object({ jobId: id }).strict(),
  'export.start': z
    .object({
      datasetId: id,
      /** A folder on the machine the workbench runs on; it must not exist or be empty. */
      outDir: z.string().trim().min(1).max(4096),
      with: z.array(z.enum(EXPORT_PARTS)).max(3).default([]),
    })
    .strict(),
  'explain.start': z.object({ ...batchJob, classChoice: classChoice.default('predicted') }).strict(),
  'eval.start': z
    .object({
      ...batchJob,
      classChoice: classChoice.default('target'),
      /** 'default', 'all', families or names, as `xwb eval --metrics`. */
      metrics: z.string().trim().min(1).max(1000).default('default'),
    })
    .strict(),
} as const;

export type ExportJobParams = z.output<(typeof jobRequestSchemas)['export.start']>;
export type ExplainJobParams = z.output<(typeof jobRequestSchemas)['explain.start']>;
export type EvalJobParams = z.output<(typeof jobRequestSchemas)['eval.start']>;

export type JobStatusView = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobView {
  id: number;
  kind: string;
  label: string;
  status: JobStatusView;
  params: Record<string, unknown>;
  /** Overall progress in the task's units; `stage` says what it is doing. */
  progress: { done: number; total: number; stage: string | null } | null;
  /** While running: the time left at the rate since the first progress report. */
  etaSeconds: number | null;
  /** What the task answered (plain JSON), once done. */
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobResponses {
  'jobs.list': JobView[];
  'jobs.get': JobView;
  'jobs.cancel': { cancelled: boolean };
  'export.start': JobView;
  'explain.start': JobView;
  'eval.start': JobView;
}
// ---- end jobs ----

/**
 * The gallery's sorts and rating filters (what each means: src/store/gallery.ts, whose own lists the service
 * checks these against at compile time; the renderer cannot import the store).
 */
export const GALLERY_SORTS = ['path', 'confidence', 'rating', 'wrong'] as const;
export const RATING_FILTERS = ['rated', 'unrated', 'low', 'high', 'flagged'] as const;
export type GallerySortName = (typeof GALLERY_SORTS)[number];
export type RatingFilterName = (typeof RATING_FILTERS)[number];

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
  /** Trains the small demo model on the demo dataset unless it has a run already (first start). */
  'datasets.demoTrain': z.object({}).strict(),
  'images.list': z
    .object({
      datasetId: id,
      split: split.optional(),
      label: z.string().optional(),
      /** The run whose stored predictions and ratings the items carry and the filters below use. */
      runId: id.optional(),
      /** Predicted class index (needs runId). */
      predicted: z.number().int().min(0).optional(),
      /** The stored prediction matches the label (needs runId). */
      correct: z.boolean().optional(),
      rating: z.enum(RATING_FILTERS).optional(),
      /** 'confidence' and 'wrong' need runId. */
      sort: z.enum(GALLERY_SORTS).default('path'),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(5000).default(500),
    })
    .strict(),
  'images.detail': z.object({ imageId: id }).strict(),
  'runs.list': z.object({ datasetId: id.optional() }).strict(),
  'runs.get': z.object({ runId: id }).strict(),
  'train.start': trainRequestSchema,
  'train.cancel': z.object({ runId: id }).strict(),
  /** Continue a failed or cancelled run from its last checkpoint (`xwb train --resume`). */
  'train.resume': z.object({ runId: id, engine: z.enum(['gpu', 'node', 'wasm', 'cpu']).optional() }).strict(),
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
  ...reviewRequestSchemas,
  ...jobRequestSchemas,
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
  /**
   * Who is asking: the owner (launch token, desktop, or a team owner account), a rater who opened a rater link,
   * or a team account's reviewer or viewer role.
   */
  role: 'owner' | 'rater' | 'reviewer' | 'viewer';
  /** A rater's own session and name. */
  rater?: { sessionId: number; name: string };
  /** Team mode: the signed-in account (the renderer shows its name and a sign-out button). */
  account?: { name: string; role: 'owner' | 'reviewer' | 'viewer' };
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
  /** Base URL of its thumbnails (append `?size=64|128|256`), or null where the transport serves none. */
  thumbUrl: string | null;
  /** images.list with a runId: the run's stored prediction (null when none is stored). */
  prediction?: StoredPredictionView | null;
  /** images.list: the ratings of the image's explanations (of the run, when one is given); null when unrated. */
  rating?: { mean: number | null; count: number; flagged: boolean } | null;
}

/** A run's stored prediction of one image (the gallery's filters). */
export interface StoredPredictionView {
  classIndex: number;
  className: string;
  probability: number;
  /** null when the image has no label among the run's classes. */
  correct: boolean | null;
}

export interface ImageDetail extends ImageView {
  boxes: BoxView[];
}

export interface ImageListView {
  total: number;
  offset: number;
  items: ImageView[];
  /** With a runId: how many of the run's images have a stored prediction (0: offer the batch-explain job). */
  predictions: number | null;
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
  /** What is wrong with the explainer's map as of the run's latest epoch (empty when nothing is). */
  warnings: TrainWarningView[];
}

/** A problem of the explainer's map found after an epoch (src/training/diagnostics.ts), with what to change. */
export interface TrainWarningView {
  phase: string;
  epoch: number;
  code: 'dead' | 'flat' | 'saturated' | 'lost';
  message: string;
  advice: string;
}

export interface PredictionView {
  probs: number[];
  classIndex: number;
  className: string;
  /** The run's class names in output order (probs[i] is classes[i]), so a class picker can name every class. */
  classes: string[];
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
  /**
   * LRP-family maps only: Σ relevance ÷ explained logit, 1 when all of the logit reaches the pixels (z+ and α-β
   * lose the part carried by biases); null when undefined (a zero logit); absent for other methods.
   */
  conservation?: number | null;
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

export interface Responses extends AnnotationResponses, ReviewResponses, JobResponses {
  'app.info': AppInfo;
  'datasets.list': DatasetView[];
  'datasets.import': ImportResultView;
  'datasets.generate': ImportResultView;
  'datasets.demo': ImportResultView | null;
  /** The demo dataset's run (newest) and whether this call started it; runId null without a demo dataset. */
  'datasets.demoTrain': { runId: number | null; started: boolean };
  'images.list': ImageListView;
  'images.detail': ImageDetail;
  'runs.list': RunView[];
  'runs.get': RunDetail;
  'train.start': { runId: number };
  'train.cancel': { cancelled: boolean };
  'train.resume': { runId: number };
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
  | ({ type: 'train.warning'; runId: number } & TrainWarningView)
  | { type: 'train.finished'; runId: number; status: string; error: string | null }
  /** A run's stored status changed (queued → running …): the runs table shows the store's word. */
  | { type: 'run.status'; runId: number; status: string }
  | { type: 'job.update'; job: JobView }
  | ExplainPartialEvent
  | ReviewEvent;

/**
 * A coarse map of an explanation still being computed (integrated gradients on a coarser grid, SmoothGrad on
 * its first samples, occlusion's first windows), for the viewer to show until `explain` answers with the
 * exact map. At the image's resolution, like the map the answer's url serves.
 */
export interface ExplainPartialEvent {
  type: 'explain.partial';
  runId: number;
  imageId: number;
  method: string;
  classIndex: number;
  width: number;
  height: number;
  min: number;
  max: number;
  /** Float32 little-endian, row-major, width × height, base64. */
  data: string;
  note: string;
}

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

/** Validates a request at the boundary; the message is a sentence naming the field (messages.ts). */
export function validateRequest<M extends Method>(method: M, body: unknown): ValidRequest<M> {
  const schema = requestSchemas[method];
  if (!schema) throw new ApiError(`unknown method "${String(method)}"`, 404);
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const field = r.error.issues[0]?.path.join('.') || undefined;
    throw new ApiError(validationMessage(r.error.issues), 400, field);
  }
  return r.data as ValidRequest<M>;
}

export function isMethod(name: string): name is Method {
  return Object.hasOwn(requestSchemas, name);
}

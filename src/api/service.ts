import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { datasetsFolder } from '../data/demo.js';
import { defaultShapeCount } from '../data/synthetic/options.js';
import { explanationAtImage, f32leBytes } from '../explain/store.js';
import type {
  DatasetSummary,
  EpochRecord,
  GallerySort,
  ImageRecord,
  RatingFilter,
  Run,
  Store,
} from '../store/index.js';
import { GROUND_TRUTH } from '../store/index.js';
import type { PhaseName } from '../training/config.js';
import { epochWarning } from '../training/diagnostics.js';
import { actionOf, authorise, type Caller, OWNER } from './access.js';
import {
  ApiError,
  type AppInfo,
  type DatasetView,
  type EpochView,
  type ImageView,
  type ImportResultView,
  type Method,
  type Responses,
  type RunView,
  type TrainWarningView,
  type ValidRequest,
  type XwbEvent,
} from './contract.js';

/** How a transport turns a resource into a URL the renderer can load (web: /files/…?token=; Electron: xwb://). */
export interface UrlBuilder {
  image(imageId: number): string;
  explanation(explanationId: number): string;
  /**
   * A small copy of the image for grids, `?size=` appended by the renderer (web mode: /files/thumb/<id>).
   * Transports without a thumbnail route leave it out and the grid loads the original.
   */
  thumb?(imageId: number): string;
}

/** What a handler knows of the call besides the request: who makes it (already authorised for the method). */
export interface CallContext {
  caller: Caller;
}

export type Handler<M extends Method> = (req: ValidRequest<M>, ctx: CallContext) => Promise<Responses[M]>;
export type Handlers = { [M in Method]: Handler<M> };

export interface ServiceOptions {
  store: Store;
  urls: UrlBuilder;
  transport: 'web' | 'electron';
  version: string;
  /** Where generated datasets go; default `<store folder>/datasets`. */
  datasetsDir?: string;
}

/** Errors the import raises about the folder it was given: the user's to fix, so 4xx rather than 500. */
const IMPORT_USER_ERRORS = new Set(['ImportError', 'DatasetLayoutError', 'RatedImportError']);
const IMPORT_USER_CODES = new Set([
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'ELOOP',
  'ENAMETOOLONG',
]);

function importRequestError(e: unknown): unknown {
  if (e instanceof ApiError || !(e instanceof Error)) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (!IMPORT_USER_ERRORS.has(e.name) && !(code && IMPORT_USER_CODES.has(code))) return e;
  // A name clash is a conflict with what the store holds; everything else is about the folder.
  if (/already exists/.test(e.message)) return new ApiError(e.message, 409, 'name');
  if (/^--target /.test(e.message)) return new ApiError(e.message, 400, 'target');
  return new ApiError(e.message, 400, 'dir');
}

/**
 * The core behind the contract. Both transports call these handlers after validating the request; the handlers
 * turn store records into the contract's plain views. Long work (training) runs in a worker; the service only
 * starts it and relays its events.
 */
export class XwbService {
  readonly events = new EventEmitter<{ event: [XwbEvent] }>();
  readonly store: Store;
  private readonly urls: UrlBuilder;
  private readonly datasetsDir: string;
  private readonly extra: Partial<Handlers> = {};

  constructor(private readonly opts: ServiceOptions) {
    this.store = opts.store;
    this.urls = opts.urls;
    this.datasetsDir = opts.datasetsDir ?? datasetsFolder(opts.store);
  }

  private readonly closers: (() => void | Promise<void>)[] = [];

  /** Work to stop when the transport shuts down (training workers, cached models). */
  onClose(fn: () => void | Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closers.splice(0).reverse()) await fn();
  }

  /** Lets later modules (training, explanations) add their handlers without this file importing tfjs. */
  register<M extends Method>(method: M, handler: Handler<M>): void {
    (this.extra as Record<string, unknown>)[method] = handler;
  }

  emit(event: XwbEvent): void {
    this.events.emit('event', event);
  }

  /**
   * The secret rater capabilities are signed with (src/api/access.ts): in memory only, new for every service, so
   * a restart invalidates every rater link as it does the launch token.
   */
  readonly capabilitySecret: Buffer = randomBytes(32);

  /**
   * Calls a method as `caller` (default the owner: the desktop app and in-process callers). Every call is
   * authorised here, before its handler runs, by the one rule in access.ts.
   */
  async call<M extends Method>(
    method: M,
    req: ValidRequest<M>,
    caller: Caller = OWNER,
  ): Promise<Responses[M]> {
    authorise(this.store, caller, actionOf(method, req));
    const own = this.handlers[method] as Handler<M> | undefined;
    const handler = (this.extra[method] as Handler<M> | undefined) ?? own;
    if (!handler) throw new ApiError(`${method} is not available in this build`, 501);
    return handler(req, { caller });
  }

  /** The original behind an image's thumbnail, with its content hash (the thumbnail cache's key). */
  thumbnailSource(imageId: number): { file: string; sha256: string } {
    const { file } = this.imageFile(imageId);
    return { file, sha256: this.store.images.get(imageId)!.sha256 };
  }

  /** The file behind an image URL, checked to lie inside its dataset's folder (no path escapes). */
  imageFile(imageId: number): { file: string; format: string } {
    const im = this.store.images.get(imageId);
    if (!im) throw new ApiError(`no image ${imageId}`, 404);
    const ds = this.store.datasets.getById(im.datasetId);
    if (!ds?.sourcePath) throw new ApiError(`image ${imageId} has no dataset folder`, 404);
    const root = resolve(ds.sourcePath);
    const file = resolve(root, im.relPath);
    if (!file.startsWith(root + sep))
      throw new ApiError(`image ${imageId}: path escapes its dataset folder`, 403);
    if (!existsSync(file))
      throw new ApiError(`${file}: the image file is missing (moved since the import?)`, 404);
    // A symbolic link inside the dataset folder must not lead out of it either.
    const realFile = realpathSync(file);
    if (!realFile.startsWith(realpathSync(root) + sep)) {
      throw new ApiError(`image ${imageId}: ${file} links outside its dataset folder`, 403);
    }
    return { file: realFile, format: im.format };
  }

  /**
   * The map behind an explanation URL as float32 little-endian, row-major, at its image's width × height, whatever
   * the stored encoding and resolution (explain/store.ts keeps maps at the model's input size, mostly as f16).
   */
  explanationData(explanationId: number): Buffer {
    const e = this.store.explanations.getById(explanationId);
    if (!e) throw new ApiError(`no explanation ${explanationId}`, 404);
    try {
      return f32leBytes(explanationAtImage(this.store, e).data);
    } catch (err) {
      throw new ApiError((err as Error).message, 500);
    }
  }

  /** The URL of an explanation's float32 map for this transport. */
  explanationUrl(explanationId: number): string {
    return this.urls.explanation(explanationId);
  }

  /** What the app says about itself to `caller` (without the engine, which handlers.ts adds for the owner). */
  appInfo(caller: Caller): AppInfo {
    if (caller.role === 'rater') {
      // A rater learns their own session and name, not where the store lives.
      const name = this.store.ratings.getRater(caller.raterId)?.name ?? `rater ${caller.raterId}`;
      return {
        version: this.opts.version,
        storePath: '',
        engine: null,
        transport: this.opts.transport,
        role: 'rater',
        rater: { sessionId: caller.sessionId, name },
      };
    }
    if (caller.role === 'reviewer') {
      // A reviewer, like a rater, is not told where the store lives.
      return {
        version: this.opts.version,
        storePath: '',
        engine: null,
        transport: this.opts.transport,
        role: 'reviewer',
        account: { name: caller.account.name, role: 'reviewer' },
      };
    }
    const account = caller.account && {
      name: caller.account.name,
      role: caller.role === 'viewer' ? ('viewer' as const) : ('owner' as const),
    };
    return {
      version: this.opts.version,
      storePath: this.store.path,
      engine: null,
      transport: this.opts.transport,
      role: caller.role,
      ...(account ? { account } : {}),
    };
  }

  private imageView(im: ImageRecord): ImageView {
    return {
      id: im.id,
      datasetId: im.datasetId,
      relPath: im.relPath,
      fileName: im.fileName,
      width: im.width,
      height: im.height,
      channels: im.channels,
      label: im.label,
      split: im.split,
      url: this.urls.image(im.id),
      thumbUrl: this.urls.thumb ? this.urls.thumb(im.id) : null,
    };
  }

  private readonly handlers: Partial<Handlers> = {
    'app.info': async (_req, { caller }) => this.appInfo(caller),
    'datasets.list': async () => this.store.datasets.list().map(datasetView),
    'datasets.import': async (req) => {
      const { importDataset } = await import('../data/import/import.js');
      try {
        const report = await importDataset(this.store, req.dir, { name: req.name, target: req.target });
        return importView(report);
      } catch (e) {
        throw importRequestError(e);
      }
    },
    'datasets.generate': async (req) => {
      if (this.store.datasets.getByName(req.name)) {
        throw new ApiError(`a dataset named "${req.name}" already exists; choose another name`, 409, 'name');
      }
      const dir = join(this.datasetsDir, safeFolderName(req.name));
      if (existsSync(dir)) throw new ApiError(`${dir} already exists; choose another name`, 409, 'name');
      const { generateDataset } = await import('../data/synthetic/generate.js');
      const { importDataset } = await import('../data/import/import.js');
      const o = req.options;
      try {
        await generateDataset(dir, {
          images: o.images,
          positives: o.positives,
          width: o.size,
          height: o.size,
          target: o.target,
          distractors: o.distractors,
          shapesPerImage: o.shapesPerImage ?? defaultShapeCount(o.size, o.size),
          colourCue: o.colourCue,
          fill: o.fill,
          rotation: o.rotation,
          overlap: o.overlap,
          borderOcclusion: o.borderOcclusion,
          noiseSigma: o.noiseSigma,
          split: { train: 1 - o.valFraction, val: o.valFraction, test: 0 },
          seed: o.seed,
        });
      } catch (e) {
        // Generator option errors name the option; they belong next to the form, not in a crash dialog.
        throw new ApiError((e as Error).message, 400, 'options');
      }
      return importView(await importDataset(this.store, dir, { name: req.name }));
    },
    'datasets.demo': async () => {
      const { ensureDemoDataset } = await import('../data/demo.js');
      const report = await ensureDemoDataset(this.store);
      return report && importView(report);
    },
    'images.list': async (req) => {
      const dataset = this.store.datasets.getById(req.datasetId);
      if (!dataset) throw new ApiError(`no dataset ${req.datasetId}`, 404);
      if (req.runId !== undefined) {
        const run = this.store.runs.get(req.runId);
        if (!run) throw new ApiError(`no run ${req.runId}`, 404, 'runId');
        if (run.datasetId !== req.datasetId) {
          throw new ApiError(
            `run ${req.runId} was trained on dataset ${run.datasetId}, not on dataset ${req.datasetId}`,
            400,
            'runId',
          );
        }
      }
      const needsRun =
        req.predicted !== undefined ||
        req.correct !== undefined ||
        ['confidence', 'wrong'].includes(req.sort);
      if (needsRun && req.runId === undefined) {
        throw new ApiError('filtering or sorting by prediction needs a run: choose one', 400, 'runId');
      }
      // The contract's lists and the store's must agree (a compile error here says they drifted).
      const sort: GallerySort = req.sort;
      const rating: RatingFilter | undefined = req.rating;
      const page = this.store.gallery.page({
        datasetId: req.datasetId,
        runId: req.runId,
        split: req.split,
        label: req.label,
        predicted: req.predicted,
        correct: req.correct,
        rating,
        sort,
        offset: req.offset,
        limit: req.limit,
      });
      const classes = dataset.classes;
      return {
        total: page.total,
        offset: req.offset,
        predictions: req.runId === undefined ? null : this.store.predictions.count(req.runId),
        items: page.rows.map((r) => ({
          ...this.imageView(r.image),
          ...(req.runId === undefined
            ? {}
            : {
                prediction: r.prediction && {
                  classIndex: r.prediction.classIndex,
                  className: classes[r.prediction.classIndex] ?? String(r.prediction.classIndex),
                  probability: r.prediction.probability,
                  correct: r.prediction.correct,
                },
              }),
          rating: r.rating,
        })),
      };
    },
    'images.detail': async (req) => {
      const im = this.store.images.get(req.imageId);
      if (!im) throw new ApiError(`no image ${req.imageId}`, 404);
      const boxes = this.store.objects.list(im.id, { source: GROUND_TRUTH }).map(({ object: o }) => ({
        name: o.name,
        x0: o.box.x0,
        y0: o.box.y0,
        x1: o.box.x1,
        y1: o.box.y1,
        difficult: o.difficult ?? false,
        truncated: o.truncated ?? false,
      }));
      return { ...this.imageView(im), boxes };
    },
    'runs.list': async (req) =>
      this.store.runs.list(req.datasetId ? { datasetId: req.datasetId } : {}).map(runView),
    'runs.get': async (req) => {
      const run = this.store.runs.get(req.runId);
      if (!run) throw new ApiError(`no run ${req.runId}`, 404);
      const epochs: EpochView[] = this.store.runs.epochs(run.id).map((e) => ({
        phase: e.phase,
        epoch: e.epoch,
        metrics: jsonMetrics(e.metrics as Record<string, unknown>),
        seconds: e.seconds ?? 0,
      }));
      return { ...runView(run), epochs, warnings: latestWarnings(run, this.store.runs.epochs(run.id)) };
    },
  };
}

/** The map's problem as of the run's latest epoch, as its live `train.warning` event reported it. */
function latestWarnings(run: Run, epochs: readonly EpochRecord[]): TrainWarningView[] {
  const last = epochs.at(-1);
  if (last === undefined) return [];
  const dead = (run.config.deadExplainer as { threshold?: unknown } | undefined)?.threshold;
  const threshold = typeof dead === 'number' ? dead : 1e-4;
  const head = (run.config.model as { explainerHead?: unknown } | undefined)?.explainerHead;
  const w = epochWarning(
    last.phase as PhaseName,
    last.epoch,
    last.metrics,
    threshold,
    head === 'sigmoid' ? 'sigmoid' : 'tanh-relu',
  );
  return w ? [{ phase: last.phase, epoch: last.epoch, ...w }] : [];
}

function jsonMetrics(m: Record<string, unknown>): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'number') out[k] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'string') out[k] = v;
  }
  return out;
}

export function safeFolderName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return s || 'dataset';
}

function datasetView(d: DatasetSummary): DatasetView {
  return {
    id: d.id,
    name: d.name,
    kind: d.kind,
    sourcePath: d.sourcePath,
    classes: d.classes,
    targetClass: d.targetClass,
    imageCount: d.imageCount,
    objectCount: d.objectCount,
    labelCounts: d.labelCounts,
    splitCounts: d.splitCounts,
    sizes: d.sizes,
  };
}

function runView(r: Run): RunView {
  return {
    id: r.id,
    datasetId: r.datasetId,
    model: r.model,
    status: r.status,
    engine: r.engine,
    device: r.device,
    phase: r.phase,
    epoch: r.epoch,
    error: r.error,
    createdAt: r.createdAt,
    config: r.config as Record<string, unknown>,
  };
}

function importView(
  r: Awaited<ReturnType<typeof import('../data/import/import.js').importDataset>>,
): ImportResultView {
  return {
    datasetId: r.dataset.id,
    name: r.dataset.name,
    created: r.created,
    found: r.images.found,
    inserted: r.images.inserted,
    updated: r.images.updated,
    unchanged: r.images.unchanged,
    skipped: r.errors,
    warnings: r.warnings.length,
  };
}

/**
 * Review sessions in the core: creating a session with a seeded, per-rater order; finding where a rater stopped;
 * what a rater may see of an item; and saving a rating.
 *
 * Blinding: a blinded view carries no method name, run id, parameters or explanation id (an id could be looked up
 * to unblind). Items are labelled by their place ("Explanation 7") or, side by side, "Explanation A"/"B": a label
 * tied to the method would let raters learn which method is which over the session.
 */
import { randomInt } from 'node:crypto';
import type {
  JsonObject,
  Rater,
  Rating,
  RatingValues,
  ReviewItem,
  ReviewSession,
  Split,
  Store,
} from '../store/index.js';
import { paramsHash, SPLITS } from '../store/index.js';
import { Random } from '../util/random.js';
import { encodeGreyPng } from './png.js';

export interface SessionSample {
  split: Split;
  /** How many images. */
  n: number;
  /** Seed of the image draw; default 0. */
  seed?: number;
  /** Default: the dataset the runs were trained on (they must share it). */
  datasetId?: number;
}

export interface CreateSessionOptions {
  name: string;
  runIds: readonly number[];
  methods: readonly string[];
  /** Exactly one of imageIds and sample. */
  imageIds?: readonly number[];
  sample?: SessionSample;
  /** Rater names; created if new. */
  raters: readonly string[];
  /** Default true. */
  blinded?: boolean;
  /** Side-by-side pairs of explanations of the same image. Default false. */
  pairwise?: boolean;
  /** Seed of the presentation orders; default a random one, recorded in the session's config. */
  seed?: number;
  /**
   * The class to rate in every image: 'target' (the image's ground-truth label), 'predicted' (the run's
   * prediction; give `predictedClass`, or only explanations that are the one of their image and method are
   * accepted) or a class index. A run that was explained (predicted class) and evaluated (target class) holds two
   * maps of an image and method; the choice says which one the session rates. Default: 'predicted'.
   */
  classChoice?: SessionClassChoice;
  /** The run's predicted class of an image (the caller ran the model), for classChoice 'predicted'. */
  predictedClass?: (runId: number, imageId: number) => number | undefined;
  /** Same as classChoice: a class index (kept for callers of the first version). */
  classIndex?: number;
  params?: JsonObject;
}

export type SessionClassChoice = 'target' | 'predicted' | number;

export interface CreatedSession {
  session: ReviewSession;
  raters: Rater[];
  /** Explanations in the session. */
  explanations: number;
  /** Review items created (for every rater). */
  items: number;
}

export interface MissingExplanation {
  runId: number;
  imageId: number;
  method: string;
}

export interface AmbiguousExplanation extends MissingExplanation {
  classes: number[];
}

/**
 * Several stored maps could be the session's one for an image and method (different classes or parameters), and
 * nothing said which: with classChoice 'predicted', the caller resolves the predictions and tries again.
 */
export class AmbiguousExplanationsError extends Error {
  constructor(readonly ambiguous: AmbiguousExplanation[]) {
    const a = ambiguous[0];
    super(
      `review session: run ${a.runId} has several "${a.method}" explanations of image ${a.imageId} ` +
        `(classes ${a.classes.join(', ')})${ambiguous.length > 1 ? ` (and ${ambiguous.length - 1} more such)` : ''}; ` +
        "choose the class to rate: 'target', 'predicted' or a class index",
    );
    this.name = 'AmbiguousExplanationsError';
  }
}

/** The class index of an image's ground-truth label among the run's classes (its dataset's), or an error naming it. */
export function targetClass(store: Store, runId: number, imageId: number): number {
  const run = store.runs.get(runId);
  const image = store.images.get(imageId);
  if (run === undefined || image === undefined)
    throw new Error(`review session: no run ${runId} or image ${imageId} in ${store.path}`);
  const classes = store.datasets.getById(run.datasetId)?.classes ?? [];
  const index = image.label === null ? -1 : classes.indexOf(image.label);
  if (index < 0) {
    throw new Error(
      `review session: image ${imageId} (${image.relPath}) has ${image.label === null ? 'no label' : `label "${image.label}", not a class of run ${runId}`}; ` +
        "rate the predicted class or a class index instead of 'target'",
    );
  }
  return index;
}

/** Explanations are computed before a session is made; this lists the ones that are not there yet. */
export class MissingExplanationsError extends Error {
  constructor(readonly missing: MissingExplanation[]) {
    const shown = missing.slice(0, 10).map((m) => `run ${m.runId} / image ${m.imageId} / ${m.method}`);
    const more = missing.length > shown.length ? `, … (${missing.length - shown.length} more)` : '';
    super(
      `${missing.length} explanation(s) needed by the review session are not in the store: ${shown.join('; ')}${more}. ` +
        'Compute them first (xwb explain), then create the session again.',
    );
    this.name = 'MissingExplanationsError';
  }
}

function checkIds(ids: readonly number[], what: string): void {
  if (!Array.isArray(ids) || ids.length === 0)
    throw new Error(`review session: ${what} must be a non-empty list`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id <= 0)
      throw new Error(`review session: ${what} must be positive integers, got ${id}`);
  }
  if (new Set(ids).size !== ids.length) throw new Error(`review session: ${what} lists an id twice`);
}

function sampleImages(store: Store, runDatasets: Set<number>, sample: SessionSample): number[] {
  if (!SPLITS.includes(sample.split))
    throw new Error(`review session: sample.split must be one of ${SPLITS.join(', ')}`);
  if (!Number.isInteger(sample.n) || sample.n <= 0)
    throw new Error('review session: sample.n must be a positive integer');
  let datasetId = sample.datasetId;
  if (datasetId === undefined) {
    if (runDatasets.size !== 1) {
      throw new Error(
        'review session: the runs belong to different datasets; name the one to sample with sample.datasetId',
      );
    }
    datasetId = [...runDatasets][0];
  }
  const pool = store.splits.ids(datasetId, sample.split);
  if (pool.length < sample.n) {
    throw new Error(
      `review session: the ${sample.split} split of dataset ${datasetId} has ${pool.length} images, fewer than the ${sample.n} asked for`,
    );
  }
  return new Random(sample.seed ?? 0)
    .fork('review-sample')
    .shuffle([...pool])
    .slice(0, sample.n)
    .sort((a, b) => a - b);
}

/** One explanation id per (run, image, method), or the list of what is missing. */
function findExplanations(
  store: Store,
  runIds: readonly number[],
  imageIds: readonly number[],
  methods: readonly string[],
  choice: SessionClassChoice,
  opts: Pick<CreateSessionOptions, 'predictedClass' | 'params'>,
): { imageId: number; explanationId: number }[] {
  const hash = opts.params === undefined ? undefined : paramsHash(opts.params, 'review session: params');
  const found: { imageId: number; explanationId: number }[] = [];
  const missing: MissingExplanation[] = [];
  const ambiguous: AmbiguousExplanation[] = [];
  for (const imageId of imageIds) {
    for (const runId of runIds) {
      const wanted =
        typeof choice === 'number'
          ? choice
          : choice === 'target'
            ? targetClass(store, runId, imageId)
            : opts.predictedClass?.(runId, imageId);
      for (const method of methods) {
        const candidates = store.explanations
          .list(runId, { imageId, method })
          .filter(
            (e) =>
              (wanted === undefined || e.classIndex === wanted) &&
              (hash === undefined || e.paramsHash === hash),
          );
        if (candidates.length === 0) missing.push({ runId, imageId, method });
        else if (candidates.length > 1) {
          ambiguous.push({
            runId,
            imageId,
            method,
            classes: [...new Set(candidates.map((c) => c.classIndex))],
          });
        } else found.push({ imageId, explanationId: candidates[0].id });
      }
    }
  }
  if (ambiguous.length > 0) throw new AmbiguousExplanationsError(ambiguous);
  if (missing.length > 0) throw new MissingExplanationsError(missing);
  return found;
}

/** The images a session would hold: the ones given, checked, or the seeded draw of its sample. */
export function sessionImages(
  store: Store,
  opts: Pick<CreateSessionOptions, 'runIds' | 'imageIds' | 'sample'>,
): number[] {
  checkIds(opts.runIds, 'runIds');
  const runDatasets = new Set<number>();
  for (const runId of opts.runIds) {
    const run = store.runs.get(runId);
    if (run === undefined) throw new Error(`review session: no run with id ${runId} in ${store.path}`);
    runDatasets.add(run.datasetId);
  }
  if ((opts.imageIds === undefined) === (opts.sample === undefined)) {
    throw new Error('review session: give either imageIds or sample (not both, not neither)');
  }
  if (opts.imageIds !== undefined) {
    checkIds(opts.imageIds, 'imageIds');
    for (const id of opts.imageIds) {
      if (store.images.get(id) === undefined)
        throw new Error(`review session: no image with id ${id} in ${store.path}`);
    }
    return [...opts.imageIds];
  }
  return sampleImages(store, runDatasets, opts.sample!);
}

export function createReviewSession(store: Store, opts: CreateSessionOptions): CreatedSession {
  if (typeof opts.name !== 'string' || opts.name.trim() === '')
    throw new Error('review session: name must be non-empty');
  checkIds(opts.runIds, 'runIds');
  if (
    !Array.isArray(opts.methods) ||
    opts.methods.length === 0 ||
    opts.methods.some((m) => typeof m !== 'string' || m === '')
  ) {
    throw new Error('review session: methods must be a non-empty list of method names');
  }
  if (new Set(opts.methods).size !== opts.methods.length)
    throw new Error('review session: methods lists a method twice');
  const raterNames = (opts.raters ?? []).map((r) => (typeof r === 'string' ? r.trim() : ''));
  if (raterNames.length === 0 || raterNames.some((r) => r === ''))
    throw new Error('review session: raters must be a non-empty list of names');
  if (new Set(raterNames.map((r) => r.toLowerCase())).size !== raterNames.length) {
    throw new Error('review session: raters lists a name twice (names are case-insensitive)');
  }
  const seed = opts.seed ?? randomInt(0, 2 ** 32);
  if (!Number.isSafeInteger(seed)) throw new Error(`review session: seed must be an integer, got ${seed}`);

  const imageIds = sessionImages(store, opts);
  const choice: SessionClassChoice = opts.classChoice ?? opts.classIndex ?? 'predicted';
  if (typeof choice === 'number' && (!Number.isInteger(choice) || choice < 0))
    throw new Error(`review session: the class index must be an integer ≥ 0, got ${choice}`);
  if (typeof choice !== 'number' && choice !== 'target' && choice !== 'predicted')
    throw new Error(
      `review session: classChoice must be 'target', 'predicted' or a class index, got ${String(choice)}`,
    );
  const found = findExplanations(store, opts.runIds, imageIds, opts.methods, choice, opts);
  const pairwise = opts.pairwise ?? false;
  // A unit is what one rater sees at once: one explanation, or a pair of explanations of the same image.
  let units: number[][];
  if (pairwise) {
    units = [];
    for (const imageId of imageIds) {
      const ids = found.filter((f) => f.imageId === imageId).map((f) => f.explanationId);
      if (ids.length < 2) {
        throw new Error(
          'review session: a side-by-side session needs at least two explanations per image (two methods or runs)',
        );
      }
      for (let i = 0; i < ids.length; i++)
        for (let j = i + 1; j < ids.length; j++) units.push([ids[i], ids[j]]);
    }
  } else units = found.map((f) => [f.explanationId]);

  const config: JsonObject = {
    version: 1,
    runIds: [...opts.runIds],
    methods: [...opts.methods],
    imageIds,
    ...(opts.sample ? { sample: { ...opts.sample } } : {}),
    // What the raters rate; the analysis's evaluation measures exactly these maps.
    classChoice: choice,
    ...(typeof choice === 'number' ? { classIndex: choice } : {}),
    ...(opts.params !== undefined ? { params: opts.params } : {}),
    raters: raterNames,
    pairwise,
    seed,
  };
  return store.transaction(() => {
    const raters = raterNames.map((n) => store.ratings.ensureRater(n));
    const session = store.ratings.createSession({ name: opts.name, config, blinded: opts.blinded ?? true });
    let items = 0;
    const root = new Random(seed);
    for (const rater of raters) {
      items += store.ratings.addItems(session.id, raterRows(root, rater, units)).length;
    }
    return { session, raters, explanations: new Set(found.map((f) => f.explanationId)).size, items };
  });
}

/** One rater's items over the session's units, in an order forked from the session seed by the rater's name. */
function raterRows(root: Random, rater: Rater, units: readonly (readonly number[])[]) {
  // Forked by name: adding a rater to the list does not change anyone else's order.
  const rng = root.fork(`rater:${rater.name.toLowerCase()}`);
  const order = rng.shuffle(units.map((u) => [...u]));
  return order.flatMap((unit, k) => {
    if (unit.length === 1) return [{ raterId: rater.id, explanationId: unit[0], position: k }];
    const [left, right] = rng.bool() ? [unit[1], unit[0]] : unit;
    return [
      { raterId: rater.id, explanationId: left, position: 2 * k, side: 'left' as const },
      { raterId: rater.id, explanationId: right, position: 2 * k + 1, side: 'right' as const },
    ];
  });
}

/**
 * Gives a rater who is not in a session yet the session's units to rate (team mode: an owner assigns a reviewer
 * after creating the session). The units are read back from the items of the session's raters, ordered by
 * explanation id, and shuffled with the rater's own fork of the session seed, so the rater's order is as
 * reproducible as everyone else's. A rater already in the session keeps their items (returns 0).
 */
export function addRaterToSession(store: Store, sessionId: number, raterName: string): number {
  return store.transaction(() => {
    const session = store.ratings.getSession(sessionId);
    if (!session) throw new Error(`review session ${sessionId} does not exist`);
    const rater = store.ratings.ensureRater(raterName);
    if (store.ratings.items(sessionId, rater.id).length > 0) return 0;
    const all = store.ratings.items(sessionId);
    if (all.length === 0) throw new Error(`review session ${sessionId} has no items to hand out`);
    const pairwise = session.config.pairwise === true;
    const byRater = new Map<number, ReviewItem[]>();
    for (const it of all) byRater.set(it.raterId, [...(byRater.get(it.raterId) ?? []), it]);
    const units = new Map<string, number[]>();
    for (const list of byRater.values()) {
      const sorted = [...list].sort((a, b) => a.position - b.position);
      for (let k = 0; k < sorted.length; k += pairwise ? 2 : 1) {
        const unit = (pairwise ? [sorted[k], sorted[k + 1]] : [sorted[k]])
          .filter((x) => x !== undefined)
          .map((x) => x.explanationId)
          .sort((a, b) => a - b);
        units.set(unit.join(','), unit);
      }
    }
    const ordered = [...units.values()].sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0));
    const seed = typeof session.config.seed === 'number' ? session.config.seed : session.id;
    return store.ratings.addItems(sessionId, raterRows(new Random(seed), rater, ordered)).length;
  });
}

const isComplete = (r: Pick<RatingValues, 'correctness' | 'completeness' | 'compactness'> | undefined) =>
  r !== undefined && r.correctness != null && r.completeness != null && r.compactness != null;

export interface NextItem {
  /** The first item (in the rater's order) without a complete rating; null when the rater is done. */
  item: ReviewItem | null;
  /** In a side-by-side session, the other explanation of the pair. */
  partner: ReviewItem | null;
  /** Items with all three criteria rated. */
  done: number;
  total: number;
}

function sessionOf(store: Store, sessionId: number): ReviewSession {
  const s = store.ratings.getSession(sessionId);
  if (s === undefined) throw new Error(`no review session ${sessionId} in ${store.path}`);
  return s;
}

function partnerOf(items: readonly ReviewItem[], item: ReviewItem): ReviewItem | null {
  if (item.side === null) return null;
  const pos = item.side === 'left' ? item.position + 1 : item.position - 1;
  return items.find((i) => i.position === pos) ?? null;
}

/** Where the rater stopped: resumes at the first item not completely rated. */
export function nextItem(store: Store, sessionId: number, raterId: number): NextItem {
  sessionOf(store, sessionId);
  const items = store.ratings.items(sessionId, raterId);
  if (items.length === 0) {
    const name = store.ratings.getRater(raterId)?.name ?? `rater ${raterId}`;
    throw new Error(`${name} has no items in review session ${sessionId}`);
  }
  const byItem = new Map(store.ratings.list({ sessionId, raterId }).map((r) => [r.reviewItemId, r]));
  const done = items.filter((i) => isComplete(byItem.get(i.id))).length;
  const item = items.find((i) => !isComplete(byItem.get(i.id))) ?? null;
  return { item, partner: item ? partnerOf(items, item) : null, done, total: items.length };
}

export interface ItemView {
  itemId: number;
  sessionId: number;
  /** 0-based place in the rater's order, and how many items the rater has. */
  position: number;
  total: number;
  label: string;
  side: 'left' | 'right' | null;
  partnerItemId: number | null;
  image: { id: number; fileName: string; width: number; height: number };
  /** The class the explanation explains. */
  classIndex: number;
  className: string | null;
  map: { width: number; height: number; encoding: string; data: Buffer };
  /** The rater's current values, to show when coming back to an item. */
  rating: Pick<
    Rating,
    'correctness' | 'completeness' | 'compactness' | 'comment' | 'wrongFlag' | 'updatedAt'
  > | null;
  /** Only in unblinded views. */
  unblinded?: { explanationId: number; runId: number; method: string; params: JsonObject };
}

/** What the rater may see of an item. `blinded` defaults to the session's setting. */
export function itemView(store: Store, itemId: number, opts: { blinded?: boolean } = {}): ItemView {
  const item = store.ratings.getItem(itemId);
  if (item === undefined) throw new Error(`no review item ${itemId} in ${store.path}`);
  const session = sessionOf(store, item.sessionId);
  const blinded = opts.blinded ?? session.blinded;
  const expl = store.explanations.getById(item.explanationId);
  if (expl === undefined)
    throw new Error(`review item ${itemId}: its explanation ${item.explanationId} is missing`);
  const image = store.images.get(expl.imageId);
  if (image === undefined) throw new Error(`review item ${itemId}: its image ${expl.imageId} is missing`);
  const classes = store.datasets.getById(image.datasetId)?.classes ?? [];
  const raterItems = store.ratings.items(item.sessionId, item.raterId);
  const partner = partnerOf(raterItems, item);
  const rating = store.ratings
    .list({ sessionId: item.sessionId, raterId: item.raterId })
    .find((r) => r.reviewItemId === item.id);
  const view: ItemView = {
    itemId: item.id,
    sessionId: item.sessionId,
    position: item.position,
    total: raterItems.length,
    label:
      item.side === null
        ? `Explanation ${item.position + 1}`
        : `Explanation ${item.side === 'left' ? 'A' : 'B'}`,
    side: item.side,
    partnerItemId: partner?.id ?? null,
    image: { id: image.id, fileName: image.fileName, width: image.width, height: image.height },
    classIndex: expl.classIndex,
    className: classes[expl.classIndex] ?? null,
    map: { width: expl.width, height: expl.height, encoding: expl.encoding, data: expl.data },
    rating: rating
      ? {
          correctness: rating.correctness,
          completeness: rating.completeness,
          compactness: rating.compactness,
          comment: rating.comment,
          wrongFlag: rating.wrongFlag,
          updatedAt: rating.updatedAt,
        }
      : null,
  };
  if (!blinded)
    view.unblinded = { explanationId: expl.id, runId: expl.runId, method: expl.method, params: expl.params };
  return view;
}

/** Where the explanation ought to have looked, painted by the rater on the image (non-zero = should highlight). */
export type ShouldHighlight = { width: number; height: number } & ({ mask: Uint8Array } | { png: Buffer });

export interface RateInput extends RatingValues {
  shouldHighlight?: ShouldHighlight;
}

/**
 * Saves the rater's values for an item, replacing the previous ones (send all of them) (and the should-highlight mask, in the same transaction). Returns only after
 * the commit: what it returns is durable.
 */
export function rate(store: Store, itemId: number, values: RateInput): Rating {
  const item = store.ratings.getItem(itemId);
  if (item === undefined) throw new Error(`no review item ${itemId} in ${store.path}`);
  let mask: { png: Buffer; width: number; height: number; imageId: number } | undefined;
  if (values.shouldHighlight !== undefined) {
    const sh = values.shouldHighlight;
    const expl = store.explanations.getMeta(item.explanationId);
    const image = expl && store.images.get(expl.imageId);
    if (image === undefined) throw new Error(`review item ${itemId}: its image is missing`);
    if (sh.width !== image.width || sh.height !== image.height) {
      throw new Error(
        `review item ${itemId}: the should-highlight mask is ${sh.width}×${sh.height}, the image ${image.width}×${image.height}; ` +
          'paint it at the image size',
      );
    }
    const png = 'png' in sh ? sh.png : encodeGreyPng(sh.mask, sh.width, sh.height);
    mask = { png, width: sh.width, height: sh.height, imageId: image.id };
  }
  const { shouldHighlight: _, ...ratingValues } = values;
  return store.transaction(() => {
    const r = store.ratings.put({ reviewItemId: itemId, ...ratingValues });
    if (mask !== undefined) {
      store.masks.put({
        imageId: mask.imageId,
        kind: 'should-highlight',
        source: { kind: 'annotator', annotatorId: item.raterId },
        content: { png: mask.png },
        width: mask.width,
        height: mask.height,
      });
    }
    return r;
  });
}

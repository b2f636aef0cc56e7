/**
 * Review sessions over the contract (issue 6 §2): create a session (computing the explanations it needs first),
 * list sessions, hand a rater their next item blinded, save a rating, and summarise a session.
 *
 * Blinding is decided here, at the boundary: a blinded session's answers are built from `itemView(…, {blinded})`
 * and never copy a method name, run id or parameters into the JSON. The analysis (`review.summary`) is unblinded
 * on purpose: it is what the study is for, and it is not shown while rating.
 */
import type { RunModel } from '../explain/run-model.js';
import type { JobQueue } from '../jobs/queue.js';
import { type EvalJobState, EvalJobs } from '../review/evaluation/job.js';
import { QueuedEvalJobs } from '../review/evaluation/queued.js';
import {
  AmbiguousExplanationsError,
  addRaterToSession,
  createReviewSession,
  type ItemView,
  itemView,
  MissingExplanationsError,
  nextItem,
  rate,
  type SessionClassChoice,
  sessionImages,
} from '../review/session.js';
import type { Rater, ReviewSession, Score, Store } from '../store/index.js';
import { mintRaterToken } from './access.js';
import { decodeBinaryMask } from './annotation-handlers.js';
import {
  ApiError,
  type ReviewCorrelationView,
  type ReviewItemView,
  type ReviewNextView,
  type ReviewSessionView,
  type ReviewStatView,
  type ReviewSummaryView,
  type ValidRequest,
} from './contract.js';
import type { XwbService } from './service.js';

/** Images explained per batch while creating a session; the event loop (and other requests) get a turn between. */
const BATCH = 8;
/** Progress events at most this often, so a large session does not flood the renderer. */
const PROGRESS_MS = 250;

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
const pair = ([a, b]: readonly [number, number]): [number | null, number | null] => [num(a), num(b)];

function isComplete(r: { correctness: unknown; completeness: unknown; compactness: unknown }): boolean {
  return r.correctness != null && r.completeness != null && r.compactness != null;
}

/** Done/total per rater of a session, for the picker. */
function sessionView(store: Store, s: ReviewSession): ReviewSessionView {
  const items = store.ratings.items(s.id);
  const ratings = store.ratings.list({ sessionId: s.id });
  const completeItems = new Set(ratings.filter(isComplete).map((r) => r.reviewItemId));
  const byRater = new Map<number, { total: number; done: number }>();
  for (const it of items) {
    const e = byRater.get(it.raterId) ?? { total: 0, done: 0 };
    e.total++;
    if (completeItems.has(it.id)) e.done++;
    byRater.set(it.raterId, e);
  }
  return {
    id: s.id,
    name: s.name,
    blinded: s.blinded,
    pairwise: s.config.pairwise === true,
    createdAt: s.createdAt,
    raters: [...byRater.entries()]
      .map(([id, e]) => ({ rater: store.ratings.getRater(id)?.name ?? `rater ${id}`, ...e }))
      .sort((a, b) => a.rater.localeCompare(b.rater)),
  };
}

/**
 * The contract's item view: only the fields listed here leave the core, `unblinded` only when the core's view has
 * it (it has it only for sessions that are not blinded).
 */
export function itemToView(v: ItemView, urls: { image: string; explanation: string }): ReviewItemView {
  const out: ReviewItemView = {
    itemId: v.itemId,
    position: v.position,
    label: v.label,
    side: v.side,
    image: { url: urls.image, width: v.image.width, height: v.image.height },
    className: v.className,
    // `explanation` serves maps at the image's resolution whatever size the model explained at.
    explanation: { url: urls.explanation, width: v.image.width, height: v.image.height },
    rating: v.rating
      ? {
          correctness: v.rating.correctness,
          completeness: v.rating.completeness,
          compactness: v.rating.compactness,
          comment: v.rating.comment,
          wrongFlag: v.rating.wrongFlag,
          updatedAt: v.rating.updatedAt,
        }
      : null,
  };
  if (v.unblinded) out.unblinded = { method: v.unblinded.method, runId: v.unblinded.runId };
  return out;
}

function raterOf(store: Store, name: string, sessionId: number): Rater {
  const rater = store.ratings.raterByName(name);
  const names = () =>
    [...new Set(store.ratings.items(sessionId).map((i) => i.raterId))]
      .map((id) => store.ratings.getRater(id)?.name)
      .join(', ');
  if (!rater || store.ratings.items(sessionId, rater.id).length === 0) {
    throw new ApiError(
      `"${name}" is not a rater of review session ${sessionId} (its raters: ${names()}); pick your name from the list`,
      404,
      'rater',
    );
  }
  return rater;
}

function sessionOrThrow(store: Store, sessionId: number): ReviewSession {
  const s = store.ratings.getSession(sessionId);
  if (!s) throw new ApiError(`no review session ${sessionId} in ${store.path}`, 404, 'sessionId');
  return s;
}

function stat(s: { mean: number; sd: number; n: number; ci95: [number, number] }): ReviewStatView {
  return { mean: num(s.mean), sd: num(s.sd), n: s.n, ci95: pair(s.ci95) };
}

function corr(c: { rho: number; n: number; p: number; ci95: [number, number] }): ReviewCorrelationView {
  return { rho: num(c.rho), n: c.n, p: num(c.p), ci95: pair(c.ci95) };
}

/** Which (run, method) pairs lack which images: what `createReviewSession` reported missing, grouped. */
export function groupMissing(
  missing: readonly { runId: number; imageId: number; method: string }[],
): { runId: number; method: string; imageIds: number[] }[] {
  const groups = new Map<string, { runId: number; method: string; imageIds: number[] }>();
  for (const m of missing) {
    const key = `${m.runId}\u0000${m.method}`;
    const g = groups.get(key) ?? { runId: m.runId, method: m.method, imageIds: [] };
    g.imageIds.push(m.imageId);
    groups.set(key, g);
  }
  return [...groups.values()];
}

export interface ReviewHandlerOptions {
  /** Loads a run's model for computing missing explanations (tests inject one; default: the run's checkpoint). */
  loadModel?: (store: Store, runId: number) => Promise<RunModel>;
  /** Metrics the analysis's evaluation measures (`xwb eval --metrics` syntax); default the cheap set. */
  evalMetrics?: string;
  /** Team mode's queue: the evaluation then runs on the team's workers (review/evaluation/queued.ts). */
  jobQueue?: JobQueue;
}

export function registerReviewHandlers(service: XwbService, options: ReviewHandlerOptions = {}): void {
  const store = service.store;
  const view = async (itemId: number, blinded: boolean): Promise<ReviewItemView> => {
    const v = itemView(store, itemId, { blinded });
    const item = store.ratings.getItem(itemId);
    if (!item) throw new ApiError(`review item ${itemId} vanished while it was being read`, 500);
    // The URLs come from the transport (web: /files/…, Electron: xwb://); the explanation's is by id, which the
    // blinded view itself leaves out.
    const { url } = await service.call('images.detail', { imageId: v.image.id });
    return itemToView(v, { image: url, explanation: service.explanationUrl(item.explanationId) });
  };

  /** Computes what the session lacks, run by run, in batches; returns how many maps were computed. */
  async function computeMissing(
    req: ValidRequest<'review.create'>,
    missing: MissingExplanationsError['missing'],
    choice: SessionClassChoice,
  ): Promise<number> {
    const { initEngine } = await import('../engine/select.js');
    const { getOrCompute } = await import('../explain/store.js');
    const load = options.loadModel ?? (await import('../explain/run-model.js')).loadRunModel;
    await initEngine();
    const total = missing.length;
    let done = 0;
    let last = 0;
    const progress = (force = false) => {
      const now = Date.now();
      if (!force && now - last < PROGRESS_MS) return;
      last = now;
      service.emit({ type: 'review.progress', name: req.name, done, total, stage: 'explaining' });
    };
    progress(true);
    const groups = groupMissing(missing);
    for (const runId of [...new Set(groups.map((g) => g.runId))]) {
      let model: RunModel;
      try {
        model = await load(store, runId);
      } catch (e) {
        throw new ApiError(`run ${runId}: ${(e as Error).message}`, 409, 'runIds');
      }
      try {
        for (const g of groups.filter((x) => x.runId === runId)) {
          const base = done;
          try {
            await getOrCompute(store, model, g.imageIds, g.method, {}, choice, {
              batchSize: BATCH,
              onProgress: (p) => {
                done = base + p.done;
                progress();
              },
            });
          } catch (e) {
            throw new ApiError(`run ${runId}, ${g.method}: ${(e as Error).message}`, 500);
          }
          done = base + g.imageIds.length;
        }
      } finally {
        model.dispose();
      }
    }
    progress(true);
    return total;
  }

  /**
   * The runs' predicted class of each session image, by running each model once over the images (only when the
   * store holds more than one map of an image and method, so the stored maps cannot say which is the prediction).
   */
  async function predictClasses(
    runIds: readonly number[],
    imageIds: readonly number[],
  ): Promise<Map<string, number>> {
    const { initEngine } = await import('../engine/select.js');
    const { argmax } = await import('../explain/store.js');
    const load = options.loadModel ?? (await import('../explain/run-model.js')).loadRunModel;
    await initEngine();
    const out = new Map<string, number>();
    for (const runId of runIds) {
      const model = await load(store, runId).catch((e: Error) => {
        throw new ApiError(`run ${runId}: ${e.message}`, 409, 'runIds');
      });
      try {
        const images = imageIds.map((id) => store.images.get(id)!);
        for (let start = 0; start < images.length; start += BATCH) {
          const inputs = await model.inputs(images.slice(start, start + BATCH));
          const probs = await model.probabilities(inputs.map((x) => x.pixels));
          for (const [k, p] of probs.entries()) out.set(`${runId}:${images[start + k].id}`, argmax(p));
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        model.dispose();
      }
    }
    return out;
  }

  const tell = (s: EvalJobState) => service.emit({ type: 'review.eval', ...s });
  const evalOpts = options.evalMetrics !== undefined ? { metrics: options.evalMetrics } : {};
  const jobs: EvalJobs | QueuedEvalJobs = options.jobQueue
    ? new QueuedEvalJobs(store, options.jobQueue, tell, evalOpts)
    : new EvalJobs(store, tell, evalOpts);
  service.onClose(() => jobs.close());

  service.register('review.raterLinks', async (req) => {
    sessionOrThrow(store, req.sessionId);
    const raterIds = [...new Set(store.ratings.items(req.sessionId).map((i) => i.raterId))];
    return {
      sessionId: req.sessionId,
      links: raterIds
        .map((id) => ({
          rater: store.ratings.getRater(id)?.name ?? `rater ${id}`,
          token: mintRaterToken(service.capabilitySecret, req.sessionId, id),
        }))
        .sort((a, b) => a.rater.localeCompare(b.rater)),
    };
  });

  service.register('review.evaluate', async (req) => {
    sessionOrThrow(store, req.sessionId);
    try {
      return await jobs.start(req.sessionId);
    } catch (e) {
      throw new ApiError((e as Error).message, 409, 'sessionId');
    }
  });

  service.register('review.evaluateCancel', async (req) => {
    if (!jobs.get(req.jobId))
      throw new ApiError(`no evaluation job ${req.jobId} since the server started`, 404, 'jobId');
    return { cancelled: await jobs.cancel(req.jobId) };
  });

  service.register('review.create', async (req) => {
    for (const runId of req.runIds) {
      if (!store.runs.get(runId)) throw new ApiError(`no run ${runId} in ${store.path}`, 404, 'runIds');
    }
    const { listMethods } = await import('../explain/registry.js');
    const known = new Set(listMethods().map((m) => m.name));
    const unknown = req.methods.filter((m) => !known.has(m));
    if (unknown.length > 0) {
      throw new ApiError(
        `unknown explanation method(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`,
        400,
        'methods',
      );
    }
    const opts = {
      name: req.name,
      runIds: req.runIds,
      methods: req.methods,
      sample: { split: req.sample.split, n: req.sample.n, seed: req.sample.seed },
      raters: req.raters,
      blinded: req.blinded,
      pairwise: req.pairwise,
    };
    if (req.classChoice !== undefined && req.classIndex !== undefined && req.classChoice !== req.classIndex) {
      throw new ApiError('give the class once: classChoice or classIndex, not both', 400, 'classChoice');
    }
    const choice: SessionClassChoice = req.classChoice ?? req.classIndex ?? 'predicted';
    let predicted: Map<string, number> | undefined;
    const attempt = () => {
      try {
        return createReviewSession(store, {
          ...opts,
          classChoice: choice,
          ...(predicted ? { predictedClass: (r: number, i: number) => predicted!.get(`${r}:${i}`) } : {}),
        });
      } catch (e) {
        if (e instanceof MissingExplanationsError || e instanceof AmbiguousExplanationsError) throw e;
        throw new ApiError(
          (e as Error).message,
          400,
          /image \d+ .*label|class index/.test((e as Error).message) ? 'classChoice' : undefined,
        );
      }
    };
    let computed = 0;
    let created: ReturnType<typeof createReviewSession> | undefined;
    // Up to three tries: as stored; with the predictions resolved (a run explained and evaluated holds maps of
    // two classes); after computing what is missing. Each retry has strictly more to go on than the one before.
    for (let tries = 0; created === undefined; tries++) {
      try {
        created = attempt();
      } catch (e) {
        if (tries >= 2) {
          if (e instanceof ApiError) throw e;
          throw new ApiError((e as Error).message, 409);
        }
        if (e instanceof AmbiguousExplanationsError) {
          if (choice !== 'predicted' || predicted) {
            // The class is fixed and still two maps: they differ by parameters, which this form cannot choose.
            throw new ApiError(e.message, 409, 'classChoice');
          }
          const imageIds = sessionImages(store, opts);
          predicted = await predictClasses(req.runIds, imageIds);
        } else if (e instanceof MissingExplanationsError) {
          // The session draws its own sample; what it lacks is exactly what the error lists, so nothing is
          // computed that the session will not use.
          if (computed > 0) throw new ApiError(e.message, 409);
          computed = await computeMissing(req, e.missing, choice);
        } else throw e;
      }
    }
    // Team mode: the accounts named among the raters are assigned to the new session (owners may take that back).
    for (const rater of created.raters) {
      const account = store.accounts.byRater(rater.id);
      if (account && account.role !== 'viewer') store.accounts.assign(created.session.id, account.id);
    }
    service.emit({
      type: 'review.progress',
      name: req.name,
      done: computed,
      total: computed,
      stage: 'creating',
    });
    return {
      session: sessionView(store, created.session),
      computed,
      explanations: created.explanations,
      items: created.items,
    };
  });

  /** Who is assigned to a session, with their item counts. */
  const assignedView = (sessionId: number) => ({
    sessionId,
    assigned: store.accounts.assignees(sessionId).map((a) => ({
      user: a.name,
      role: a.role,
      items: store.ratings.items(sessionId, a.raterId).length,
    })),
  });

  // Names and roles only: the account rows also hold password hashes, which never leave the store.
  service.register('team.users', async () =>
    store.accounts.list().map((a) => ({ name: a.name, role: a.role })),
  );

  service.register('review.assignees', async (req) => {
    sessionOrThrow(store, req.sessionId);
    return assignedView(req.sessionId);
  });

  service.register('review.assign', async (req) => {
    sessionOrThrow(store, req.sessionId);
    const account = store.accounts.byName(req.user);
    if (!account) {
      const names = store.accounts.list().map((a) => a.name);
      throw new ApiError(
        `no user "${req.user}" (users: ${names.join(', ') || 'none yet; add them with xwb user add'})`,
        404,
        'user',
      );
    }
    if (!req.assigned) {
      // Their ratings stay; they only stop reaching the session.
      store.accounts.unassign(req.sessionId, account.id);
      return assignedView(req.sessionId);
    }
    if (account.role === 'viewer') {
      throw new ApiError(
        `"${account.name}" is a viewer, who cannot rate; make them a reviewer first (xwb user role ${account.name} --role reviewer)`,
        409,
        'user',
      );
    }
    store.transaction(() => {
      const rater = store.ratings.getRater(account.raterId);
      if (!rater) throw new ApiError(`user "${account.name}" has lost their rater record`, 500);
      addRaterToSession(store, req.sessionId, rater.name);
      store.accounts.assign(req.sessionId, account.id);
    });
    return assignedView(req.sessionId);
  });

  service.register('review.sessions', async (_req, { caller }) => {
    if (caller.role === 'reviewer' || caller.role === 'viewer') {
      // The sessions assigned to this account, each with their own progress only.
      const own = store.ratings.getRater(caller.account.raterId)?.name;
      return store.accounts
        .assignedSessions(caller.account.id)
        .map((id) => store.ratings.getSession(id))
        .filter((s): s is ReviewSession => s !== undefined)
        .map((s) => sessionView(store, s))
        .map((v) => ({ ...v, raters: v.raters.filter((r) => r.rater === own) }))
        .filter((v) => v.raters.length > 0)
        .sort((a, b) => b.id - a.id);
    }
    if (caller.role === 'rater') {
      // A rater's picker holds their own session and their own progress only.
      const s = sessionOrThrow(store, caller.sessionId);
      const name = store.ratings.getRater(caller.raterId)?.name;
      const v = sessionView(store, s);
      return [{ ...v, raters: v.raters.filter((r) => r.rater === name) }];
    }
    return store.ratings
      .listSessions()
      .map((s) => sessionView(store, s))
      .sort((a, b) => b.id - a.id);
  });

  service.register('review.next', async (req): Promise<ReviewNextView> => {
    const session = sessionOrThrow(store, req.sessionId);
    const rater = raterOf(store, req.rater, session.id);
    const n = nextItem(store, session.id, rater.id);
    let item = n.item;
    const skip = new Set(req.skip);
    if (item && skip.has(item.id)) {
      // The renderer has ratings of these items in flight: hand out the first open item after them, so the rater
      // keeps working while the queue catches up.
      const complete = new Set(
        store.ratings
          .list({ sessionId: session.id, raterId: rater.id })
          .filter(isComplete)
          .map((r) => r.reviewItemId),
      );
      item =
        store.ratings.items(session.id, rater.id).find((i) => !complete.has(i.id) && !skip.has(i.id)) ?? null;
    }
    const current = item ? await view(item.id, session.blinded) : null;
    const partnerId = current ? itemView(store, current.itemId, { blinded: true }).partnerItemId : null;
    return {
      sessionId: session.id,
      rater: { id: rater.id, name: rater.name },
      blinded: session.blinded,
      done: n.done,
      total: n.total,
      item: current,
      partner: partnerId !== null ? await view(partnerId, session.blinded) : null,
    };
  });

  service.register('review.rate', async (req) => {
    const item = store.ratings.getItem(req.itemId);
    if (!item) throw new ApiError(`no review item ${req.itemId} in ${store.path}`, 404, 'itemId');
    let shouldHighlight: { width: number; height: number; mask: Uint8Array } | undefined;
    let maskPixels = 0;
    if (req.shouldHighlight !== undefined) {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(req.shouldHighlight)) {
        throw new ApiError(
          'shouldHighlight: not base64 (send the PNG bytes base64-encoded, without a data: prefix)',
          400,
          'shouldHighlight',
        );
      }
      const expl = store.explanations.getMeta(item.explanationId);
      const im = expl && store.images.get(expl.imageId);
      if (!im) throw new ApiError(`review item ${item.id}: its image is missing`, 404, 'itemId');
      const d = await decodeBinaryMask(Buffer.from(req.shouldHighlight, 'base64'), 'shouldHighlight', {
        width: im.width,
        height: im.height,
        what: `the image of review item ${item.id}`,
      });
      const grey = new Uint8Array(d.bits.length);
      for (let i = 0; i < grey.length; i++) {
        grey[i] = d.bits[i] * 255;
        maskPixels += d.bits[i];
      }
      shouldHighlight = { width: d.width, height: d.height, mask: grey };
    }
    // The schema admits only whole 1..5 or null, which is the store's Score.
    const values = {
      correctness: req.correctness as Score,
      completeness: req.completeness as Score,
      compactness: req.compactness as Score,
      comment: req.comment,
      wrongFlag: req.wrongFlag,
    };
    let r: ReturnType<typeof rate>;
    try {
      r = rate(store, item.id, shouldHighlight ? { ...values, shouldHighlight } : values);
    } catch (e) {
      const message = (e as Error).message;
      // Only a bad mask is the request's fault; anything else (a store error) is not about that field.
      if (/should-highlight mask/.test(message)) throw new ApiError(message, 400, 'shouldHighlight');
      throw new ApiError(message, 500);
    }
    const n = nextItem(store, item.sessionId, item.raterId);
    return {
      itemId: item.id,
      ratingId: r.id,
      correctness: r.correctness,
      completeness: r.completeness,
      compactness: r.compactness,
      comment: r.comment,
      wrongFlag: r.wrongFlag,
      updatedAt: r.updatedAt,
      maskPixels,
      done: n.done,
      total: n.total,
    };
  });

  service.register('review.summary', async (req): Promise<ReviewSummaryView> => {
    sessionOrThrow(store, req.sessionId);
    const { summariseReviews } = await import('../review/summary.js');
    const s = summariseReviews(store, { sessionId: req.sessionId });
    const agreement = {} as ReviewSummaryView['agreement'];
    for (const [c, a] of Object.entries(s.agreement) as [
      keyof ReviewSummaryView['agreement'],
      (typeof s.agreement)['correctness'],
    ][]) {
      agreement[c] = {
        alphaOrdinal: num(a.alphaOrdinal),
        alphaInterval: num(a.alphaInterval),
        pairableUnits: a.pairableUnits,
        fleissKappa: num(a.fleissKappa),
        fleissUnits: a.fleissUnits,
        fleissDroppedUnits: a.fleissDroppedUnits,
      };
    }
    return {
      sessionId: req.sessionId,
      ratings: s.ratings,
      raters: s.raters,
      explanations: s.explanations,
      agreement,
      methods: s.methods.map((m) => ({
        method: m.method,
        runId: m.runId,
        explanations: m.explanations,
        scores: {
          correctness: stat(m.scores.correctness),
          completeness: stat(m.scores.completeness),
          compactness: stat(m.scores.compactness),
          mean: stat(m.scores.mean),
        },
      })),
      metrics: s.metrics.map((m) => ({
        metric: m.metric,
        paramsHash: m.paramsHash,
        params: m.params as Record<string, unknown>,
        correlations: {
          correctness: corr(m.correlations.correctness),
          completeness: corr(m.correlations.completeness),
          compactness: corr(m.correlations.compactness),
          mean: corr(m.correlations.mean),
        },
      })),
      evaluation: jobs.latest(req.sessionId) ?? null,
    };
  });
}

/**
 * Who may do what: THE authorisation rule, one function over (caller, action, store). Every call of the contract
 * and every file or event request passes through `authorise` before anything runs.
 *
 * Callers:
 * - the owner: whoever holds the launch token (web), runs the desktop app, or signs in to team mode with an
 *   owner account: everything is allowed;
 * - a rater holding a rater capability minted by the owner for one (session, rater) pair (single-user web mode):
 *   that rater's own queue (next item, rate own items, the images and maps of those items) and nothing else. A
 *   capability is an HMAC of (session, rater) under a secret that lives only in memory for one launch;
 * - a team reviewer (a signed-in account): the review sessions an owner assigned to them, and in those only their
 *   own queue and ratings, the images and maps of their items, and their own boxes and masks on those images. No
 *   workbench, no analysis, no events: each of those names methods, which a blinded session hides;
 * - a team viewer: reads the workbench (datasets, images, runs, explanations, metrics, annotations, jobs) and
 *   changes nothing.
 * Default deny: a method not named in `actionOf` is a workbench write (the owner's), so a method added later is
 * never reachable by a rater, reviewer or viewer by accident.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ReviewItem, Store } from '../store/index.js';
import { ApiError, type Method, type ValidRequest } from './contract.js';

/** A signed-in team account, as the caller knows it. */
export interface AccountRef {
  id: number;
  name: string;
  raterId: number;
}

export type Caller =
  | { role: 'owner'; account?: AccountRef }
  | { role: 'rater'; sessionId: number; raterId: number }
  | { role: 'reviewer'; account: AccountRef }
  | { role: 'viewer'; account: AccountRef };

export const OWNER: Caller = { role: 'owner' };

export type Action =
  /** Datasets, images, runs, training, explanations, the app's events: `write` when it changes something. */
  | { kind: 'workbench'; write: boolean }
  /** Create sessions, mint rater links, assign reviewers, export: names methods and runs. */
  | { kind: 'review.manage' }
  /** The session picker: a rater or reviewer sees only their own sessions. */
  | { kind: 'review.sessions' }
  /** The unblinded analysis of a session and the evaluation behind it. */
  | { kind: 'review.analyse'; sessionId: number }
  /** A rater's next item in a session. */
  | { kind: 'review.queue'; sessionId: number; rater: string }
  /** Rating one item. */
  | { kind: 'review.item'; itemId: number }
  /** Reading the boxes and masks drawn on an image (one annotator's mask when `annotator` is given). */
  | { kind: 'annotation.read'; imageId: number; annotator?: number }
  /** Drawing on an image as `annotator` (a new box, a mask). */
  | { kind: 'annotation.draw'; imageId: number; annotator: number }
  /** Changing an existing box (edit, delete, restore). */
  | { kind: 'annotation.edit'; annotationId: number }
  /** Choosing the name one annotates under. */
  | { kind: 'annotation.name'; name: string }
  | { kind: 'file.image'; imageId: number }
  | { kind: 'file.explanation'; explanationId: number }
  /** What the app says about itself (version, transport, the caller's role). */
  | { kind: 'app.info' };

/** Workbench methods that only read: a viewer may call them. Everything else is a write. */
const READS = new Set<Method>([
  'datasets.list',
  'images.list',
  'images.detail',
  'runs.list',
  'runs.get',
  'predict',
  'explain',
  'explain.methods',
  'metrics.table',
  'jobs.list',
  'jobs.get',
]);

/** The action a request asks for. Methods not named here are workbench actions (writes unless in READS). */
export function actionOf<M extends Method>(method: M, req: ValidRequest<M>): Action {
  const r = req as Record<string, unknown>;
  switch (method) {
    case 'app.info':
      return { kind: 'app.info' };
    case 'review.sessions':
      return { kind: 'review.sessions' };
    case 'review.next':
      return { kind: 'review.queue', sessionId: r.sessionId as number, rater: r.rater as string };
    case 'review.rate':
      return { kind: 'review.item', itemId: r.itemId as number };
    case 'review.summary':
    case 'review.evaluate':
      return { kind: 'review.analyse', sessionId: r.sessionId as number };
    case 'review.create':
    case 'review.raterLinks':
    case 'review.evaluateCancel':
    case 'review.assign':
    case 'review.assignees':
    case 'team.users':
      return { kind: 'review.manage' };
    case 'annotations.list':
      return { kind: 'annotation.read', imageId: r.imageId as number };
    case 'masks.get':
      return { kind: 'annotation.read', imageId: r.imageId as number, annotator: r.annotator as number };
    case 'annotations.add':
    case 'masks.put':
      return { kind: 'annotation.draw', imageId: r.imageId as number, annotator: r.annotator as number };
    case 'annotations.update':
    case 'annotations.delete':
    case 'annotations.restore':
      return { kind: 'annotation.edit', annotationId: r.id as number };
    case 'annotator.set':
      return { kind: 'annotation.name', name: r.name as string };
    default:
      return { kind: 'workbench', write: !READS.has(method) };
  }
}

const refuseRater = (why: string) =>
  new ApiError(`refused: ${why} (a rater link opens only its rater's own review queue)`, 403);

/** Throws a 403 ApiError unless `caller` may do `action`. */
export function authorise(store: Store, caller: Caller, action: Action): void {
  switch (caller.role) {
    case 'owner':
      return;
    case 'rater':
      authoriseRater(store, caller, action);
      return;
    case 'reviewer':
      authoriseReviewer(store, caller.account, action);
      return;
    case 'viewer':
      authoriseViewer(caller.account, action);
      return;
  }
}

function authoriseRater(store: Store, caller: { sessionId: number; raterId: number }, action: Action): void {
  const { sessionId, raterId } = caller;
  // The capability is only as good as the assignment it names: a rater taken out of a session loses it.
  const items = store.ratings.items(sessionId, raterId);
  if (items.length === 0) throw refuseRater(`rater ${raterId} has no items in review session ${sessionId}`);
  switch (action.kind) {
    case 'app.info':
    case 'review.sessions':
      return;
    case 'review.queue': {
      if (action.sessionId !== sessionId)
        throw refuseRater(`review session ${action.sessionId} is not yours`);
      const name = store.ratings.getRater(raterId)?.name ?? '';
      if (name.toLowerCase() !== action.rater.trim().toLowerCase())
        throw refuseRater(`these are not your ratings ("${action.rater}")`);
      return;
    }
    case 'review.item':
    case 'file.explanation':
    case 'file.image':
      checkItemScope(store, items, action, refuseRater);
      return;
    case 'review.analyse':
      throw refuseRater('the analysis names the methods and belongs to the session’s owner');
    case 'review.manage':
      throw refuseRater('managing sessions belongs to the owner');
    case 'annotation.read':
    case 'annotation.draw':
    case 'annotation.edit':
    case 'annotation.name':
    case 'workbench':
      throw refuseRater('the workbench belongs to the owner');
  }
}

/** The items, images and maps a queue reaches: the same rule for a rater link and a reviewer account. */
function checkItemScope(
  store: Store,
  items: readonly ReviewItem[],
  action: Extract<Action, { kind: 'review.item' | 'file.explanation' | 'file.image' }>,
  refuse: (why: string) => ApiError,
): void {
  switch (action.kind) {
    case 'review.item':
      if (!items.some((i) => i.id === action.itemId))
        throw refuse(`review item ${action.itemId} is not in your queue`);
      return;
    case 'file.explanation':
      if (!items.some((i) => i.explanationId === action.explanationId))
        throw refuse(`explanation ${action.explanationId} is not in your queue`);
      return;
    case 'file.image':
      if (!imagesOf(store, items).has(action.imageId))
        throw refuse(`image ${action.imageId} is not in your queue`);
      return;
  }
}

function imagesOf(store: Store, items: readonly ReviewItem[]): Set<number> {
  const ids = new Set<number>();
  for (const i of items) {
    const imageId = store.explanations.getMeta(i.explanationId)?.imageId;
    if (imageId !== undefined) ids.add(imageId);
  }
  return ids;
}

const refuseReviewer = (why: string) =>
  new ApiError(`refused: ${why} (a reviewer reaches only the review sessions assigned to them)`, 403);

/** The reviewer's own items in the sessions assigned to them (an assignment without items reaches nothing). */
export function reviewerItems(store: Store, account: AccountRef): ReviewItem[] {
  return store.accounts
    .assignedSessions(account.id)
    .flatMap((sessionId) => store.ratings.items(sessionId, account.raterId));
}

function authoriseReviewer(store: Store, account: AccountRef, action: Action): void {
  switch (action.kind) {
    case 'app.info':
    case 'review.sessions':
      return; // review.sessions lists only the assigned sessions (review-handlers.ts)
    case 'review.queue': {
      if (!store.accounts.assignedSessions(account.id).includes(action.sessionId))
        throw refuseReviewer(`review session ${action.sessionId} is not assigned to you`);
      const name = store.ratings.getRater(account.raterId)?.name ?? '';
      if (name.toLowerCase() !== action.rater.trim().toLowerCase())
        throw refuseReviewer(`these are not your ratings ("${action.rater}")`);
      return;
    }
    case 'review.item':
    case 'file.explanation':
    case 'file.image':
      checkItemScope(store, reviewerItems(store, account), action, refuseReviewer);
      return;
    case 'annotation.read':
      if (action.annotator !== undefined && action.annotator !== account.raterId)
        throw refuseReviewer(`the marks of annotator ${action.annotator} are not yours`);
      if (!imagesOf(store, reviewerItems(store, account)).has(action.imageId))
        throw refuseReviewer(`image ${action.imageId} is not in your review sessions`);
      return;
    case 'annotation.draw':
      if (action.annotator !== account.raterId)
        throw refuseReviewer(
          `you draw as yourself (annotator ${account.raterId}), not as annotator ${action.annotator}`,
        );
      if (!imagesOf(store, reviewerItems(store, account)).has(action.imageId))
        throw refuseReviewer(`image ${action.imageId} is not in your review sessions`);
      return;
    case 'annotation.edit': {
      const o = store.objects.get(action.annotationId);
      const mine = o?.source.kind === 'annotator' && o.source.annotatorId === account.raterId;
      if (!o || !mine) throw refuseReviewer(`annotation ${action.annotationId} is not one of your boxes`);
      if (!imagesOf(store, reviewerItems(store, account)).has(o.imageId))
        throw refuseReviewer(`image ${o.imageId} is not in your review sessions`);
      return;
    }
    case 'annotation.name':
      if (action.name.trim().toLowerCase() !== account.name)
        throw refuseReviewer(`you annotate as "${account.name}", the name you signed in with`);
      return;
    case 'review.analyse':
      throw refuseReviewer('the analysis names the methods and belongs to the owner');
    case 'review.manage':
      throw refuseReviewer('managing sessions belongs to the owner');
    case 'workbench':
      throw refuseReviewer('the workbench names methods and runs, and belongs to owners and viewers');
  }
}

function authoriseViewer(account: AccountRef, action: Action): void {
  const refuse = (why: string) =>
    new ApiError(`refused: ${why} (user "${account.name}" is a viewer, who reads and changes nothing)`, 403);
  switch (action.kind) {
    case 'app.info':
    case 'file.image':
    case 'file.explanation':
    case 'annotation.read':
      return;
    case 'review.sessions':
      return; // lists nothing: no session is assigned to a viewer
    case 'workbench':
      if (action.write) throw refuse('changing the workbench belongs to owners');
      return;
    case 'review.queue':
    case 'review.item':
      throw refuse('rating belongs to reviewers');
    case 'annotation.draw':
    case 'annotation.edit':
    case 'annotation.name':
      throw refuse('annotating belongs to owners and reviewers');
    case 'review.analyse':
      throw refuse('the analysis belongs to owners');
    case 'review.manage':
      throw refuse('managing sessions belongs to owners');
  }
}

// ---- rater capabilities ----

const PREFIX = 'xr1';

function mac(secret: Buffer, sessionId: number, raterId: number): string {
  return createHmac('sha256', secret).update(`rater:${sessionId}:${raterId}`).digest('base64url');
}

/** A rater's capability for one session: `xr1.<session>.<rater>.<hmac>` (URL-safe). */
export function mintRaterToken(secret: Buffer, sessionId: number, raterId: number): string {
  return `${PREFIX}.${sessionId}.${raterId}.${mac(secret, sessionId, raterId)}`;
}

/** The rater a token was minted for, or null when it is not one of this launch's. */
export function verifyRaterToken(secret: Buffer, token: string): Caller | null {
  const m = /^xr1\.([1-9][0-9]{0,14})\.([1-9][0-9]{0,14})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const sessionId = Number(m[1]);
  const raterId = Number(m[2]);
  const want = Buffer.from(mac(secret, sessionId, raterId));
  const got = Buffer.from(m[3]);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
  return { role: 'rater', sessionId, raterId };
}

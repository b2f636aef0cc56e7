/**
 * Who may do what in a review (issue 12): THE authorisation rule, one function over (caller, action, store), so a
 * later team mode (accounts and roles) replaces this file and nothing else.
 *
 * The model, kept minimal and honest:
 * - the owner is whoever holds the launch token (web) or runs the desktop app: everything is allowed;
 * - a rater holds a rater capability minted by the owner for one (session, rater) pair; it opens that rater's own
 *   queue (next item, rate own items, the images and maps of those items) and nothing else. Default deny: any
 *   method not listed below — analysis, session management, export, datasets, runs, explanations, events — is the
 *   owner's, so a method added later is never reachable with a rater link by accident.
 * A rater capability is an HMAC of (session, rater) under a secret that lives only in memory for one launch, like
 * the launch token: a restart invalidates every rater link (the owner mints new ones).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/index.js';
import { ApiError, type Method, type ValidRequest } from './contract.js';

export type Caller = { role: 'owner' } | { role: 'rater'; sessionId: number; raterId: number };

export const OWNER: Caller = { role: 'owner' };

export type Action =
  /** Datasets, images, runs, training, explanations, annotation, the app's events. */
  | { kind: 'workbench' }
  /** Create sessions, mint rater links, export: names methods and runs. */
  | { kind: 'review.manage' }
  /** The session picker: a rater sees only their own session. */
  | { kind: 'review.sessions' }
  /** The unblinded analysis of a session and the evaluation behind it. */
  | { kind: 'review.analyse'; sessionId: number }
  /** A rater's next item in a session. */
  | { kind: 'review.queue'; sessionId: number; rater: string }
  /** Rating one item. */
  | { kind: 'review.item'; itemId: number }
  | { kind: 'file.image'; imageId: number }
  | { kind: 'file.explanation'; explanationId: number }
  /** What the app says about itself (version, transport, the caller's role). */
  | { kind: 'app.info' };

/** The action a request asks for. Methods not named here are workbench actions (the owner's). */
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
      return { kind: 'review.manage' };
    default:
      return { kind: 'workbench' };
  }
}

const refuse = (why: string) =>
  new ApiError(`refused: ${why} (a rater link opens only its rater's own review queue)`, 403);

/** Throws a 403 ApiError unless `caller` may do `action`. */
export function authorise(store: Store, caller: Caller, action: Action): void {
  if (caller.role === 'owner') return;
  const { sessionId, raterId } = caller;
  // The capability is only as good as the assignment it names: a rater taken out of a session loses it.
  const items = store.ratings.items(sessionId, raterId);
  if (items.length === 0) throw refuse(`rater ${raterId} has no items in review session ${sessionId}`);
  switch (action.kind) {
    case 'app.info':
    case 'review.sessions':
      return;
    case 'review.queue': {
      if (action.sessionId !== sessionId) throw refuse(`review session ${action.sessionId} is not yours`);
      const name = store.ratings.getRater(raterId)?.name ?? '';
      if (name.toLowerCase() !== action.rater.trim().toLowerCase())
        throw refuse(`these are not your ratings ("${action.rater}")`);
      return;
    }
    case 'review.item':
      if (!items.some((i) => i.id === action.itemId))
        throw refuse(`review item ${action.itemId} is not in your queue`);
      return;
    case 'file.explanation':
      if (!items.some((i) => i.explanationId === action.explanationId))
        throw refuse(`explanation ${action.explanationId} is not in your queue`);
      return;
    case 'file.image': {
      const ok = items.some((i) => store.explanations.getMeta(i.explanationId)?.imageId === action.imageId);
      if (!ok) throw refuse(`image ${action.imageId} is not in your queue`);
      return;
    }
    case 'review.analyse':
      throw refuse('the analysis names the methods and belongs to the session’s owner');
    case 'review.manage':
      throw refuse('managing sessions belongs to the owner');
    case 'workbench':
      throw refuse('the workbench belongs to the owner');
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

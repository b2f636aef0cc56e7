/**
 * People (raters, who also draw annotations), review sessions, their items, and ratings.
 * A rating is acknowledged only when `put` returns: its transaction has committed with synchronous = FULL.
 * Ratings are never deleted, and each change keeps the previous values in rating_revisions.
 */
import {
  isForeignKeyError,
  isUniqueError,
  nonEmptyText,
  nonNegativeInt,
  positiveInt,
  type StoreContext,
} from './context.js';
import { fromJson, type JsonObject, toJsonObject } from './json.js';

export interface Rater {
  id: number;
  name: string;
  createdAt: string;
}

export interface ReviewSession {
  id: number;
  name: string;
  config: JsonObject;
  blinded: boolean;
  createdAt: string;
}

export type Side = 'left' | 'right';

export interface ReviewItemInput {
  raterId: number;
  explanationId: number;
  /** Order in which this rater sees the item, 0-based, unique per rater within the session. */
  position: number;
  /** For side-by-side comparisons. */
  side?: Side | null;
}

export interface ReviewItem extends Required<ReviewItemInput> {
  id: number;
  sessionId: number;
  createdAt: string;
}

/** 1..5, or null when not (yet) given. */
export type Score = 1 | 2 | 3 | 4 | 5 | null;

export interface RatingValues {
  correctness?: Score;
  completeness?: Score;
  compactness?: Score;
  comment?: string | null;
  /** "This explanation is wrong" (e.g. highlights the wrong object). */
  wrongFlag?: boolean;
}

/** Through a review item (rater and explanation come from it), or a free rating outside any session. */
export type RatingTarget = { reviewItemId: number } | { raterId: number; explanationId: number };

export type RatingInput = RatingTarget & RatingValues;

export interface Rating {
  id: number;
  reviewItemId: number | null;
  explanationId: number;
  raterId: number;
  correctness: Score;
  completeness: Score;
  compactness: Score;
  comment: string | null;
  wrongFlag: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A rating as recorded elsewhere (an export), restored with its own timestamps and history. */
export type RatingRestoreInput = RatingTarget &
  Required<Pick<RatingValues, 'correctness' | 'completeness' | 'compactness' | 'comment' | 'wrongFlag'>> & {
    createdAt: string;
    updatedAt: string;
    /** Earlier values, oldest first (as `history` returns them). */
    history: readonly Omit<RatingRevision, 'ratingId'>[];
  };

export interface RatingRevision {
  ratingId: number;
  correctness: Score;
  completeness: Score;
  compactness: Score;
  comment: string | null;
  wrongFlag: boolean;
  validFrom: string;
  replacedAt: string;
}

interface RatingRow {
  id: number;
  review_item_id: number | null;
  explanation_id: number;
  rater_id: number;
  correctness: Score;
  completeness: Score;
  compactness: Score;
  comment: string | null;
  wrong_flag: number;
  created_at: string;
  updated_at: string;
}

interface ItemRow {
  id: number;
  session_id: number;
  rater_id: number;
  explanation_id: number;
  position: number;
  side: Side | null;
  created_at: string;
}

interface SessionRow {
  id: number;
  name: string;
  config: string;
  blinded: number;
  created_at: string;
}

interface RevisionRow {
  rating_id: number;
  correctness: Score;
  completeness: Score;
  compactness: Score;
  comment: string | null;
  wrong_flag: number;
  valid_from: string;
  replaced_at: string;
}

const toRater = (r: { id: number; name: string; created_at: string }): Rater => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});

const toSession = (r: SessionRow): ReviewSession => ({
  id: r.id,
  name: r.name,
  config: fromJson<JsonObject>(r.config),
  blinded: r.blinded === 1,
  createdAt: r.created_at,
});

const toItem = (r: ItemRow): ReviewItem => ({
  id: r.id,
  sessionId: r.session_id,
  raterId: r.rater_id,
  explanationId: r.explanation_id,
  position: r.position,
  side: r.side,
  createdAt: r.created_at,
});

const toRating = (r: RatingRow): Rating => ({
  id: r.id,
  reviewItemId: r.review_item_id,
  explanationId: r.explanation_id,
  raterId: r.rater_id,
  correctness: r.correctness,
  completeness: r.completeness,
  compactness: r.compactness,
  comment: r.comment,
  wrongFlag: r.wrong_flag === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toRevision = (r: RevisionRow): RatingRevision => ({
  ratingId: r.rating_id,
  correctness: r.correctness,
  completeness: r.completeness,
  compactness: r.compactness,
  comment: r.comment,
  wrongFlag: r.wrong_flag === 1,
  validFrom: r.valid_from,
  replacedAt: r.replaced_at,
});

function score(v: Score | undefined, name: string, where: string): Score {
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || v < 1 || v > 5)
    throw new Error(`${where}: ${name} must be an integer 1..5, got ${v}`);
  return v;
}

function checkedValues(v: RatingValues, where: string) {
  return {
    correctness: score(v.correctness, 'correctness', where),
    completeness: score(v.completeness, 'completeness', where),
    compactness: score(v.compactness, 'compactness', where),
    comment: v.comment === undefined || v.comment === null || v.comment === '' ? null : v.comment,
    wrongFlag: v.wrongFlag ? 1 : 0,
  };
}

/** Restored timestamps must be the ISO-8601 UTC text the store writes, or sorting by time breaks. */
function timestamp(v: string, where: string): string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v)) {
    throw new Error(`${where}: expected an ISO-8601 UTC time like 2024-01-31T12:00:00.000Z, got "${v}"`);
  }
  return v;
}

export interface RatingsApi {
  createRater(name: string): Rater;
  /** The rater with this name (case-insensitive), created if new. */
  ensureRater(name: string): Rater;
  getRater(id: number): Rater | undefined;
  raterByName(name: string): Rater | undefined;
  listRaters(): Rater[];

  createSession(input: { name: string; config?: JsonObject; blinded?: boolean }): ReviewSession;
  getSession(id: number): ReviewSession | undefined;
  listSessions(): ReviewSession[];
  /** All in one transaction. */
  addItems(sessionId: number, items: readonly ReviewItemInput[]): ReviewItem[];
  /** In presentation order (rater, then position). */
  items(sessionId: number, raterId?: number): ReviewItem[];
  getItem(id: number): ReviewItem | undefined;
  /** Refused once any item of the session has a rating. */
  deleteSession(id: number): void;

  /**
   * Creates or replaces the rating of a review item (or of a rater and explanation outside a session). Returns
   * after the commit: the rating is then durable.
   */
  put(input: RatingInput): Rating;
  get(id: number): Rating | undefined;
  list(filter?: { sessionId?: number; raterId?: number; explanationId?: number }): Rating[];
  /** Earlier values of a rating, oldest first. */
  history(ratingId: number): RatingRevision[];

  // Restoring an export (src/review/exchange): the records keep the timestamps they were made with, which the
  // functions above always set to "now". Nothing is ever replaced: restoring onto an existing record is refused.
  /** The rater with this name (kept as it is), or a new one created at `createdAt`. */
  restoreRater(input: { name: string; createdAt: string }): Rater;
  restoreSession(input: {
    name: string;
    config: JsonObject;
    blinded: boolean;
    createdAt: string;
  }): ReviewSession;
  restoreItems(sessionId: number, items: readonly (ReviewItemInput & { createdAt: string })[]): ReviewItem[];
  /** Refused when the target already has a rating. */
  restoreRating(input: RatingRestoreInput): Rating;
}

export function ratingsApi(ctx: StoreContext): RatingsApi {
  const getRater = (id: number) => {
    const r = ctx.get<{ id: number; name: string; created_at: string }>(
      'SELECT * FROM raters WHERE id = ?',
      id,
    );
    return r && toRater(r);
  };
  const raterByName = (name: string) => {
    const r = ctx.get<{ id: number; name: string; created_at: string }>(
      'SELECT * FROM raters WHERE name = ?',
      name.trim(),
    );
    return r && toRater(r);
  };
  const createRater = (name: string) => {
    nonEmptyText(name, 'rater name');
    try {
      return getRater(
        ctx.insert('INSERT INTO raters (name, created_at) VALUES (?, ?)', name.trim(), ctx.now()),
      )!;
    } catch (err) {
      if (isUniqueError(err)) {
        throw new Error(`a rater named "${name.trim()}" already exists in ${ctx.file}`);
      }
      throw err;
    }
  };
  const getSession = (id: number) => {
    const r = ctx.get<SessionRow>('SELECT * FROM review_sessions WHERE id = ?', id);
    return r && toSession(r);
  };
  const get = (id: number) => {
    const r = ctx.get<RatingRow>('SELECT * FROM ratings WHERE id = ?', id);
    return r && toRating(r);
  };

  /** Inserts items of a session, inside the caller's transaction; `createdAt(i)` gives item i's timestamp. */
  const addItemsAt = (
    sessionId: number,
    items: readonly ReviewItemInput[],
    createdAt: (i: number) => string,
  ): ReviewItem[] => {
    const where = `review session ${sessionId}`;
    if (getSession(positiveInt(sessionId, `${where}: id`)) === undefined) {
      throw new Error(`${where}: no such session in ${ctx.file}`);
    }
    return items.map((it, i) => {
      const w = `${where}: item ${i}`;
      positiveInt(it.raterId, `${w}: raterId`);
      positiveInt(it.explanationId, `${w}: explanationId`);
      nonNegativeInt(it.position, `${w}: position`);
      if (it.side !== undefined && it.side !== null && it.side !== 'left' && it.side !== 'right') {
        throw new Error(`${w}: side must be 'left', 'right' or null`);
      }
      try {
        const id = ctx.insert(
          `INSERT INTO review_items (session_id, rater_id, explanation_id, position, side, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
          sessionId,
          it.raterId,
          it.explanationId,
          it.position,
          it.side ?? null,
          createdAt(i),
        );
        return toItem(ctx.get<ItemRow>('SELECT * FROM review_items WHERE id = ?', id)!);
      } catch (err) {
        if (isForeignKeyError(err)) {
          throw new Error(`${w}: rater ${it.raterId} or explanation ${it.explanationId} does not exist`);
        }
        if (isUniqueError(err)) {
          throw new Error(`${w}: rater ${it.raterId} already has an item at position ${it.position}`);
        }
        throw err;
      }
    });
  };
  /** Who rates what: from the review item, or given directly for a free rating (both checked to exist). */
  const resolveTarget = (input: RatingTarget, where: string) => {
    if ('reviewItemId' in input) {
      const item = ctx.get<ItemRow>('SELECT * FROM review_items WHERE id = ?', input.reviewItemId);
      if (item === undefined)
        throw new Error(`${where}: no review item with id ${input.reviewItemId} in ${ctx.file}`);
      return { itemId: item.id as number | null, raterId: item.rater_id, explanationId: item.explanation_id };
    }
    const raterId = positiveInt(input.raterId, `${where}: raterId`);
    const explanationId = positiveInt(input.explanationId, `${where}: explanationId`);
    if (getRater(raterId) === undefined)
      throw new Error(`${where}: no rater with id ${raterId} in ${ctx.file}`);
    if (ctx.get('SELECT 1 FROM explanations WHERE id = ?', explanationId) === undefined) {
      throw new Error(`${where}: no explanation with id ${explanationId} in ${ctx.file}`);
    }
    return { itemId: null as number | null, raterId, explanationId };
  };
  const existing = (t: { itemId: number | null; raterId: number; explanationId: number }) =>
    t.itemId !== null
      ? ctx.get<RatingRow>('SELECT * FROM ratings WHERE review_item_id = ?', t.itemId)
      : ctx.get<RatingRow>(
          'SELECT * FROM ratings WHERE review_item_id IS NULL AND rater_id = ? AND explanation_id = ?',
          t.raterId,
          t.explanationId,
        );

  return {
    createRater,
    ensureRater: (name) => ctx.tx(() => raterByName(nonEmptyText(name, 'rater name')) ?? createRater(name)),
    getRater,
    raterByName,
    listRaters: () =>
      ctx
        .all<{ id: number; name: string; created_at: string }>('SELECT * FROM raters ORDER BY name')
        .map(toRater),

    createSession(input) {
      nonEmptyText(input.name, 'review session name');
      const config = toJsonObject(input.config ?? {}, `review session "${input.name}": config`);
      const id = ctx.tx(() =>
        ctx.insert(
          'INSERT INTO review_sessions (name, config, blinded, created_at) VALUES (?, ?, ?, ?)',
          input.name.trim(),
          config,
          input.blinded ? 1 : 0,
          ctx.now(),
        ),
      );
      return getSession(id)!;
    },
    getSession,
    listSessions: () => ctx.all<SessionRow>('SELECT * FROM review_sessions ORDER BY id').map(toSession),
    addItems(sessionId, items) {
      return ctx.tx(() => {
        const now = ctx.now();
        return addItemsAt(sessionId, items, () => now);
      });
    },
    items(sessionId, raterId) {
      const rows =
        raterId === undefined
          ? ctx.all<ItemRow>(
              'SELECT * FROM review_items WHERE session_id = ? ORDER BY rater_id, position',
              sessionId,
            )
          : ctx.all<ItemRow>(
              'SELECT * FROM review_items WHERE session_id = ? AND rater_id = ? ORDER BY position',
              sessionId,
              raterId,
            );
      return rows.map(toItem);
    },
    getItem(id) {
      const r = ctx.get<ItemRow>('SELECT * FROM review_items WHERE id = ?', id);
      return r && toItem(r);
    },
    deleteSession(id) {
      try {
        ctx.tx(() => ctx.run('DELETE FROM review_sessions WHERE id = ?', id));
      } catch (err) {
        if (isForeignKeyError(err)) {
          throw new Error(`review session ${id} has ratings and is kept permanently; it cannot be deleted`);
        }
        throw err;
      }
    },

    put(input) {
      const where = 'reviewItemId' in input ? `rating of review item ${input.reviewItemId}` : 'rating';
      const values = checkedValues(input, where);
      return ctx.tx(() => {
        const { itemId, raterId, explanationId } = resolveTarget(input, where);
        const old = existing({ itemId, raterId, explanationId });
        const now = ctx.now();
        if (old === undefined) {
          const id = ctx.insert(
            `INSERT INTO ratings (review_item_id, explanation_id, rater_id, correctness, completeness, compactness,
               comment, wrong_flag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            itemId,
            explanationId,
            raterId,
            values.correctness,
            values.completeness,
            values.compactness,
            values.comment,
            values.wrongFlag,
            now,
            now,
          );
          return get(id)!;
        }
        const same =
          old.correctness === values.correctness &&
          old.completeness === values.completeness &&
          old.compactness === values.compactness &&
          old.comment === values.comment &&
          old.wrong_flag === values.wrongFlag;
        // An identical save (autosave, double click) must not add a revision.
        if (same) return toRating(old);
        ctx.run(
          `UPDATE ratings SET correctness = ?, completeness = ?, compactness = ?, comment = ?, wrong_flag = ?,
             updated_at = ? WHERE id = ?`,
          values.correctness,
          values.completeness,
          values.compactness,
          values.comment,
          values.wrongFlag,
          now,
          old.id,
        );
        return get(old.id)!;
      });
    },
    get,
    list(filter = {}) {
      const clauses: string[] = [];
      const params: number[] = [];
      if (filter.sessionId !== undefined) {
        clauses.push('review_item_id IN (SELECT id FROM review_items WHERE session_id = ?)');
        params.push(filter.sessionId);
      }
      if (filter.raterId !== undefined) {
        clauses.push('rater_id = ?');
        params.push(filter.raterId);
      }
      if (filter.explanationId !== undefined) {
        clauses.push('explanation_id = ?');
        params.push(filter.explanationId);
      }
      const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
      return ctx.all<RatingRow>(`SELECT * FROM ratings ${where} ORDER BY id`, ...params).map(toRating);
    },
    history(ratingId) {
      return ctx
        .all<RevisionRow>('SELECT * FROM rating_revisions WHERE rating_id = ? ORDER BY id', ratingId)
        .map(toRevision);
    },
    restoreRater(input) {
      const ts = timestamp(input.createdAt, `rater "${input.name}": createdAt`);
      return ctx.tx(() => {
        const old = raterByName(nonEmptyText(input.name, 'rater name'));
        if (old !== undefined) return old;
        return getRater(
          ctx.insert('INSERT INTO raters (name, created_at) VALUES (?, ?)', input.name.trim(), ts),
        )!;
      });
    },
    restoreSession(input) {
      nonEmptyText(input.name, 'review session name');
      const config = toJsonObject(input.config, `review session "${input.name}": config`);
      const ts = timestamp(input.createdAt, `review session "${input.name}": createdAt`);
      const id = ctx.tx(() =>
        ctx.insert(
          'INSERT INTO review_sessions (name, config, blinded, created_at) VALUES (?, ?, ?, ?)',
          input.name.trim(),
          config,
          input.blinded ? 1 : 0,
          ts,
        ),
      );
      return getSession(id)!;
    },
    restoreItems(sessionId, items) {
      for (const [i, it] of items.entries()) {
        timestamp(it.createdAt, `review session ${sessionId}: item ${i}: createdAt`);
      }
      return ctx.tx(() => addItemsAt(sessionId, items, (i) => items[i].createdAt));
    },
    restoreRating(input) {
      const where =
        'reviewItemId' in input ? `restored rating of review item ${input.reviewItemId}` : 'restored rating';
      const created = timestamp(input.createdAt, `${where}: createdAt`);
      const updated = timestamp(input.updatedAt, `${where}: updatedAt`);
      const values = checkedValues(input, where);
      const history = input.history.map((h, i) => ({
        ...checkedValues(h, `${where}: revision ${i}`),
        validFrom: timestamp(h.validFrom, `${where}: revision ${i}: validFrom`),
        replacedAt: timestamp(h.replacedAt, `${where}: revision ${i}: replacedAt`),
      }));
      return ctx.tx(() => {
        const t = resolveTarget(input, where);
        if (existing(t) !== undefined)
          throw new Error(`${where}: the store already has this rating; it is never replaced`);
        const id = ctx.insert(
          `INSERT INTO ratings (review_item_id, explanation_id, rater_id, correctness, completeness, compactness,
             comment, wrong_flag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          t.itemId,
          t.explanationId,
          t.raterId,
          values.correctness,
          values.completeness,
          values.compactness,
          values.comment,
          values.wrongFlag,
          created,
          updated,
        );
        for (const h of history) {
          ctx.run(
            `INSERT INTO rating_revisions
               (rating_id, correctness, completeness, compactness, comment, wrong_flag, valid_from, replaced_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            id,
            h.correctness,
            h.completeness,
            h.compactness,
            h.comment,
            h.wrongFlag,
            h.validFrom,
            h.replacedAt,
          );
        }
        return get(id)!;
      });
    },
  };
}

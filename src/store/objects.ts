/**
 * Boxes on images: the dataset's ground truth (replaced wholesale on import) and boxes people draw in xwb
 * (edited one by one, soft-deleted so undo and audit work). Boxes use the pixel-edge convention of
 * src/data/types.ts.
 */
import type { Box, VocObject, VocPart } from '../data/types.js';
import { bool, nonEmptyText, positiveInt, type StoreContext } from './context.js';
import { canonicalJson, toJson } from './json.js';
import { GROUND_TRUTH, type Source, sourceFromRow, sourceParams } from './source.js';

export interface StoredObject {
  id: number;
  imageId: number;
  source: Source;
  object: VocObject;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  /** 1 when added, +1 at every change (edit, delete, restore): what an optimistic write names as its base. */
  version: number;
}

/**
 * A write based on a version of the box that is no longer the stored one: someone else changed it in between.
 * Nothing was written; `current` is what is stored now.
 */
export class StaleWriteError extends Error {
  constructor(
    readonly current: StoredObject,
    expected: number,
  ) {
    super(
      `annotation ${current.id} was changed by someone else since you loaded it (your version ${expected}, ` +
        `stored version ${current.version}); nothing was overwritten: reload the image and redo your change`,
    );
    this.name = 'StaleWriteError';
  }
}

export interface ListObjectsOptions {
  /** Only this source; all sources when absent. */
  source?: Source;
  includeDeleted?: boolean;
}

interface Row {
  id: number;
  image_id: number;
  source_kind: string;
  annotator_id: number | null;
  class_name: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  difficult: number | null;
  truncated: number | null;
  occluded: number | null;
  pose: string | null;
  attributes: string | null;
  parts: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  version: number;
}

/** Absent optional fields stay absent, so what an importer read comes back exactly. */
function toVocObject(r: Row): VocObject {
  const o: VocObject = { name: r.class_name, box: { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 } };
  if (r.pose !== null) o.pose = r.pose;
  if (r.truncated !== null) o.truncated = r.truncated === 1;
  if (r.difficult !== null) o.difficult = r.difficult === 1;
  if (r.occluded !== null) o.occluded = r.occluded === 1;
  if (r.parts !== null) o.parts = JSON.parse(r.parts) as VocPart[];
  if (r.attributes !== null) o.attributes = JSON.parse(r.attributes) as Record<string, string>;
  return o;
}

function toStored(r: Row): StoredObject {
  return {
    id: r.id,
    imageId: r.image_id,
    source: sourceFromRow(r.source_kind, r.annotator_id),
    object: toVocObject(r),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
    version: r.version,
  };
}

function checkBox(b: Box, where: string): void {
  if (b === null || typeof b !== 'object') throw new Error(`${where}: box is missing`);
  for (const k of ['x0', 'y0', 'x1', 'y1'] as const) {
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k]))
      throw new Error(`${where}: box.${k} must be a finite number`);
  }
  if (!(b.x1 > b.x0 && b.y1 > b.y0)) {
    throw new Error(
      `${where}: box {x0: ${b.x0}, y0: ${b.y0}, x1: ${b.x1}, y1: ${b.y1}} is empty; ` +
        'boxes are pixel-edge coordinates with x1 > x0 and y1 > y0',
    );
  }
}

function checkObject(o: VocObject, where: string): void {
  if (o === null || typeof o !== 'object') throw new Error(`${where}: expected an object`);
  nonEmptyText(o.name, `${where}: name`);
  checkBox(o.box, where);
  o.parts?.forEach((p, i) => {
    nonEmptyText(p.name, `${where}: part ${i} name`);
    checkBox(p.box, `${where}: part ${i} "${p.name}"`);
  });
  if (o.attributes !== undefined) {
    for (const [k, v] of Object.entries(o.attributes)) {
      if (typeof v !== 'string') throw new Error(`${where}: attribute "${k}" must be a string`);
    }
  }
}

function objectParams(o: VocObject, where: string) {
  return [
    o.name,
    o.box.x0,
    o.box.y0,
    o.box.x1,
    o.box.y1,
    bool(o.difficult),
    bool(o.truncated),
    bool(o.occluded),
    o.pose ?? null,
    o.attributes === undefined ? null : toJson(o.attributes, `${where}: attributes`),
    o.parts === undefined
      ? null
      : toJson(
          o.parts.map((p) => ({ name: p.name, box: p.box })),
          `${where}: parts`,
        ),
  ] as const;
}

/** Only the fields the store keeps, so comparing with what was stored is exact. */
function comparable(o: VocObject): VocObject {
  const c: VocObject = { name: o.name, box: { x0: o.box.x0, y0: o.box.y0, x1: o.box.x1, y1: o.box.y1 } };
  if (o.pose !== undefined) c.pose = o.pose;
  if (o.truncated !== undefined) c.truncated = o.truncated;
  if (o.difficult !== undefined) c.difficult = o.difficult;
  if (o.occluded !== undefined) c.occluded = o.occluded;
  if (o.parts !== undefined) c.parts = o.parts.map((p) => ({ name: p.name, box: p.box }));
  if (o.attributes !== undefined) c.attributes = o.attributes;
  return c;
}

function sameObject(a: VocObject, b: VocObject): boolean {
  return canonicalJson(comparable(a), 'annotation') === canonicalJson(comparable(b), 'annotation');
}

const INSERT = `INSERT INTO objects (image_id, source_kind, annotator_id, class_name, x0, y0, x1, y1, difficult,
  truncated, occluded, pose, attributes, parts, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export interface ObjectsApi {
  /**
   * Makes the image's ground truth exactly `objects` (in this order). Idempotent: the same list again is
   * 'unchanged' and writes nothing. Ground truth is replaced outright, not soft-deleted: its history lives in the
   * dataset's own files.
   */
  replaceGroundTruth(
    imageId: number,
    objects: readonly VocObject[],
  ): { status: 'unchanged' | 'replaced'; ids: number[] };
  /** Live objects in insertion order (document order for ground truth). */
  list(imageId: number, opts?: ListObjectsOptions): StoredObject[];
  get(id: number): StoredObject | undefined;
  /**
   * Adds a person's box. With `clientKey` (chosen by the client, unique per annotator) the add is idempotent: a
   * second add with the same key returns the box the first one stored instead of storing another.
   */
  addAnnotation(imageId: number, annotatorId: number, object: VocObject, clientKey?: string): StoredObject;
  /**
   * Edits a person's box. With `expectedVersion` the write is optimistic: it happens only if the stored version is
   * still that one, otherwise StaleWriteError and nothing changes (two people editing the same box) — unless the
   * box already is exactly what the edit asks for (a resend after a lost answer): then the stored box is returned.
   */
  updateAnnotation(id: number, object: VocObject, expectedVersion?: number): StoredObject;
  /** Soft delete; `restoreAnnotation` undoes it. `expectedVersion` as for updateAnnotation. */
  deleteAnnotation(id: number, expectedVersion?: number): StoredObject;
  restoreAnnotation(id: number, expectedVersion?: number): StoredObject;
}

export function objectsApi(ctx: StoreContext): ObjectsApi {
  const get = (id: number) => {
    const r = ctx.get<Row>('SELECT * FROM objects WHERE id = ?', id);
    return r && toStored(r);
  };
  const requireImage = (imageId: number, where: string) => {
    positiveInt(imageId, `${where}: imageId`);
    if (ctx.get('SELECT 1 FROM images WHERE id = ?', imageId) === undefined) {
      throw new Error(`${where}: no image with id ${imageId} in ${ctx.file}`);
    }
  };
  const requireAnnotation = (id: number, where: string): StoredObject => {
    const o = get(positiveInt(id, `${where}: id`));
    if (o === undefined) throw new Error(`${where}: no object with id ${id} in ${ctx.file}`);
    if (o.source.kind === 'gt') {
      throw new Error(
        `${where}: object ${id} is ground truth; change it with replaceGroundTruth (re-import)`,
      );
    }
    return o;
  };
  /** Inside the write's transaction, so no other write can slip between the check and the update. */
  const checkVersion = (o: StoredObject, expected: number | undefined) => {
    if (expected !== undefined && o.version !== expected) throw new StaleWriteError(o, expected);
  };
  const list = (imageId: number, opts: ListObjectsOptions = {}) => {
    const live = opts.includeDeleted ? '' : ' AND deleted_at IS NULL';
    if (opts.source === undefined) {
      return ctx
        .all<Row>(`SELECT * FROM objects WHERE image_id = ?${live} ORDER BY id`, imageId)
        .map(toStored);
    }
    const [kind, annotator] = sourceParams(opts.source, 'objects.list');
    return ctx
      .all<Row>(
        `SELECT * FROM objects WHERE image_id = ? AND source_kind = ? AND annotator_id IS NOT DISTINCT FROM ?${live} ORDER BY id`,
        imageId,
        kind,
        annotator,
      )
      .map(toStored);
  };

  return {
    replaceGroundTruth(imageId, objects) {
      return ctx.tx(() => {
        requireImage(imageId, 'replaceGroundTruth');
        for (const [i, o] of objects.entries()) checkObject(o, `image ${imageId}: ground-truth object ${i}`);
        const current = list(imageId, { source: GROUND_TRUTH });
        const before = canonicalJson(
          current.map((s) => s.object),
          'ground truth',
        );
        const after = canonicalJson(objects.map(comparable), 'ground truth');
        if (before === after) return { status: 'unchanged' as const, ids: current.map((s) => s.id) };
        ctx.run("DELETE FROM objects WHERE image_id = ? AND source_kind = 'gt'", imageId);
        const now = ctx.now();
        const ids = objects.map((o, i) =>
          ctx.insert(
            INSERT,
            imageId,
            'gt',
            null,
            ...objectParams(o, `image ${imageId}: object ${i}`),
            now,
            now,
          ),
        );
        return { status: 'replaced' as const, ids };
      });
    },
    list,
    get,
    addAnnotation(imageId, annotatorId, object, clientKey) {
      return ctx.tx(() => {
        if (clientKey !== undefined) {
          const seen = ctx.get<{ id: number; image_id: number }>(
            'SELECT id, image_id FROM objects WHERE annotator_id = ? AND client_key = ?',
            annotatorId,
            nonEmptyText(clientKey, 'addAnnotation: clientKey'),
          );
          if (seen !== undefined) {
            if (seen.image_id !== imageId) {
              throw new Error(
                `addAnnotation: client key "${clientKey}" was already used on image ${seen.image_id}`,
              );
            }
            return get(seen.id)!;
          }
        }
        requireImage(imageId, 'addAnnotation');
        checkObject(object, `image ${imageId}: annotation`);
        positiveInt(annotatorId, 'addAnnotation: annotatorId');
        if (ctx.get('SELECT 1 FROM raters WHERE id = ?', annotatorId) === undefined) {
          throw new Error(`addAnnotation: no person (rater) with id ${annotatorId} in ${ctx.file}`);
        }
        const now = ctx.now();
        const id = ctx.insert(
          INSERT,
          imageId,
          'annotator',
          annotatorId,
          ...objectParams(object, `image ${imageId}: annotation`),
          now,
          now,
        );
        if (clientKey !== undefined) ctx.run('UPDATE objects SET client_key = ? WHERE id = ?', clientKey, id);
        return get(id)!;
      });
    },
    updateAnnotation(id, object, expectedVersion) {
      return ctx.tx(() => {
        const old = requireAnnotation(id, 'updateAnnotation');
        // A resend of an edit whose answer was lost (the server died right after committing it) finds the box
        // already as it asks: answering with the stored box keeps the resend from being refused as a conflict with
        // itself. Nothing is overwritten either way, so the same holds whoever made the box so.
        if (
          expectedVersion !== undefined &&
          old.version !== expectedVersion &&
          old.deletedAt === null &&
          sameObject(old.object, object)
        )
          return old;
        checkVersion(old, expectedVersion);
        if (old.deletedAt !== null)
          throw new Error(`updateAnnotation: object ${id} is deleted; restore it first`);
        checkObject(object, `annotation ${id}`);
        ctx.run(
          `UPDATE objects SET class_name = ?, x0 = ?, y0 = ?, x1 = ?, y1 = ?, difficult = ?, truncated = ?,
             occluded = ?, pose = ?, attributes = ?, parts = ?, updated_at = ?, version = version + 1
           WHERE id = ?`,
          ...objectParams(object, `annotation ${id}`),
          ctx.now(),
          id,
        );
        return get(id)!;
      });
    },
    deleteAnnotation(id, expectedVersion) {
      return ctx.tx(() => {
        const old = requireAnnotation(id, 'deleteAnnotation');
        if (old.deletedAt !== null) return old;
        checkVersion(old, expectedVersion);
        const now = ctx.now();
        ctx.run(
          'UPDATE objects SET deleted_at = ?, updated_at = ?, version = version + 1 WHERE id = ?',
          now,
          now,
          id,
        );
        return get(id)!;
      });
    },
    restoreAnnotation(id, expectedVersion) {
      return ctx.tx(() => {
        const old = requireAnnotation(id, 'restoreAnnotation');
        if (old.deletedAt === null) return old;
        checkVersion(old, expectedVersion);
        ctx.run(
          'UPDATE objects SET deleted_at = NULL, updated_at = ?, version = version + 1 WHERE id = ?',
          ctx.now(),
          id,
        );
        return get(id)!;
      });
    },
  };
}

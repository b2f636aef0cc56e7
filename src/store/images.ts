/** Images of a dataset, keyed by their path relative to the dataset's source folder. */
import path from 'node:path';
import { isForeignKeyError, nonEmptyText, positiveInt, type StoreContext } from './context.js';
import type { Split } from './splits.js';

export interface ImageInput {
  datasetId: number;
  /** Relative to the dataset's source, '/'-separated (backslashes are converted). */
  relPath: string;
  /** Defaults to the last segment of relPath. */
  fileName?: string;
  width: number;
  height: number;
  channels: number;
  /** e.g. 'jpeg', 'png' (sharp's format names). */
  format: string;
  /** Lower-case hex of the file's bytes. */
  sha256: string;
  /** Image-level class name, when the dataset has one per image. */
  label?: string | null;
}

export interface ImageRecord {
  id: number;
  datasetId: number;
  relPath: string;
  fileName: string;
  width: number;
  height: number;
  channels: number;
  format: string;
  sha256: string;
  label: string | null;
  split: Split | null;
  createdAt: string;
  updatedAt: string;
}

export type UpsertStatus = 'inserted' | 'updated' | 'unchanged';

export interface ListImagesOptions {
  /** `null` lists the images with no split. */
  split?: Split | null;
  label?: string | null;
  offset?: number;
  /** Default 1000. */
  limit?: number;
}

/** An images row joined with its split, as the queries of this module and gallery.ts read it. */
export interface ImageRow {
  id: number;
  dataset_id: number;
  rel_path: string;
  file_name: string;
  width: number;
  height: number;
  channels: number;
  format: string;
  sha256: string;
  label: string | null;
  split: Split | null;
  created_at: string;
  updated_at: string;
}

export function toImage(r: ImageRow): ImageRecord {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    relPath: r.rel_path,
    fileName: r.file_name,
    width: r.width,
    height: r.height,
    channels: r.channels,
    format: r.format,
    sha256: r.sha256,
    label: r.label,
    split: r.split,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The same file must get the same key on every platform and every import. */
export function normaliseRelPath(relPath: string): string {
  nonEmptyText(relPath, 'image relPath');
  const p = path.posix.normalize(relPath.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(p) || /^[A-Za-z]:/.test(p) || p === '..' || p.startsWith('../') || p === '.') {
    throw new Error(`image path "${relPath}" must be relative to the dataset folder and stay inside it`);
  }
  return p;
}

interface Normalised {
  datasetId: number;
  relPath: string;
  fileName: string;
  width: number;
  height: number;
  channels: number;
  format: string;
  sha256: string;
  label: string | null;
}

function normalise(input: ImageInput): Normalised {
  const relPath = normaliseRelPath(input.relPath);
  const where = `image "${relPath}"`;
  if (!/^[0-9a-fA-F]{64}$/.test(input.sha256 ?? '')) {
    throw new Error(`${where}: sha256 must be 64 hex digits, got "${input.sha256}"`);
  }
  if (!Number.isInteger(input.channels) || input.channels < 1 || input.channels > 4) {
    throw new Error(`${where}: channels must be 1..4, got ${input.channels}`);
  }
  if (input.label !== undefined && input.label !== null) nonEmptyText(input.label, `${where}: label`);
  return {
    datasetId: positiveInt(input.datasetId, `${where}: datasetId`),
    relPath,
    fileName: input.fileName ?? path.posix.basename(relPath),
    width: positiveInt(input.width, `${where}: width`),
    height: positiveInt(input.height, `${where}: height`),
    channels: input.channels,
    format: nonEmptyText(input.format, `${where}: format`).toLowerCase(),
    sha256: input.sha256.toLowerCase(),
    label: input.label ?? null,
  };
}

const SELECT = `SELECT i.*, s.split AS split FROM images i LEFT JOIN splits s ON s.image_id = i.id`;

export interface ImagesApi {
  /**
   * Inserts or updates the image keyed by (datasetId, relPath). 'unchanged' when every stored field already
   * matches, so re-importing the same folder writes nothing.
   */
  upsert(input: ImageInput): { id: number; status: UpsertStatus };
  /** Many in one transaction (one fsync instead of one per image). */
  upsertMany(inputs: readonly ImageInput[]): {
    ids: number[];
    inserted: number;
    updated: number;
    unchanged: number;
  };
  get(id: number): ImageRecord | undefined;
  getByPath(datasetId: number, relPath: string): ImageRecord | undefined;
  /** Ordered by relPath. */
  list(datasetId: number, opts?: ListImagesOptions): ImageRecord[];
  count(datasetId: number, opts?: Pick<ListImagesOptions, 'split' | 'label'>): number;
  /** Removes one image and everything about it. Refused while its explanations are in a review. */
  delete(id: number): void;
}

export function imagesApi(ctx: StoreContext): ImagesApi {
  const upsertOne = (input: ImageInput): { id: number; status: UpsertStatus } => {
    const n = normalise(input);
    const old = ctx.get<ImageRow>(
      'SELECT * FROM images WHERE dataset_id = ? AND rel_path = ?',
      n.datasetId,
      n.relPath,
    );
    const now = ctx.now();
    if (old === undefined) {
      if (ctx.get('SELECT 1 FROM datasets WHERE id = ?', n.datasetId) === undefined) {
        throw new Error(`image "${n.relPath}": no dataset with id ${n.datasetId} in ${ctx.file}`);
      }
      const id = ctx.insert(
        `INSERT INTO images (dataset_id, rel_path, file_name, width, height, channels, format, sha256, label,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        n.datasetId,
        n.relPath,
        n.fileName,
        n.width,
        n.height,
        n.channels,
        n.format,
        n.sha256,
        n.label,
        now,
        now,
      );
      return { id, status: 'inserted' };
    }
    const same =
      old.file_name === n.fileName &&
      old.width === n.width &&
      old.height === n.height &&
      old.channels === n.channels &&
      old.format === n.format &&
      old.sha256 === n.sha256 &&
      old.label === n.label;
    if (same) return { id: old.id, status: 'unchanged' };
    ctx.run(
      `UPDATE images SET file_name = ?, width = ?, height = ?, channels = ?, format = ?, sha256 = ?, label = ?,
         updated_at = ? WHERE id = ?`,
      n.fileName,
      n.width,
      n.height,
      n.channels,
      n.format,
      n.sha256,
      n.label,
      now,
      old.id,
    );
    return { id: old.id, status: 'updated' };
  };

  const filters = (datasetId: number, opts: Pick<ListImagesOptions, 'split' | 'label'>) => {
    const clauses = ['i.dataset_id = ?'];
    const params: (string | number)[] = [positiveInt(datasetId, 'images: datasetId')];
    if (opts.split === null) clauses.push('s.split IS NULL');
    else if (opts.split !== undefined) {
      clauses.push('s.split = ?');
      params.push(opts.split);
    }
    if (opts.label === null) clauses.push('i.label IS NULL');
    else if (opts.label !== undefined) {
      clauses.push('i.label = ?');
      params.push(opts.label);
    }
    return { where: clauses.join(' AND '), params };
  };

  return {
    upsert: (input) => ctx.tx(() => upsertOne(input)),
    upsertMany(inputs) {
      return ctx.tx(() => {
        const out = { ids: [] as number[], inserted: 0, updated: 0, unchanged: 0 };
        for (const input of inputs) {
          const r = upsertOne(input);
          out.ids.push(r.id);
          out[r.status]++;
        }
        return out;
      });
    },
    get(id) {
      const r = ctx.get<ImageRow>(`${SELECT} WHERE i.id = ?`, id);
      return r && toImage(r);
    },
    getByPath(datasetId, relPath) {
      const r = ctx.get<ImageRow>(
        `${SELECT} WHERE i.dataset_id = ? AND i.rel_path = ?`,
        datasetId,
        normaliseRelPath(relPath),
      );
      return r && toImage(r);
    },
    list(datasetId, opts = {}) {
      const limit = opts.limit ?? 1000;
      const offset = opts.offset ?? 0;
      if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) {
        throw new Error(`images.list: limit and offset must be integers >= 0, got ${limit} and ${offset}`);
      }
      const f = filters(datasetId, opts);
      // Filters are built from fixed fragments only; values are bound.
      return ctx
        .all<ImageRow>(
          `${SELECT} WHERE ${f.where} ORDER BY i.rel_path LIMIT ? OFFSET ?`,
          ...f.params,
          limit,
          offset,
        )
        .map(toImage);
    },
    count(datasetId, opts = {}) {
      const f = filters(datasetId, opts);
      const r = ctx.get<{ n: number }>(
        `SELECT count(*) AS n FROM images i LEFT JOIN splits s ON s.image_id = i.id WHERE ${f.where}`,
        ...f.params,
      );
      return r?.n ?? 0;
    },
    delete(id) {
      try {
        ctx.tx(() => ctx.run('DELETE FROM images WHERE id = ?', id));
      } catch (err) {
        if (isForeignKeyError(err)) {
          throw new Error(`image ${id} cannot be deleted: some of its explanations are in review sessions`);
        }
        throw err;
      }
    },
  };
}

/** Datasets: one imported VOC folder, image folder or generated set, with its ordered class list. */
import { isForeignKeyError, isUniqueError, nonEmptyText, positiveInt, type StoreContext } from './context.js';
import { fromJson, type JsonObject, toJsonObject } from './json.js';

export type DatasetKind = 'voc' | 'folder' | 'synthetic';
const KINDS: readonly DatasetKind[] = ['voc', 'folder', 'synthetic'];

export interface DatasetInput {
  name: string;
  kind: DatasetKind;
  sourcePath?: string | null;
  /** Ordered: a class's index here is the model's output index. */
  classes: string[];
  /** For binary "contains X" tasks; must be one of `classes`. */
  targetClass?: string | null;
  meta?: JsonObject;
}

export interface Dataset {
  id: number;
  name: string;
  kind: DatasetKind;
  sourcePath: string | null;
  classes: string[];
  targetClass: string | null;
  meta: JsonObject;
  createdAt: string;
  updatedAt: string;
}

export interface DatasetSummary extends Dataset {
  imageCount: number;
  /** Per image-level label; `label: null` counts unlabelled images. */
  labelCounts: { label: string | null; count: number }[];
  splitCounts: { train: number; val: number; test: number; unassigned: number };
  /** Distinct image sizes, most frequent first. */
  sizes: { width: number; height: number; count: number }[];
  /** Live ground-truth objects. */
  objectCount: number;
  /** Live objects drawn by annotators in xwb. */
  annotatedObjectCount: number;
}

export interface DatasetPatch {
  classes?: string[];
  targetClass?: string | null;
  meta?: JsonObject;
  sourcePath?: string | null;
}

interface Row {
  id: number;
  name: string;
  kind: DatasetKind;
  source_path: string | null;
  classes: string;
  target_class: string | null;
  meta: string;
  created_at: string;
  updated_at: string;
}

function toDataset(r: Row): Dataset {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    sourcePath: r.source_path,
    classes: fromJson<string[]>(r.classes),
    targetClass: r.target_class,
    meta: fromJson<JsonObject>(r.meta),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function validateClasses(classes: string[], targetClass: string | null | undefined, where: string): void {
  if (!Array.isArray(classes)) throw new Error(`${where}: classes must be an array of class names`);
  const seen = new Set<string>();
  for (const c of classes) {
    nonEmptyText(c, `${where}: class name`);
    if (seen.has(c)) throw new Error(`${where}: class "${c}" is listed twice`);
    seen.add(c);
  }
  if (targetClass !== undefined && targetClass !== null && !seen.has(targetClass)) {
    throw new Error(
      `${where}: target class "${targetClass}" is not one of the classes [${classes.join(', ')}]`,
    );
  }
}

export interface DatasetsApi {
  create(input: DatasetInput): Dataset;
  getById(id: number): Dataset | undefined;
  getByName(name: string): Dataset | undefined;
  list(): DatasetSummary[];
  summary(id: number): DatasetSummary;
  rename(id: number, name: string): Dataset;
  update(id: number, patch: DatasetPatch): Dataset;
  /**
   * Deletes the dataset with its images, annotations, runs and explanations. Refused while any of its
   * explanations is part of a review (ratings are never deleted as a side effect).
   */
  delete(id: number): void;
}

export function datasetsApi(ctx: StoreContext): DatasetsApi {
  const getById = (id: number) => {
    const r = ctx.get<Row>('SELECT * FROM datasets WHERE id = ?', id);
    return r && toDataset(r);
  };
  const mustGet = (id: number, where: string) => {
    const d = getById(positiveInt(id, `${where}: dataset id`));
    if (d === undefined) throw new Error(`${where}: no dataset with id ${id} in ${ctx.file}`);
    return d;
  };
  const nameTaken = (name: string) =>
    new Error(`a dataset named "${name}" already exists in ${ctx.file}; choose another name`);

  const summarise = (d: Dataset): DatasetSummary => {
    const labelCounts = ctx.all<{ label: string | null; count: number }>(
      'SELECT label, count(*) AS count FROM images WHERE dataset_id = ? GROUP BY label ORDER BY label NULLS FIRST',
      d.id,
    );
    const splitRows = ctx.all<{ split: string | null; count: number }>(
      `SELECT s.split AS split, count(*) AS count FROM images i LEFT JOIN splits s ON s.image_id = i.id
       WHERE i.dataset_id = ? GROUP BY s.split`,
      d.id,
    );
    const splitCounts = { train: 0, val: 0, test: 0, unassigned: 0 };
    for (const s of splitRows) {
      if (s.split === 'train' || s.split === 'val' || s.split === 'test') splitCounts[s.split] = s.count;
      else splitCounts.unassigned = s.count;
    }
    const sizes = ctx.all<{ width: number; height: number; count: number }>(
      `SELECT width, height, count(*) AS count FROM images WHERE dataset_id = ?
       GROUP BY width, height ORDER BY count DESC, width, height`,
      d.id,
    );
    const objects = ctx.get<{ gt: number | null; annotated: number | null }>(
      `SELECT count(*) FILTER (WHERE o.source_kind = 'gt') AS gt,
         count(*) FILTER (WHERE o.source_kind = 'annotator') AS annotated
       FROM objects o JOIN images i ON i.id = o.image_id
       WHERE i.dataset_id = ? AND o.deleted_at IS NULL`,
      d.id,
    );
    return {
      ...d,
      imageCount: labelCounts.reduce((n, l) => n + l.count, 0),
      labelCounts,
      splitCounts,
      sizes,
      objectCount: objects?.gt ?? 0,
      annotatedObjectCount: objects?.annotated ?? 0,
    };
  };

  return {
    create(input) {
      const where = `dataset "${input?.name}"`;
      nonEmptyText(input.name, `${where}: name`);
      if (!KINDS.includes(input.kind)) throw new Error(`${where}: kind must be one of ${KINDS.join(', ')}`);
      validateClasses(input.classes, input.targetClass, where);
      const now = ctx.now();
      try {
        const id = ctx.insert(
          `INSERT INTO datasets (name, kind, source_path, classes, target_class, meta, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          input.name.trim(),
          input.kind,
          input.sourcePath ?? null,
          JSON.stringify(input.classes),
          input.targetClass ?? null,
          toJsonObject(input.meta ?? {}, `${where}: meta`),
          now,
          now,
        );
        return getById(id)!;
      } catch (err) {
        if (isUniqueError(err)) throw nameTaken(input.name.trim());
        throw err;
      }
    },
    getById,
    getByName(name) {
      const r = ctx.get<Row>('SELECT * FROM datasets WHERE name = ?', name.trim());
      return r && toDataset(r);
    },
    list() {
      return ctx.all<Row>('SELECT * FROM datasets ORDER BY name').map((r) => summarise(toDataset(r)));
    },
    summary(id) {
      return summarise(mustGet(id, 'datasets.summary'));
    },
    rename(id, name) {
      nonEmptyText(name, 'datasets.rename: new name');
      mustGet(id, 'datasets.rename');
      try {
        ctx.run('UPDATE datasets SET name = ?, updated_at = ? WHERE id = ?', name.trim(), ctx.now(), id);
      } catch (err) {
        if (isUniqueError(err)) throw nameTaken(name.trim());
        throw err;
      }
      return getById(id)!;
    },
    update(id, patch) {
      return ctx.tx(() => {
        const d = mustGet(id, 'datasets.update');
        const next = {
          classes: patch.classes ?? d.classes,
          targetClass: patch.targetClass === undefined ? d.targetClass : patch.targetClass,
          meta: patch.meta ?? d.meta,
          sourcePath: patch.sourcePath === undefined ? d.sourcePath : patch.sourcePath,
        };
        validateClasses(next.classes, next.targetClass, `dataset "${d.name}"`);
        ctx.run(
          `UPDATE datasets SET classes = ?, target_class = ?, meta = ?, source_path = ?, updated_at = ?
           WHERE id = ?`,
          JSON.stringify(next.classes),
          next.targetClass,
          toJsonObject(next.meta, `dataset "${d.name}": meta`),
          next.sourcePath,
          ctx.now(),
          id,
        );
        return getById(id)!;
      });
    },
    delete(id) {
      const d = mustGet(id, 'datasets.delete');
      try {
        ctx.tx(() => ctx.run('DELETE FROM datasets WHERE id = ?', id));
      } catch (err) {
        if (isForeignKeyError(err)) {
          throw new Error(
            `dataset "${d.name}" cannot be deleted: some of its explanations are in review sessions. Delete ` +
              'those sessions first; a session that already has ratings is kept permanently, so rename the ' +
              'dataset instead.',
          );
        }
        throw err;
      }
    },
  };
}

/**
 * Explanation maps (one per run, image, class, method and parameter set) and the metrics measured on them.
 * The parameters are hashed from their canonical JSON, so the same call in any key order finds the same row.
 */
import { nonEmptyText, nonNegativeInt, positiveInt, type StoreContext } from './context.js';
import { fromJson, type JsonObject, paramsHash, toJsonObject } from './json.js';

export interface ExplanationKey {
  runId: number;
  imageId: number;
  classIndex: number;
  method: string;
  params: JsonObject;
}

export interface ExplanationInput extends ExplanationKey {
  width: number;
  height: number;
  /** How `data` is laid out, e.g. 'f32le' (row-major float32), 'u8', 'png'. Free text, read by the engine. */
  encoding: string;
  data: Buffer;
}

export interface ExplanationMeta {
  id: number;
  runId: number;
  imageId: number;
  classIndex: number;
  method: string;
  paramsHash: string;
  params: JsonObject;
  width: number;
  height: number;
  encoding: string;
  createdAt: string;
  updatedAt: string;
}

export interface Explanation extends ExplanationMeta {
  data: Buffer;
}

export interface MetricInput {
  metric: string;
  params?: JsonObject;
  /** NaN (undefined for this explanation) is stored as NULL and read back as NaN. */
  value: number;
}

export interface MetricRecord {
  explanationId: number;
  metric: string;
  paramsHash: string;
  params: JsonObject;
  value: number;
  createdAt: string;
}

interface Row {
  id: number;
  run_id: number;
  image_id: number;
  class_index: number;
  method: string;
  params_hash: string;
  params: string;
  width: number;
  height: number;
  encoding: string;
  data?: Buffer;
  created_at: string;
  updated_at: string;
}

interface MetricRow {
  explanation_id: number;
  metric: string;
  params_hash: string;
  params: string;
  value: number | null;
  created_at: string;
}

const META_COLUMNS =
  'id, run_id, image_id, class_index, method, params_hash, params, width, height, encoding, created_at, updated_at';

function toMeta(r: Row): ExplanationMeta {
  return {
    id: r.id,
    runId: r.run_id,
    imageId: r.image_id,
    classIndex: r.class_index,
    method: r.method,
    paramsHash: r.params_hash,
    params: fromJson<JsonObject>(r.params),
    width: r.width,
    height: r.height,
    encoding: r.encoding,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toExplanation(r: Row): Explanation {
  return { ...toMeta(r), data: r.data! };
}

function toMetric(r: MetricRow): MetricRecord {
  return {
    explanationId: r.explanation_id,
    metric: r.metric,
    paramsHash: r.params_hash,
    params: fromJson<JsonObject>(r.params),
    value: r.value === null ? Number.NaN : r.value,
    createdAt: r.created_at,
  };
}

function checkKey(k: ExplanationKey, where: string): string {
  positiveInt(k.runId, `${where}: runId`);
  positiveInt(k.imageId, `${where}: imageId`);
  nonNegativeInt(k.classIndex, `${where}: classIndex`);
  nonEmptyText(k.method, `${where}: method`);
  toJsonObject(k.params, `${where}: params`);
  return paramsHash(k.params, `${where}: params`);
}

export interface ExplanationsApi {
  /**
   * Inserts, or replaces the data of the explanation with the same key. Replacing different data drops its
   * metrics (they were measured on the old map), and is refused once the explanation is in a review: raters
   * judged the old map.
   */
  put(input: ExplanationInput): { id: number; status: 'inserted' | 'updated' | 'unchanged' };
  get(key: ExplanationKey): Explanation | undefined;
  getById(id: number): Explanation | undefined;
  /** Without the data (a map can be megabytes; summaries need only the key). */
  getMeta(id: number): ExplanationMeta | undefined;
  /** Every explanation of an image, all runs and methods, without the data. */
  listForImage(imageId: number): ExplanationMeta[];
  /** Without the data, for listings. */
  list(runId: number, filter?: { imageId?: number; method?: string }): ExplanationMeta[];
  /** Upserts all in one transaction, keyed by (metric, params). */
  putMetrics(explanationId: number, metrics: readonly MetricInput[]): void;
  metrics(explanationId: number): MetricRecord[];
}

export function explanationsApi(ctx: StoreContext): ExplanationsApi {
  const getById = (id: number) => {
    const r = ctx.get<Row>('SELECT * FROM explanations WHERE id = ?', id);
    return r && toExplanation(r);
  };
  const findId = (k: ExplanationKey, hash: string) =>
    ctx.get<{ id: number; data: Buffer; width: number; height: number; encoding: string }>(
      `SELECT id, data, width, height, encoding FROM explanations
       WHERE run_id = ? AND image_id = ? AND class_index = ? AND method = ? AND params_hash = ?`,
      k.runId,
      k.imageId,
      k.classIndex,
      k.method,
      hash,
    );

  return {
    put(input) {
      const where = `explanation (run ${input.runId}, image ${input.imageId}, class ${input.classIndex}, ${input.method})`;
      const hash = checkKey(input, where);
      positiveInt(input.width, `${where}: width`);
      positiveInt(input.height, `${where}: height`);
      nonEmptyText(input.encoding, `${where}: encoding`);
      if (!Buffer.isBuffer(input.data) || input.data.length === 0)
        throw new Error(`${where}: data must be a non-empty Buffer`);
      return ctx.tx(() => {
        const now = ctx.now();
        const old = findId(input, hash);
        if (old === undefined) {
          for (const [table, id] of [
            ['runs', input.runId],
            ['images', input.imageId],
          ] as const) {
            if (ctx.get(`SELECT 1 FROM ${table} WHERE id = ?`, id) === undefined) {
              throw new Error(`${where}: no ${table.slice(0, -1)} with id ${id} in ${ctx.file}`);
            }
          }
          const id = ctx.insert(
            `INSERT INTO explanations (run_id, image_id, class_index, method, params_hash, params, width, height,
               encoding, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            input.runId,
            input.imageId,
            input.classIndex,
            input.method,
            hash,
            toJsonObject(input.params, `${where}: params`),
            input.width,
            input.height,
            input.encoding,
            input.data,
            now,
            now,
          );
          return { id, status: 'inserted' as const };
        }
        if (
          old.data.equals(input.data) &&
          old.width === input.width &&
          old.height === input.height &&
          old.encoding === input.encoding
        ) {
          return { id: old.id, status: 'unchanged' as const };
        }
        const reviewed = ctx.get<{ n: number }>(
          'SELECT count(*) AS n FROM review_items WHERE explanation_id = ?',
          old.id,
        );
        if ((reviewed?.n ?? 0) > 0) {
          throw new Error(
            `${where}: explanation ${old.id} is in ${reviewed!.n} review item(s) and cannot be replaced; ` +
              'store the new map under a different run or parameters',
          );
        }
        ctx.run('DELETE FROM explanation_metrics WHERE explanation_id = ?', old.id);
        ctx.run(
          'UPDATE explanations SET width = ?, height = ?, encoding = ?, data = ?, updated_at = ? WHERE id = ?',
          input.width,
          input.height,
          input.encoding,
          input.data,
          now,
          old.id,
        );
        return { id: old.id, status: 'updated' as const };
      });
    },
    get(key) {
      const hash = checkKey(key, 'explanations.get');
      const found = findId(key, hash);
      return found && getById(found.id);
    },
    getById,
    getMeta(id) {
      const r = ctx.get<Row>(`SELECT ${META_COLUMNS} FROM explanations WHERE id = ?`, id);
      return r && toMeta(r);
    },
    listForImage(imageId) {
      return ctx
        .all<Row>(`SELECT ${META_COLUMNS} FROM explanations WHERE image_id = ? ORDER BY id`, imageId)
        .map(toMeta);
    },
    list(runId, filter = {}) {
      const clauses = ['run_id = ?'];
      const params: (string | number)[] = [runId];
      if (filter.imageId !== undefined) {
        clauses.push('image_id = ?');
        params.push(filter.imageId);
      }
      if (filter.method !== undefined) {
        clauses.push('method = ?');
        params.push(filter.method);
      }
      return ctx
        .all<Row>(
          `SELECT ${META_COLUMNS} FROM explanations WHERE ${clauses.join(' AND ')} ORDER BY id`,
          ...params,
        )
        .map(toMeta);
    },
    putMetrics(explanationId, metrics) {
      const where = `metrics of explanation ${explanationId}`;
      const rows = metrics.map((m, i) => {
        nonEmptyText(m.metric, `${where}: metric ${i} name`);
        if (typeof m.value !== 'number') throw new Error(`${where}: "${m.metric}" value must be a number`);
        const params = m.params ?? {};
        return {
          metric: m.metric,
          hash: paramsHash(params, `${where}: "${m.metric}" params`),
          params: toJsonObject(params, `${where}: "${m.metric}" params`),
          // SQLite turns a bound NaN into NULL anyway; doing it here makes the rule visible.
          value: Number.isNaN(m.value) ? null : m.value,
        };
      });
      ctx.tx(() => {
        if (ctx.get('SELECT 1 FROM explanations WHERE id = ?', explanationId) === undefined) {
          throw new Error(`${where}: no explanation with id ${explanationId} in ${ctx.file}`);
        }
        const now = ctx.now();
        for (const r of rows) {
          ctx.run(
            `INSERT INTO explanation_metrics (explanation_id, metric, params_hash, params, value, created_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (explanation_id, metric, params_hash)
             DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
            explanationId,
            r.metric,
            r.hash,
            r.params,
            r.value,
            now,
          );
        }
      });
    },
    metrics(explanationId) {
      return ctx
        .all<MetricRow>(
          'SELECT * FROM explanation_metrics WHERE explanation_id = ? ORDER BY metric, params_hash',
          explanationId,
        )
        .map(toMetric);
    },
  };
}

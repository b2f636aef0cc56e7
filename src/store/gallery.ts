/**
 * The gallery's list: a dataset's images filtered by split, label, a run's stored prediction (class,
 * correctness) and the ratings of the run's explanations, sorted by path, prediction confidence, rating or
 * "most wrong first", one page at a time. Everything happens here in SQL so a 100,000-image dataset is never
 * loaded whole.
 *
 * A sort by a value not every image has (a prediction, a rating) is two index-friendly queries rather than one
 * sort over every row: the images that have the value, in its order (an index on predictions gives that order
 * directly), then the images that lack it, by path. A page that straddles the two takes the end of one and the
 * start of the other. Only portable SQL (no NULLS LAST, no SQLite functions): the store also runs on PostgreSQL.
 */
import { type Param, positiveInt, type StoreContext } from './context.js';
import { type ImageRecord, type ImageRow, toImage } from './images.js';
import { type PredictionRecord, toPrediction } from './predictions.js';
import type { Split } from './splits.js';

export const GALLERY_SORTS = ['path', 'confidence', 'rating', 'wrong'] as const;
/**
 * path: by relative path. confidence: the predicted class's probability, highest first. rating: the mean human
 * score, lowest first (what needs looking at). wrong: the probability of the labelled class, lowest first, so
 * confident mistakes lead and confident correct predictions come last.
 */
export type GallerySort = (typeof GALLERY_SORTS)[number];

export const RATING_FILTERS = ['rated', 'unrated', 'low', 'high', 'flagged'] as const;
/** low: mean score ≤ 2; high: mean score ≥ 4 (scores are 1–5); flagged: some rater marked it wrong. */
export type RatingFilter = (typeof RATING_FILTERS)[number];
export const LOW_RATING = 2;
export const HIGH_RATING = 4;

export interface GalleryQuery {
  datasetId: number;
  /** The run whose predictions and ratings count; needed by `predicted`, `correct`, 'confidence' and 'wrong'. */
  runId?: number;
  split?: Split;
  label?: string;
  /** Predicted class index. */
  predicted?: number;
  correct?: boolean;
  rating?: RatingFilter;
  sort?: GallerySort;
  offset?: number;
  /** Default 500. */
  limit?: number;
}

/** The ratings of an image's explanations (of the run, or of every run when none is given). */
export interface ImageRating {
  /** Mean over ratings of each rating's mean criterion score (1–5); null when no rating has a score. */
  mean: number | null;
  count: number;
  flagged: boolean;
}

export interface GalleryRow {
  image: ImageRecord;
  prediction: PredictionRecord | null;
  rating: ImageRating | null;
}

export interface GalleryPage {
  total: number;
  offset: number;
  rows: GalleryRow[];
}

export interface GalleryApi {
  page(q: GalleryQuery): GalleryPage;
}

// A rating's score: the mean of the criteria it has (NULL when it has none, e.g. only a "wrong" flag).
const SCORE = `(COALESCE(r.correctness, 0) + COALESCE(r.completeness, 0) + COALESCE(r.compactness, 0)) * 1.0 /
  NULLIF((CASE WHEN r.correctness IS NULL THEN 0 ELSE 1 END) + (CASE WHEN r.completeness IS NULL THEN 0 ELSE 1 END)
    + (CASE WHEN r.compactness IS NULL THEN 0 ELSE 1 END), 0)`;

interface Segment {
  /** Rows with the sort's value. */
  has: string;
  order: string;
  /** Rows without it (listed after, by path). */
  lacks: string;
}

const SEGMENTS: Record<Exclude<GallerySort, 'path'>, Segment> = {
  confidence: {
    has: 'p.image_id IS NOT NULL',
    order: 'p.probability DESC, p.image_id DESC',
    lacks: 'p.image_id IS NULL',
  },
  wrong: {
    has: 'p.true_probability IS NOT NULL',
    order: 'p.true_probability ASC, p.image_id ASC',
    lacks: 'p.true_probability IS NULL',
  },
  rating: { has: 'rt.mean IS NOT NULL', order: 'rt.mean ASC, i.rel_path ASC', lacks: 'rt.mean IS NULL' },
};

interface Row extends ImageRow {
  p_run_id: number | null;
  p_class_index: number | null;
  p_probability: number | null;
  p_true_probability: number | null;
  p_correct: number | null;
  p_checkpoint: string | null;
  p_created_at: string | null;
  rt_mean: number | null;
  rt_count: number | null;
  rt_flagged: number | null;
}

function toRow(r: Row): GalleryRow {
  return {
    image: toImage(r),
    prediction:
      r.p_run_id === null
        ? null
        : toPrediction({
            run_id: r.p_run_id,
            image_id: r.id,
            class_index: r.p_class_index as number,
            probability: r.p_probability as number,
            true_probability: r.p_true_probability,
            correct: r.p_correct,
            checkpoint: r.p_checkpoint as string,
            created_at: r.p_created_at as string,
          }),
    rating: r.rt_count === null ? null : { mean: r.rt_mean, count: r.rt_count, flagged: r.rt_flagged === 1 },
  };
}

function check(q: GalleryQuery): Required<Pick<GalleryQuery, 'offset' | 'limit' | 'sort'>> {
  const where = 'gallery';
  positiveInt(q.datasetId, `${where}: datasetId`);
  if (q.runId !== undefined) positiveInt(q.runId, `${where}: runId`);
  const sort = q.sort ?? 'path';
  if (!GALLERY_SORTS.includes(sort)) {
    throw new Error(`${where}: sort must be one of ${GALLERY_SORTS.join(', ')}, got "${sort}"`);
  }
  if (q.rating !== undefined && !RATING_FILTERS.includes(q.rating)) {
    throw new Error(`${where}: rating must be one of ${RATING_FILTERS.join(', ')}, got "${q.rating}"`);
  }
  if (q.predicted !== undefined && (!Number.isInteger(q.predicted) || q.predicted < 0)) {
    throw new Error(`${where}: predicted must be a class index >= 0, got ${q.predicted}`);
  }
  const needsRun = q.predicted !== undefined ? 'predicted' : q.correct !== undefined ? 'correct' : undefined;
  const sortNeedsRun = sort === 'confidence' || sort === 'wrong';
  if (q.runId === undefined && (needsRun || sortNeedsRun)) {
    throw new Error(
      `${where}: ${needsRun ? `the ${needsRun} filter` : `sorting by ${sort}`} needs a run (its predictions)`,
    );
  }
  const limit = q.limit ?? 500;
  const offset = q.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) {
    throw new Error(`${where}: limit and offset must be integers >= 0, got ${limit} and ${offset}`);
  }
  return { sort, limit, offset };
}

/** Binds a list of ids as a fixed number of '?' (0 pads: no image has id 0), so few statements are prepared. */
function padded(ids: readonly number[]): number[] {
  let n = 1;
  while (n < ids.length) n *= 2;
  return [...ids, ...new Array<number>(n - ids.length).fill(0)];
}

const RATINGS_BY_IMAGE = (perRun: boolean) => `(SELECT e.image_id AS image_id, AVG(${SCORE}) AS mean,
    COUNT(*) AS n, MAX(r.wrong_flag) AS flagged
  FROM ratings r JOIN explanations e ON e.id = r.explanation_id
  ${perRun ? 'WHERE e.run_id = ?' : ''}
  GROUP BY e.image_id)`;

export function galleryApi(ctx: StoreContext): GalleryApi {
  return {
    page(q) {
      const { sort, limit, offset } = check(q);
      const perRun = q.runId !== undefined;
      if (perRun) {
        const run = ctx.get<{ dataset_id: number }>(
          'SELECT dataset_id FROM runs WHERE id = ?',
          q.runId as number,
        );
        if (run === undefined) throw new Error(`gallery: no run ${q.runId} in ${ctx.file}`);
        if (run.dataset_id !== q.datasetId) {
          throw new Error(`gallery: run ${q.runId} belongs to dataset ${run.dataset_id}, not ${q.datasetId}`);
        }
      }
      // Two steps: which image ids make the page, then those images' rows with everything the cell shows. The
      // first step joins only what the filter and the order need, and reads the predictions table alone when
      // nothing about the image itself is asked (a run's predictions are all of its dataset's images, checked
      // when they are written), so a deep offset steps through index entries rather than joined rows.
      // Every fragment is fixed text; values are bound, in the order their '?' appear.
      const imageClauses = ['i.dataset_id = ?'];
      const imageParams: Param[] = [q.datasetId];
      if (q.split !== undefined) {
        imageClauses.push('s.split = ?');
        imageParams.push(q.split);
      }
      if (q.label !== undefined) {
        imageClauses.push('i.label = ?');
        imageParams.push(q.label);
      }
      if (q.rating === 'rated') imageClauses.push('rt.image_id IS NOT NULL');
      else if (q.rating === 'unrated') imageClauses.push('rt.image_id IS NULL');
      else if (q.rating === 'low') imageClauses.push(`rt.mean <= ${LOW_RATING}`);
      else if (q.rating === 'high') imageClauses.push(`rt.mean >= ${HIGH_RATING}`);
      else if (q.rating === 'flagged') imageClauses.push('rt.flagged = 1');
      const pClauses: string[] = [];
      const pParams: Param[] = [];
      if (q.predicted !== undefined) {
        pClauses.push('p.class_index = ?');
        pParams.push(q.predicted);
      }
      if (q.correct !== undefined) {
        pClauses.push('p.correct = ?');
        pParams.push(q.correct ? 1 : 0);
      }
      const pFilter = pClauses.length > 0;
      const useRt = q.rating !== undefined || sort === 'rating';
      const predictionsOnly = perRun && q.split === undefined && q.label === undefined && !useRt;

      /** none: no predictions; left/inner: joined to images; only: inner, from predictions alone when it can. */
      type Join = 'none' | 'left' | 'inner' | 'only';
      /** SQL after SELECT … and its parameters, for the filter plus `extra` (a condition on p or rt). */
      const source = (p: Join, extra: string): { sql: string; params: Param[] } => {
        if (p === 'only' && predictionsOnly) {
          const where = ['p.run_id = ?', ...pClauses, ...(extra ? [extra] : [])].join(' AND ');
          return { sql: `FROM predictions p WHERE ${where}`, params: [q.runId as number, ...pParams] };
        }
        let sql = 'FROM images i';
        const params: Param[] = [];
        if (q.split !== undefined) sql += ' LEFT JOIN splits s ON s.image_id = i.id';
        if (p !== 'none') {
          sql += ` ${p === 'left' ? 'LEFT JOIN' : 'JOIN'} predictions p ON p.run_id = ? AND p.image_id = i.id`;
          params.push(q.runId as number);
        }
        if (useRt) {
          sql += ` LEFT JOIN ${RATINGS_BY_IMAGE(perRun)} rt ON rt.image_id = i.id`;
          if (perRun) params.push(q.runId as number);
        }
        const where = [...imageClauses, ...(p !== 'none' ? pClauses : []), ...(extra ? [extra] : [])];
        params.push(...imageParams, ...(p !== 'none' ? pParams : []));
        return { sql: `${sql} WHERE ${where.join(' AND ')}`, params };
      };
      const count = (p: Join, extra = '') => {
        const src = source(p, extra);
        return ctx.get<{ n: number }>(`SELECT COUNT(*) AS n ${src.sql}`, ...src.params)?.n ?? 0;
      };
      const idsOf = (p: Join, extra: string, order: string, n: number, skip: number): number[] => {
        if (n <= 0) return [];
        const src = source(p, extra);
        const id = p === 'only' && predictionsOnly ? 'p.image_id' : 'i.id';
        return ctx
          .all<{ id: number }>(
            `SELECT ${id} AS id ${src.sql} ORDER BY ${order} LIMIT ? OFFSET ?`,
            ...src.params,
            n,
            skip,
          )
          .map((r) => r.id);
      };

      // With a prediction filter every listed image has a prediction (an inner join); without one, none is needed
      // except to order by it.
      const total = count(pFilter ? 'only' : 'none');
      let ids: number[];
      if (sort === 'path') ids = idsOf(pFilter ? 'inner' : 'none', '', 'i.rel_path', limit, offset);
      else {
        const seg = SEGMENTS[sort];
        const byRating = sort === 'rating';
        const pHas: Join = byRating ? (pFilter ? 'inner' : 'none') : 'only';
        const pLacks: Join = pFilter ? 'inner' : byRating ? 'none' : 'left';
        const first = count(pHas, seg.has);
        const a =
          offset < first ? idsOf(pHas, seg.has, seg.order, Math.min(limit, first - offset), offset) : [];
        ids = [
          ...a,
          ...idsOf(pLacks, seg.lacks, 'i.rel_path', limit - a.length, Math.max(0, offset - first)),
        ];
      }
      if (ids.length === 0) return { total, offset, rows: [] };

      // The page's rows: split, the run's prediction and the ratings, for these ids only.
      const showParams: Param[] = [];
      let showSql = ' LEFT JOIN splits s ON s.image_id = i.id';
      if (perRun) {
        showSql += ' LEFT JOIN predictions p ON p.run_id = ? AND p.image_id = i.id';
        showParams.push(q.runId as number);
      }
      showSql += ` LEFT JOIN ${RATINGS_BY_IMAGE(perRun)} rt ON rt.image_id = i.id`;
      if (perRun) showParams.push(q.runId as number);
      const pCols = perRun
        ? 'p.run_id AS p_run_id, p.class_index AS p_class_index, p.probability AS p_probability, ' +
          'p.true_probability AS p_true_probability, p.correct AS p_correct, p.checkpoint AS p_checkpoint, ' +
          'p.created_at AS p_created_at'
        : 'NULL AS p_run_id, NULL AS p_class_index, NULL AS p_probability, NULL AS p_true_probability, ' +
          'NULL AS p_correct, NULL AS p_checkpoint, NULL AS p_created_at';
      const list = padded(ids);
      const found = ctx.all<Row>(
        `SELECT i.*, s.split AS split, ${pCols}, rt.mean AS rt_mean, rt.n AS rt_count, rt.flagged AS rt_flagged
         FROM images i${showSql} WHERE i.id IN (${list.map(() => '?').join(', ')})`,
        ...showParams,
        ...list,
      );
      const byId = new Map(found.map((r) => [r.id, r]));
      return {
        total,
        offset,
        rows: ids
          .map((id) => byId.get(id))
          .filter((r): r is Row => r !== undefined)
          .map(toRow),
      };
    },
  };
}

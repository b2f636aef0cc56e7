/**
 * The numbers behind `xwb ratings summary`: inter-rater agreement per criterion, mean human scores per method, and
 * how well each automatic metric follows the human scores ("which metric tells you what clinicians think").
 *
 * Units are explanations. When a rater rated the same explanation more than once (two sessions, or twice in a
 * side-by-side session) the latest rating counts, so each rater gives at most one value per unit. Per-method means
 * and correlations first average the raters of each explanation: ratings of one explanation by several raters are
 * not independent observations, and counting them as such would make the intervals too narrow.
 */
import { type Summary, summarise } from '../metrics/core/summarise.js';
import type { JsonObject, Rating, Store } from '../store/index.js';
import { type Correlation, spearmanTest } from './stats/correlation.js';
import { fleissKappaFromTable } from './stats/fleiss.js';
import { krippendorffAlpha, type RatingTable } from './stats/krippendorff.js';

export const CRITERIA = ['correctness', 'completeness', 'compactness'] as const;
export type Criterion = (typeof CRITERIA)[number];
/** The three criteria and their mean (per rating, over the criteria it has). */
export type ScoreKey = Criterion | 'mean';
export const SCORE_KEYS: readonly ScoreKey[] = [...CRITERIA, 'mean'];
const SCALE = [1, 2, 3, 4, 5];

export interface Agreement {
  /** Krippendorff's α, ordinal metric: the headline number for 1–5 scores. */
  alphaOrdinal: number;
  alphaInterval: number;
  /** Units with at least two ratings (what α rests on). */
  pairableUnits: number;
  /** Fleiss' κ over the units every rater rated; NaN when there are none or fewer than two raters. */
  fleissKappa: number;
  fleissUnits: number;
  /** Units left out of κ because a rater had not rated them. */
  fleissDroppedUnits: number;
}

export interface MethodScores {
  method: string;
  runId: number;
  /** Explanations of this method and run with at least one rating. */
  explanations: number;
  scores: Record<ScoreKey, Summary>;
}

export interface MetricCorrelation {
  metric: string;
  params: JsonObject;
  paramsHash: string;
  /** Spearman's ρ of the metric with the raters' mean score of each explanation. */
  correlations: Record<ScoreKey, Correlation>;
}

export interface ReviewSummary {
  /** The session summarised, or null for every rating in the store. */
  sessionId: number | null;
  ratings: number;
  raters: string[];
  explanations: number;
  agreement: Record<Criterion, Agreement>;
  methods: MethodScores[];
  metrics: MetricCorrelation[];
}

function meanOf(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((s, x) => s + x, 0) / v.length;
}

function scoreOf(r: Rating, key: ScoreKey): number | null {
  return key === 'mean' ? meanOf(CRITERIA.map((c) => r[c])) : r[key];
}

/** The latest rating of each (explanation, rater). */
function latestRatings(ratings: readonly Rating[]): Rating[] {
  const latest = new Map<string, Rating>();
  for (const r of ratings) {
    const key = `${r.explanationId}:${r.raterId}`;
    const old = latest.get(key);
    if (
      old === undefined ||
      r.updatedAt > old.updatedAt ||
      (r.updatedAt === old.updatedAt && r.id > old.id)
    ) {
      latest.set(key, r);
    }
  }
  return [...latest.values()];
}

export function summariseReviews(store: Store, opts: { sessionId?: number } = {}): ReviewSummary {
  if (opts.sessionId !== undefined && store.ratings.getSession(opts.sessionId) === undefined) {
    const ids = store.ratings.listSessions().map((s) => s.id);
    throw new Error(
      `no review session ${opts.sessionId} in ${store.path}` +
        (ids.length ? ` (sessions: ${ids.join(', ')})` : ''),
    );
  }
  const ratings = latestRatings(
    store.ratings.list(opts.sessionId === undefined ? {} : { sessionId: opts.sessionId }),
  );
  const raterIds = [...new Set(ratings.map((r) => r.raterId))].sort((a, b) => a - b);
  const unitIds = [...new Set(ratings.map((r) => r.explanationId))].sort((a, b) => a - b);
  const col = new Map(raterIds.map((id, i) => [id, i]));
  const row = new Map(unitIds.map((id, i) => [id, i]));
  const byUnit = new Map<number, Rating[]>();
  for (const r of ratings) byUnit.set(r.explanationId, [...(byUnit.get(r.explanationId) ?? []), r]);

  const agreement = {} as Record<Criterion, Agreement>;
  for (const c of CRITERIA) {
    const table: (number | null)[][] = unitIds.map(() =>
      new Array<number | null>(raterIds.length).fill(null),
    );
    for (const r of ratings) table[row.get(r.explanationId)!][col.get(r.raterId)!] = r[c];
    const ordinal = krippendorffAlpha(table as RatingTable, 'ordinal');
    const kappa = fleissKappaFromTable(table, SCALE);
    agreement[c] = {
      alphaOrdinal: ordinal.alpha,
      alphaInterval: krippendorffAlpha(table, 'interval').alpha,
      pairableUnits: ordinal.units,
      fleissKappa: raterIds.length >= 2 ? kappa.kappa : Number.NaN,
      fleissUnits: kappa.units,
      fleissDroppedUnits: kappa.droppedUnits,
    };
  }

  // The raters' mean score of each explanation, per score key.
  const unitScore = new Map<number, Record<ScoreKey, number>>();
  for (const [id, rs] of byUnit) {
    const s = {} as Record<ScoreKey, number>;
    for (const k of SCORE_KEYS) s[k] = meanOf(rs.map((r) => scoreOf(r, k))) ?? Number.NaN;
    unitScore.set(id, s);
  }

  const meta = new Map(unitIds.map((id) => [id, store.explanations.getMeta(id)!]));
  const groups = new Map<string, { method: string; runId: number; ids: number[] }>();
  for (const id of unitIds) {
    const m = meta.get(id)!;
    const key = `${m.runId}\u0000${m.method}`;
    const g = groups.get(key) ?? { method: m.method, runId: m.runId, ids: [] };
    g.ids.push(id);
    groups.set(key, g);
  }
  const methods: MethodScores[] = [...groups.values()]
    .sort((a, b) => a.method.localeCompare(b.method) || a.runId - b.runId)
    .map((g) => {
      const scores = {} as Record<ScoreKey, Summary>;
      for (const k of SCORE_KEYS) scores[k] = summarise(g.ids.map((id) => unitScore.get(id)![k]));
      return { method: g.method, runId: g.runId, explanations: g.ids.length, scores };
    });

  const metricValues = new Map<
    string,
    { metric: string; params: JsonObject; hash: string; values: Map<number, number> }
  >();
  for (const id of unitIds) {
    for (const m of store.explanations.metrics(id)) {
      const key = `${m.metric}\u0000${m.paramsHash}`;
      const entry = metricValues.get(key) ?? {
        metric: m.metric,
        params: m.params,
        hash: m.paramsHash,
        values: new Map(),
      };
      entry.values.set(id, m.value);
      metricValues.set(key, entry);
    }
  }
  const metrics: MetricCorrelation[] = [...metricValues.values()]
    .sort((a, b) => a.metric.localeCompare(b.metric) || a.hash.localeCompare(b.hash))
    .map((e) => {
      const ids = [...e.values.keys()];
      const correlations = {} as Record<ScoreKey, Correlation>;
      for (const k of SCORE_KEYS) {
        correlations[k] = spearmanTest(
          ids.map((id) => e.values.get(id)!),
          ids.map((id) => unitScore.get(id)![k]),
        );
      }
      return { metric: e.metric, params: e.params, paramsHash: e.hash, correlations };
    });

  return {
    sessionId: opts.sessionId ?? null,
    ratings: ratings.length,
    raters: raterIds.map((id) => store.ratings.getRater(id)?.name ?? `rater ${id}`),
    explanations: unitIds.length,
    agreement,
    methods,
    metrics,
  };
}

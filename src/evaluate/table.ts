/**
 * A run's method × metric table from the values stored so far (all `xwb eval` runs and images together): per
 * (method, metric, parameter set) the mean, sample SD, 95 % t-interval, n and NaN count. A metric measured with
 * two parameter sets gives two rows (told apart by `paramsHash`), so no mean mixes different measurements.
 * Engine-free: the web service builds the renderer's run table with it.
 */
import type { MetricsTableRow, MetricsTableView } from '../api/contract.js';
import { getMetric, summarise } from '../metrics/index.js';
import type { JsonObject, Store } from '../store/index.js';

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function metricsTable(store: Store, runId: number): MetricsTableView {
  const groups = new Map<
    string,
    { method: string; metric: string; hash: string; params: JsonObject; values: number[] }
  >();
  for (const e of store.explanations.list(runId)) {
    for (const m of store.explanations.metrics(e.id)) {
      const key = `${e.method}\u0000${m.metric}\u0000${m.paramsHash}`;
      let g = groups.get(key);
      if (!g) {
        g = { method: e.method, metric: m.metric, hash: m.paramsHash, params: m.params, values: [] };
        groups.set(key, g);
      }
      g.values.push(m.value);
    }
  }
  const rows: MetricsTableRow[] = [...groups.values()]
    .sort(
      (a, b) =>
        a.method.localeCompare(b.method) || a.metric.localeCompare(b.metric) || a.hash.localeCompare(b.hash),
    )
    .map((g) => {
      const s = summarise(g.values);
      let higherIsBetter: boolean | null = null;
      try {
        higherIsBetter = getMetric(g.metric).higherIsBetter;
      } catch {
        // A metric stored by another tool or an older version: shown without a direction.
      }
      return {
        method: g.method,
        metric: g.metric,
        paramsHash: g.hash,
        params: g.params,
        higherIsBetter,
        mean: finiteOrNull(s.mean),
        sd: finiteOrNull(s.sd),
        ci95: [finiteOrNull(s.ci95[0]), finiteOrNull(s.ci95[1])],
        n: s.n,
        nanCount: s.nanCount,
      };
    });
  return { runId, rows };
}

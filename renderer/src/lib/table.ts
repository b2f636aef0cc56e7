import { type CsvValue, toCsv } from './csv.js';

/** A sortable table of numbers with a text first column (the run's method × metric table). */
export interface TableData {
  rowHeader: string;
  columns: string[];
  rows: { name: string; values: (number | null)[] }[];
}

export interface SortState {
  /** -1: the row names; otherwise a column index. */
  column: number;
  descending: boolean;
}

/** Sorted rows; missing values always go last, whichever the direction, so they never crowd the top. */
export function sortRows(t: TableData, s: SortState): TableData['rows'] {
  const dir = s.descending ? -1 : 1;
  return [...t.rows].sort((a, b) => {
    if (s.column < 0) return dir * a.name.localeCompare(b.name);
    const x = a.values[s.column];
    const y = b.values[s.column];
    const xm = x === null || !Number.isFinite(x);
    const ym = y === null || !Number.isFinite(y);
    if (xm || ym) return xm === ym ? a.name.localeCompare(b.name) : xm ? 1 : -1;
    return dir * (x - y) || a.name.localeCompare(b.name);
  });
}

/** Clicking a header: a new column sorts descending (best scores first), the same column flips. */
export function nextSort(s: SortState, column: number): SortState {
  if (s.column === column) return { column, descending: !s.descending };
  return { column, descending: column >= 0 };
}

export function tableCsv(t: TableData, rows = t.rows): string {
  return toCsv(
    [t.rowHeader, ...t.columns],
    rows.map((r): CsvValue[] => [r.name, ...r.values]),
  );
}

/** The rows `metrics.table` returns, as far as the pivot needs them. */
export interface MetricRow {
  method: string;
  metric: string;
  paramsHash: string;
  mean: number | null;
  n: number;
}

/**
 * Pivots a run's method × metric rows into a table: one row per method, one column per metric. A metric measured
 * with several parameter sets gets one column per set (`metric[hash]`), so different measurements are never
 * averaged together. Methods and columns are sorted by name.
 */
export function pivotMetricRows(rows: readonly MetricRow[]): TableData | null {
  if (rows.length === 0) return null;
  const hashes = new Map<string, Set<string>>();
  for (const r of rows) hashes.set(r.metric, (hashes.get(r.metric) ?? new Set()).add(r.paramsHash));
  const column = (r: MetricRow) =>
    (hashes.get(r.metric)?.size ?? 0) > 1 ? `${r.metric}[${r.paramsHash.slice(0, 6)}]` : r.metric;
  const columns = [...new Set(rows.map(column))].sort();
  const methods = [...new Set(rows.map((r) => r.method))].sort();
  const cell = new Map(rows.map((r) => [`${r.method}\u0000${column(r)}`, r.mean]));
  return {
    rowHeader: 'method',
    columns,
    rows: methods.map((m) => ({ name: m, values: columns.map((c) => cell.get(`${m}\u0000${c}`) ?? null) })),
  };
}

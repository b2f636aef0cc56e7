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

/** How `xwb eval` shows its result: a method × metric table of means with 95 % CIs, JSON, and CSV. Pure. */
import type { EvaluateResult, EvaluateRow } from './evaluate.js';

function num(v: number, digits = 3): string {
  if (Number.isNaN(v)) return 'NaN';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(digits);
}

/** "0.512 [0.431, 0.593]" plus " (3 NaN)" when some images had no value. */
export function formatCell(r: EvaluateRow): string {
  let cell = r.n === 0 ? 'n/a' : num(r.mean);
  if (r.n >= 2) cell += ` [${num(r.ci95[0])}, ${num(r.ci95[1])}]`;
  if (r.nanCount > 0) cell += ` (${r.nanCount} NaN)`;
  return cell;
}

/** One line per metric, one column per method; ↑/↓ says which direction is better. */
export function formatTable(result: EvaluateResult): string[] {
  const methods = result.methods.map((m) => m.method);
  const header = ['metric', ...methods];
  const body = result.metrics.map((metric) => {
    const rows = result.rows.filter((r) => r.metric === metric);
    const arrow = rows[0]?.higherIsBetter ? '↑' : '↓';
    return [`${metric} ${arrow}`, ...methods.map((m) => formatCell(rows.find((r) => r.method === m)!))];
  });
  const widths = header.map((_, c) => Math.max(...[header, ...body].map((line) => line[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function toJson(result: EvaluateResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    runId: result.runId,
    ...extra,
    images: result.images,
    class: result.classChoice,
    methods: result.methods,
    metrics: result.metrics,
    values: result.values,
    table: result.rows.map((r) => ({
      method: r.method,
      metric: r.metric,
      higherIsBetter: r.higherIsBetter,
      mean: finite(r.mean),
      sd: finite(r.sd),
      ci95: [finite(r.ci95[0]), finite(r.ci95[1])],
      n: r.n,
      nanCount: r.nanCount,
      /** Per-image values behind the row (measured plus NaN). */
      values: r.n + r.nanCount,
      params: r.params,
    })),
  };
}

function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const CSV_COLUMNS = [
  'method',
  'metric',
  'higher_is_better',
  'mean',
  'sd',
  'ci95_low',
  'ci95_high',
  'n',
  'nan_count',
  'params',
] as const;

/** One row per method × metric; NaN as an empty field; parameters as JSON. RFC 4180 quoting. */
export function toCsv(rows: readonly EvaluateRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.method,
        r.metric,
        r.higherIsBetter,
        r.mean,
        r.sd,
        r.ci95[0],
        r.ci95[1],
        r.n,
        r.nanCount,
        JSON.stringify(r.params),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

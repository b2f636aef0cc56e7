/**
 * CSV as RFC 4180 writes it: comma-separated, CRLF line ends, fields with a comma, quote, CR or LF quoted and
 * their quotes doubled. Text that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a
 * single quote; numbers are written as numbers (so -0.5 stays a number).
 */
export type CsvValue = string | number | boolean | null | undefined;

export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) {
    if (r.length !== header.length)
      throw new Error(`CSV row has ${r.length} fields, the header has ${header.length}`);
    lines.push(r.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Short human forms for durations, shares and numbers shown in the UI. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}

export function formatPercent(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

/** Four significant digits, without exponent noise for ordinary magnitudes. */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(4)));
  return x.toExponential(2);
}

/**
 * The legend line of an LRP map's conservation (Σ relevance ÷ explained logit), or null for maps that do not
 * report one. Users of Zennit/iNNvestigate read an LRP map against this: 40 % means most of the score went
 * elsewhere (into biases), and the map shows only the part that reached the pixels.
 */
export function conservationLine(c: number | null | undefined): string | null {
  if (c === undefined) return null;
  if (c === null) return 'conservation undefined (the explained logit is 0)';
  return `conservation ${formatPercent(c)} of the logit reaches the pixels`;
}

/**
 * Training curves: per-epoch metrics laid out on one x axis across the phases (classifier → explainer →
 * joint), with the phase boundaries, scaled into an SVG box.
 */
export interface EpochPoint {
  phase: string;
  epoch: number;
  metrics: Record<string, number | string | null>;
}

export interface Series {
  key: string;
  /** x: position on the run's epoch axis (0-based, across phases); y: the value. Missing values are left out. */
  points: { x: number; y: number }[];
}

export interface PhaseSpan {
  phase: string;
  from: number;
  /** Exclusive. */
  to: number;
}

/** Epoch rows in run order: by phase in the order they first appear, then by epoch. */
export function orderEpochs<T extends EpochPoint>(epochs: readonly T[], phaseOrder: readonly string[]): T[] {
  const rank = (p: string) => {
    const i = phaseOrder.indexOf(p);
    return i < 0 ? phaseOrder.length : i;
  };
  return [...epochs].sort((a, b) => rank(a.phase) - rank(b.phase) || a.epoch - b.epoch);
}

export function buildSeries(ordered: readonly EpochPoint[], keys: readonly string[]): Series[] {
  return keys
    .map((key) => ({
      key,
      points: ordered.flatMap((e, x) => {
        const y = e.metrics[key];
        return typeof y === 'number' && Number.isFinite(y) ? [{ x, y }] : [];
      }),
    }))
    .filter((s) => s.points.length > 0);
}

export function phaseSpans(ordered: readonly EpochPoint[]): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  ordered.forEach((e, x) => {
    const last = spans[spans.length - 1];
    if (last && last.phase === e.phase) last.to = x + 1;
    else spans.push({ phase: e.phase, from: x, to: x + 1 });
  });
  return spans;
}

export interface Domain {
  min: number;
  max: number;
}

/** The y range of the series, widened a little so flat lines do not sit on the frame. */
export function yDomain(series: readonly Series[], floorZero = false): Domain {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const s of series)
    for (const p of s.points) {
      if (p.y < min) min = p.y;
      if (p.y > max) max = p.y;
    }
  if (!(min <= max)) return { min: 0, max: 1 };
  if (floorZero && min > 0) min = 0;
  if (min === max) return { min: min - 0.5, max: max + 0.5 };
  const pad = (max - min) * 0.05;
  return { min: floorZero && min === 0 ? 0 : min - pad, max: max + pad };
}

export interface Box {
  width: number;
  height: number;
  left: number;
  top: number;
}

/** The polyline's `points` attribute for a series in the plotting box (y grows upwards). */
export function polylinePoints(s: Series, xCount: number, y: Domain, box: Box): string {
  const sx = (x: number) => box.left + (xCount <= 1 ? box.width / 2 : (x / (xCount - 1)) * box.width);
  const sy = (v: number) => box.top + box.height - ((v - y.min) / (y.max - y.min)) * box.height;
  return s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
}

/** About `n` round tick values covering the domain (1, 2, 5 × 10^k steps). */
export function niceTicks(d: Domain, n = 4): number[] {
  const span = d.max - d.min;
  if (!(span > 0)) return [d.min];
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(d.min / step) * step; t <= d.max + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(12)));
  }
  return out;
}

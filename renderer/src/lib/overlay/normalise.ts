/**
 * THE rule that puts a map's values on a colour scale, for every screen (image view, compare grid, review), the
 * way Captum's `visualization` and Zennit's `imgify` are one module each. A screen asks `fitScale` for a scale,
 * then colours with it (colourise.ts) and states it with `describeScale` on its legend; no screen picks numbers.
 *
 * Rules:
 * - `image` (the default for post-hoc maps, whose units are arbitrary and tiny or huge): Captum's `_normalize_attr`
 *   with its default `outlier_perc` of 2 — the scale ends at the value where the sorted magnitudes reach 98 % of
 *   their total, so a few outlier pixels saturate instead of crushing the rest to black. Signed maps get a
 *   diverging scale centred on 0 (±that value, Captum's sign 'all'); unsigned maps start at their minimum (Zennit's
 *   min..max, so an offset like RISE's base probability is not mistaken for evidence) and the 98 % is taken of the
 *   mass above it (for maps whose minimum is 0 — gradients, Grad-CAM — this is exactly Captum's rule).
 * - `minmax`: min..max of the map; signed maps ±max|v| (Zennit's `symmetric`).
 * - `absolute`: the values as they are, [0, 1] or [−1, 1] (the in-model explainers: expclass's map lies in [0, 1),
 *   XCNN's in [−1, 1]; the paper's 0.75 threshold is absolute).
 * Fitting over several maps at once (a compare row, or the whole grid) pools their values: one scale for all.
 */

export type ScaleRule = 'image' | 'minmax' | 'absolute';
/** What a user picks: a rule, or `auto` (absolute for in-model maps, else per image). */
export type ScaleChoice = 'auto' | ScaleRule;
export const SCALE_CHOICES: readonly ScaleChoice[] = ['auto', 'image', 'minmax', 'absolute'];
/** Captum's default `outlier_perc`: the top 2 % of the mass saturates. */
export const OUTLIER_PERCENT = 2;

export interface Scale {
  /** Sequential: lo..hi along the bar. Diverging: −hi..hi with 0 in the middle (lo is −hi). */
  kind: 'sequential' | 'diverging';
  rule: ScaleRule;
  lo: number;
  hi: number;
}

type Maps = readonly ArrayLike<number>[];

/** A map is signed when any finite value is negative (registry info cannot tell: the explainer is either kind). */
export function isSigned(maps: Maps): boolean {
  for (const m of maps) for (let i = 0; i < m.length; i++) if (m[i] < 0 && Number.isFinite(m[i])) return true;
  return false;
}

/** The rule `auto` stands for, given the families of the methods that share the scale. */
export function resolveRule(choice: ScaleChoice, families: readonly (string | undefined)[]): ScaleRule {
  if (choice !== 'auto') return choice;
  return families.length > 0 && families.every((f) => f === 'in-model') ? 'absolute' : 'image';
}

/**
 * Captum's `_cumulative_sum_threshold`: the smallest value v among `values` (non-negative) such that the sum of all
 * values ≤ v reaches `percent` % of the total. 0 for no values or an all-zero map.
 */
export function massThreshold(values: Float32Array | Float64Array, percent: number): number {
  if (!(percent >= 0 && percent <= 100))
    throw new Error(`mass threshold: percent ${percent} is not in 0..100`);
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (let i = 0; i < sorted.length; i++) total += sorted[i];
  const target = total * 0.01 * percent;
  let cum = 0;
  for (let i = 0; i < sorted.length; i++) {
    cum += sorted[i];
    if (cum >= target) return sorted[i];
  }
  return sorted[sorted.length - 1]; // rounding left cum a hair short of the target
}

function finiteExtent(maps: Maps): { lo: number; hi: number; n: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let n = 0;
  for (const m of maps)
    for (let i = 0; i < m.length; i++) {
      const v = m[i];
      if (!Number.isFinite(v)) continue;
      n++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  return n ? { lo, hi, n } : { lo: 0, hi: 0, n };
}

/** The finite values of the maps as magnitudes above `base` (|v| for signed maps, v − min otherwise). */
function magnitudes(maps: Maps, n: number, f: (v: number) => number): Float64Array {
  const out = new Float64Array(n);
  let k = 0;
  for (const m of maps)
    for (let i = 0; i < m.length; i++) {
      const v = m[i];
      if (Number.isFinite(v)) out[k++] = f(v);
    }
  return out;
}

/** The scale for these maps under `rule`. `signed` overrides the data's own sign-ness (isSigned). */
export function fitScale(rule: ScaleRule, maps: Maps, opts: { signed?: boolean } = {}): Scale {
  const signed = opts.signed ?? isSigned(maps);
  const kind = signed ? 'diverging' : 'sequential';
  if (rule === 'absolute') return signed ? { kind, rule, lo: -1, hi: 1 } : { kind, rule, lo: 0, hi: 1 };
  const ext = finiteExtent(maps);
  if (rule === 'minmax') {
    if (!signed) return { kind, rule, lo: ext.lo, hi: ext.hi };
    const m = Math.max(Math.abs(ext.lo), Math.abs(ext.hi));
    return { kind, rule, lo: -m, hi: m };
  }
  if (signed) {
    const s = massThreshold(
      magnitudes(maps, ext.n, (v) => Math.abs(v)),
      100 - OUTLIER_PERCENT,
    );
    return { kind, rule, lo: -s, hi: s };
  }
  const base = ext.lo;
  const s = massThreshold(
    magnitudes(maps, ext.n, (v) => v - base),
    100 - OUTLIER_PERCENT,
  );
  return { kind, rule, lo: base, hi: base + s };
}

/** Where a value sits on the colour bar, in [0, 1] (NaN stays NaN). A flat scale puts values above it at 1. */
export function position(v: number, s: Scale): number {
  if (Number.isNaN(v)) return Number.NaN;
  if (s.kind === 'diverging') {
    if (!(s.hi > 0)) return v > 0 ? 1 : v < 0 ? 0 : 0.5;
    return Math.min(1, Math.max(0, 0.5 + v / (2 * s.hi)));
  }
  if (s.hi <= s.lo) return v > s.hi ? 1 : 0;
  return Math.min(1, Math.max(0, (v - s.lo) / (s.hi - s.lo)));
}

/**
 * How strong a value is, in [0, 1]: what a threshold compares with. Sequential: its position. Diverging: its
 * magnitude against the scale, so a threshold keeps strong evidence of either sign.
 */
export function strength(v: number, s: Scale): number {
  if (Number.isNaN(v)) return Number.NaN;
  if (s.kind === 'sequential') return position(v, s);
  if (!(s.hi > 0)) return v !== 0 ? 1 : 0;
  return Math.min(1, Math.abs(v) / s.hi);
}

/** The raw value a strength threshold stands for (the contour level; on |v| for a diverging scale). */
export function rawLevel(s: Scale, threshold: number): number {
  if (s.kind === 'diverging') return threshold * s.hi;
  return s.hi > s.lo ? s.lo + threshold * (s.hi - s.lo) : s.hi;
}

/** Which share of the pixels the scale's rule applies to: one map, a method's row, the whole grid. */
export type ScaleScope = 'image' | 'method' | 'grid';

export interface ScaleText {
  /** Three ticks under the bar: bottom, middle, top. */
  ticks: [string, string, string];
  /** The rule in words: how the scale was set. Never names a method (it is shown to blinded raters). */
  rule: string;
}

/**
 * The legend's words. `relative`: ticks without raw values (a blinded rater could tell methods apart by their
 * units), only where the bar's ends and its zero are.
 */
export function describeScale(s: Scale, scope: ScaleScope, opts: { relative?: boolean } = {}): ScaleText {
  const where =
    scope === 'image' ? 'per image' : scope === 'method' ? 'per method' : 'one scale for the grid';
  const div = s.kind === 'diverging';
  let ticks: [string, string, string];
  if (opts.relative) ticks = div ? ['−', '0', '+'] : ['low', '', 'high'];
  else if (div) ticks = [formatTick(-s.hi), '0', `+${formatTick(s.hi)}`];
  else ticks = [formatTick(s.lo), formatTick((s.lo + s.hi) / 2), formatTick(s.hi)];
  let rule: string;
  if (s.rule === 'absolute') rule = div ? 'absolute −1 … 1, 0 at the centre' : 'absolute 0 … 1';
  else if (s.rule === 'minmax') rule = div ? `signed, ±max|value| (${where})` : `min … max (${where})`;
  else
    rule = div
      ? `signed, 0 at the centre, ±the level holding ${100 - OUTLIER_PERCENT} % of the |value| mass (${where}; Captum's rule)`
      : `min at the bottom, top ${OUTLIER_PERCENT} % of the mass saturated (${where}; Captum's rule)`;
  if (!opts.relative && s.hi <= s.lo && !div) rule = `flat: every value is ${formatTick(s.lo)}`;
  return { ticks, rule };
}

/** Short numbers for ticks: 3 significant digits, exponent form outside 1e-3..1e4 ("3.2e-4"). */
export function formatTick(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v === 0 ? 0 : v);
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e4) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

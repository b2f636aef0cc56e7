/**
 * Is the explainer's map any use? Measured on the validation split after every epoch of a phase that trains the
 * explainer, so a broken map is reported while the run goes on, not only in its summary (pure math, no tfjs).
 *
 * Three numbers over the validation maps (N images of P pixels each):
 * - mean: of every pixel of every map;
 * - withinStd: the standard deviation across the pixels of one map, averaged over the maps (is there a pattern?);
 * - acrossStd: the standard deviation across the images of one pixel, averaged over the pixels (does the pattern
 *   depend on the image?). A map that is the same on every image (a lattice, a fixed blob, a constant grey) has
 *   acrossStd ≈ 0 however much it varies within an image.
 *
 * The problems, first match wins:
 * - 'dead': mean below deadExplainer.threshold (expclass only: tanh-then-ReLU at 0 passes no gradient);
 * - 'saturated': mean above SATURATED_MEAN: the map is white, it selects nothing;
 * - 'flat': acrossStd below FLAT_RATIO × withinStd, or below FLAT_FLOOR: the map does not depend on the input.
 * The flat test is relative because a healthy sparse map has small numbers everywhere: for objects placed at
 * random, its across-image spread of a pixel is about its within-image spread, so the ratio is near 1; a fixed
 * pattern drives it to 0. The thresholds are heuristics, chosen to flag only clear cases.
 */
import type { PhaseName } from './config.js';

/** 'lost': in the explainer phase, the map took away the accuracy the classifier phase reached (trainer.ts). */
export type MapProblem = 'dead' | 'saturated' | 'flat' | 'lost';

/** Mean map value above which the explainer is said to select nothing (maps of expclass are in [0, 1)). */
export const SATURATED_MEAN = 0.95;
/** Across-image spread below this fraction of the within-image spread: the pattern is the same on every image. */
export const FLAT_RATIO = 0.2;
/** Across-image spread below which a map is flat whatever its pattern (a constant map has no pattern). */
export const FLAT_FLOOR = 1e-3;

export interface MapStats {
  images: number;
  mean: number;
  /** NaN with no image. */
  withinStd: number;
  /** NaN with fewer than 2 images. */
  acrossStd: number;
}

/**
 * Accumulates the statistics batch by batch (Welford's update per pixel for the across-image spread, in float64,
 * so a long validation split does not lose precision).
 */
export class MapStatsAccumulator {
  private n = 0;
  private sum = 0;
  private withinSum = 0;
  private readonly pixelMean: Float64Array;
  private readonly pixelM2: Float64Array;

  constructor(readonly pixels: number) {
    if (!Number.isInteger(pixels) || pixels < 1) throw new Error(`map statistics: ${pixels} pixels per map`);
    this.pixelMean = new Float64Array(pixels);
    this.pixelM2 = new Float64Array(pixels);
  }

  /** Adds `count` maps stored one after another in `maps` (e.g. an [N, S, S, 1] tensor's data). */
  add(maps: ArrayLike<number>, count: number): void {
    const p = this.pixels;
    if (maps.length !== count * p) {
      throw new Error(`map statistics: ${maps.length} values for ${count} maps of ${p} pixels`);
    }
    for (let i = 0; i < count; i++) {
      const o = i * p;
      let s = 0;
      let ss = 0;
      this.n++;
      const n = this.n;
      for (let j = 0; j < p; j++) {
        const v = maps[o + j];
        s += v;
        ss += v * v;
        const d = v - this.pixelMean[j];
        this.pixelMean[j] += d / n;
        this.pixelM2[j] += d * (v - this.pixelMean[j]);
      }
      const m = s / p;
      this.sum += s;
      this.withinSum += Math.sqrt(Math.max(0, ss / p - m * m));
    }
  }

  result(): MapStats {
    const n = this.n;
    let across = Number.NaN;
    if (n >= 2) {
      let total = 0;
      for (let j = 0; j < this.pixels; j++) total += Math.sqrt(Math.max(0, this.pixelM2[j] / n));
      across = total / this.pixels;
    }
    return {
      images: n,
      mean: n > 0 ? this.sum / (n * this.pixels) : Number.NaN,
      withinStd: n > 0 ? this.withinSum / n : Number.NaN,
      acrossStd: across,
    };
  }
}

/** The statistics of whole maps at once (tests, small sets). */
export function mapStats(maps: readonly ArrayLike<number>[]): MapStats {
  if (maps.length === 0) return { images: 0, mean: Number.NaN, withinStd: Number.NaN, acrossStd: Number.NaN };
  const acc = new MapStatsAccumulator(maps[0].length);
  for (const m of maps) acc.add(m, 1);
  return acc.result();
}

export interface DiagnoseOptions {
  /** deadExplainer.threshold; null where a map cannot die (xcnn's tanh map passes gradients at 0). */
  deadThreshold: number | null;
}

/** The map's problem, or null when it looks alive, selective and image-dependent. */
export function diagnoseMap(stats: Pick<MapStats, 'mean' | 'withinStd' | 'acrossStd'>, o: DiagnoseOptions) {
  const { mean, withinStd, acrossStd } = stats;
  if (o.deadThreshold !== null && mean < o.deadThreshold) return 'dead' as const;
  if (mean > SATURATED_MEAN) return 'saturated' as const;
  if (Number.isFinite(acrossStd) && (acrossStd < FLAT_FLOOR || acrossStd < FLAT_RATIO * withinStd)) {
    return 'flat' as const;
  }
  return null;
}

export interface MapWarning {
  code: MapProblem;
  message: string;
  advice: string;
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/** The plain-language report of a problem and what to change; shown as it happens and in the run's summary. */
export function mapWarning(
  code: MapProblem,
  phase: PhaseName,
  epoch: number,
  stats: Pick<MapStats, 'mean' | 'withinStd' | 'acrossStd'>,
  deadThreshold: number,
  head: 'tanh-relu' | 'sigmoid' = 'tanh-relu',
): MapWarning {
  const at = `phase ${phase}, epoch ${epoch}`;
  if (code === 'dead' && head === 'sigmoid') {
    return {
      code,
      message:
        `${at}: the explainer is dead (mean validation activation ${stats.mean.toExponential(2)} < ` +
        `${deadThreshold}): the map fell to 0 everywhere, and its sigmoid is so far below zero that almost no ` +
        'gradient reaches it.',
      advice:
        'Give the explanation loss less weight (a lower --l1, or a higher alpha), lower the explainer learning ' +
        'rate, or let the joint phase train the classifier with the map (its epochs come next).',
    };
  }
  if (code === 'dead') {
    return {
      code,
      message:
        `${at}: the explainer is dead (mean validation activation ${stats.mean.toExponential(2)} < ` +
        `${deadThreshold}): the map died, it is 0 everywhere. Its tanh-then-ReLU output passes no gradient at 0, ` +
        'so it cannot recover.',
      advice:
        'Give the explanation loss less weight (a lower --l1, or a higher alpha), or start the map whiter ' +
        '(explainerBias).',
    };
  }
  if (code === 'saturated') {
    return {
      code,
      message:
        `${at}: the map is almost white everywhere (mean ${f(stats.mean)} > ${SATURATED_MEAN}): the explainer ` +
        'is not selecting anything, so the explanation shows the whole image.',
      advice:
        'Give sparsity more weight (a higher --l1, or a lower alpha), train the explainer for more epochs, or ' +
        'start the map less white (a lower explainerBias).',
    };
  }
  return {
    code,
    message:
      `${at}: the map is the same on every image (it varies ${f(stats.acrossStd)} across images against ` +
      `${f(stats.withinStd)} within one): it does not depend on the input, so it explains nothing.`,
    advice:
      'Try a lower --l1 (or a higher alpha) so the classification outweighs sparsity, a total-variation term ' +
      '(--beta below 1) against lattices, supervision with --gamma and masks, or starting the explainer from a ' +
      'trained classifier (--init-from RUN --phases explainer,joint).',
  };
}

/**
 * The warning an epoch's recorded row carries (its flags and numbers, see summary.ts's METRIC_KEYS), or null: how
 * a run read back from the store shows what its live events said.
 */
export function epochWarning(
  phase: PhaseName,
  epoch: number,
  metrics: Readonly<Record<string, number>>,
  deadThreshold: number,
  head: 'tanh-relu' | 'sigmoid' = 'tanh-relu',
): MapWarning | null {
  const code: MapProblem | null =
    metrics.dead_explainer === 1
      ? 'dead'
      : metrics.map_saturated === 1
        ? 'saturated'
        : metrics.map_flat === 1
          ? 'flat'
          : null;
  if (code === null) return null;
  const stats = {
    mean: metrics.val_expl_mean,
    withinStd: metrics.val_map_std ?? Number.NaN,
    acrossStd: metrics.val_map_across_std ?? Number.NaN,
  };
  return mapWarning(code, phase, epoch, stats, deadThreshold, head);
}

/**
 * Pointing game (Zhang et al., "Top-down neural attention by excitation backprop", IJCV 2018), Quantus's
 * `PointingGame`. Higher is better: 1 when the map's maximum falls on the object, else 0.
 *
 * - Ties: as Quantus, a hit when ANY pixel attaining the maximum is in the mask. A constant map therefore
 *   scores 1 on every image with a box (the maximum is everywhere): read pointing-game scores together with a
 *   shape metric, or compare against the weighted variant.
 * - tolerance (pixels, Zhang et al. use 15 at 224 px): a hit when a maximum lies within this Euclidean distance
 *   (between pixel centres) of a mask pixel. 0 = Quantus's exact rule.
 * - weighted (Quantus): a hit scores 1 − |mask| / N instead of 1, so large objects earn less.
 * - Empty mask: NaN.
 */
import { defineMetric, EMPTY_MASK, requireRange } from '../core/define.js';
import { maskedMap } from './common.js';

export type PointingGameParams = {
  tolerance: number;
  weighted: boolean;
  abs: boolean;
};

function hitWithin(mask: Uint8Array, width: number, height: number, p: number, tolerance: number): boolean {
  const px = p % width;
  const py = (p - px) / width;
  const r = Math.floor(tolerance);
  for (let y = Math.max(0, py - r); y <= Math.min(height - 1, py + r); y++) {
    for (let x = Math.max(0, px - r); x <= Math.min(width - 1, px + r); x++) {
      if (mask[y * width + x] !== 0 && (x - px) ** 2 + (y - py) ** 2 <= tolerance * tolerance) return true;
    }
  }
  return false;
}

export function pointingGameScore(
  values: ArrayLike<number>,
  mask: Uint8Array,
  width: number,
  height: number,
  params: Pick<PointingGameParams, 'tolerance' | 'weighted'>,
): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  const maxima: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] === max) maxima.push(i);
  // Exact hits first: cheap, and they decide the common case (and a constant map) without any window search.
  let hit = maxima.some((p) => mask[p] !== 0);
  if (!hit && params.tolerance > 0)
    hit = maxima.some((p) => hitWithin(mask, width, height, p, params.tolerance));
  if (!hit) return 0;
  if (!params.weighted) return 1;
  let inside = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) inside++;
  return 1 - inside / mask.length;
}

export const pointingGame = defineMetric<PointingGameParams>({
  name: 'pointing-game',
  family: 'localisation',
  higherIsBetter: true,
  reference: 'Zhang et al. 2018, IJCV 126:1084-1102; Quantus PointingGame',
  defaults: { tolerance: 0, weighted: false, abs: false },
  requires: ['mask'],
  validate: (p) => requireRange('pointing-game', 'tolerance', p.tolerance, 0, Number.MAX_SAFE_INTEGER),
  compute(input, params) {
    const m = maskedMap('pointing-game', input, params.abs);
    if (!m) return EMPTY_MASK;
    return { value: pointingGameScore(m.values, m.mask, m.width, m.height, params) };
  },
});

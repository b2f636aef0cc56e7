/** Which images are positive, and the stratified train/val/test split. Pure functions of a random stream. */
import type { Random } from '../../util/random.js';
import type { SplitFractions } from './options.js';

export type PartName = 'train' | 'val' | 'test';
export const PARTS: readonly PartName[] = ['train', 'val', 'test'];
type Sizes = Record<PartName, number>;

/** Exactly `positives` of `images` flags set, at random positions. */
export function choosePositives(images: number, positives: number, rng: Random): boolean[] {
  if (!Number.isInteger(positives) || positives < 0 || positives > images) {
    throw new Error(`choosePositives: need 0 <= positives <= ${images}, got ${positives}`);
  }
  const order = rng.shuffle(Array.from({ length: images }, (_, i) => i));
  const flags = new Array<boolean>(images).fill(false);
  for (let k = 0; k < positives; k++) flags[order[k]] = true;
  return flags;
}

/**
 * Rounds non-negative real shares that sum to `count` to integers with the same sum (largest remainder;
 * ties go to train, then val, then test). Each result differs from its share by less than one, and a share
 * of 0 stays 0.
 */
function roundShares(count: number, shares: readonly number[]): Sizes {
  const floors = shares.map((s) => Math.floor(s + 1e-9));
  let left = count - floors.reduce((a, b) => a + b, 0);
  const order = [0, 1, 2].sort((a, b) => shares[b] - floors[b] - (shares[a] - floors[a]) || a - b);
  for (const i of order) {
    if (left <= 0) break;
    if (shares[i] <= 0) continue;
    floors[i]++;
    left--;
  }
  return { train: floors[0], val: floors[1], test: floors[2] };
}

/** Sizes of the parts of `count` items split by fractions (which sum to 1). */
export function apportion(count: number, fr: SplitFractions): Sizes {
  return roundShares(
    count,
    PARTS.map((p) => count * fr[p]),
  );
}

/**
 * Sizes per stratum such that the totals are `apportion(all)` exactly (e.g. 750 / 250 of 1000) and each stratum
 * is within one of its own share: positives are apportioned first, negatives fill what the totals still need.
 */
export function stratifiedSizes(
  positives: number,
  negatives: number,
  fr: SplitFractions,
): { pos: Sizes; neg: Sizes } {
  const total = apportion(positives + negatives, fr);
  const pos = apportion(positives, fr);
  let need = PARTS.map((p) => Math.max(0, total[p] - pos[p]));
  const sum = need.reduce((a, b) => a + b, 0);
  // Only when a part is tiny can positives overshoot its total; then share the negatives by proportion.
  if (sum !== negatives)
    need = sum > 0 ? need.map((n) => (n * negatives) / sum) : PARTS.map((p) => negatives * fr[p]);
  return { pos, neg: roundShares(negatives, need) };
}

/** Assigns each image to a part, stratified by positive/negative (see stratifiedSizes). */
export function stratifiedSplit(positive: readonly boolean[], fr: SplitFractions, rng: Random): PartName[] {
  const out = new Array<PartName>(positive.length);
  const nPos = positive.filter(Boolean).length;
  const sizes = stratifiedSizes(nPos, positive.length - nPos, fr);
  for (const want of [true, false]) {
    const members = rng.shuffle(positive.flatMap((p, i) => (p === want ? [i] : [])));
    const s = want ? sizes.pos : sizes.neg;
    let k = 0;
    for (const part of PARTS) {
      for (let n = 0; n < s[part]; n++) out[members[k++]] = part;
    }
  }
  return out;
}

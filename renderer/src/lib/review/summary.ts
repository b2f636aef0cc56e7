/** Small formatting helpers for the review analysis tables. */
import type { ReviewScoreKey } from '../../../../src/api/contract.js';
import { formatNumber } from '../format.js';

export const SCORE_KEYS: readonly ReviewScoreKey[] = ['correctness', 'completeness', 'compactness', 'mean'];

/** "[2.1, 3.4]", or "" when the interval is undefined (fewer than two values). */
export function ciText(ci: readonly [number | null, number | null]): string {
  const [lo, hi] = ci;
  if (lo === null || hi === null) return '';
  return `[${formatNumber(lo)}, ${formatNumber(hi)}]`;
}

/** Similarity of two maps of one size, for the randomisation sanity checks. */

import { ssim } from './ssim.js';
import { pearson, spearman } from './stats.js';

export type Similarity = 'spearman' | 'pearson' | 'ssim';
export const SIMILARITIES: readonly Similarity[] = ['spearman', 'pearson', 'ssim'];

export function similarity(
  kind: Similarity,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  width: number,
  height: number,
): number {
  switch (kind) {
    case 'spearman':
      return spearman(a, b);
    case 'pearson':
      return pearson(a, b);
    case 'ssim':
      return ssim(a, b, width, height);
  }
}

/**
 * How every explanation of a review session is drawn: one declared rule for all of them, whatever method made
 * them, so no method is favoured by its units and raters see the same kind of picture each time. Per image,
 * Captum's rule (normalise.ts `image`), signed maps diverging around 0; one colour table; the rater changes only
 * the opacity and whether the overlay is shown. The words on screen never name a method.
 */
import type { SequentialColormap } from '../colormap.js';
import { fitScale, type Scale, type ScaleRule } from '../overlay/normalise.js';

export const REVIEW_RULE: ScaleRule = 'image';
export const REVIEW_COLORMAP: SequentialColormap = 'viridis';
export const REVIEW_OPACITY = 0.6;

/** The sentence shown above the pictures. */
export const REVIEW_RULE_TEXT =
  'Every explanation in this session is drawn the same way: scaled per image (Captum’s rule), unsigned maps ' +
  'from dark to yellow, signed maps blue (−) · white (0) · red (+).';

export function reviewScale(data: ArrayLike<number>): Scale {
  return fitScale(REVIEW_RULE, [data]);
}

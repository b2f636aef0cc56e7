/**
 * The box repair rules of the VOC reader as pure functions (the rules themselves are documented at the top of
 * parse.ts). Each returns the repaired box, or null when nothing is left, and one sentence per repair so the
 * caller can warn. Messages quote VOC's numbers (1-based, inclusive) because those are what the user sees in the
 * file.
 */
import type { Box } from '../types.js';
import { fromVocBndbox, type VocBndbox } from './coords.js';

export interface ImageExtent {
  width: number;
  height: number;
}

export interface BoxFix {
  /** null: the box must be dropped. */
  box: Box | null;
  problems: string[];
}

/**
 * From the four numbers of a `<bndbox>` to a valid box. Fields written the wrong way round are swapped in VOC's
 * own terms (the tool put the larger index in the min field, both still name inclusive pixels), so 12..10 means
 * pixels 10, 11 and 12.
 */
export function fixVocBndbox(b: VocBndbox, image?: ImageExtent): BoxFix {
  const problems: string[] = [];
  let { xmin, ymin, xmax, ymax } = b;
  // In the inclusive convention xmin = xmax + 1 is an empty box, not a swapped one: only go beyond that swaps.
  if (xmax < xmin - 1) {
    problems.push(`xmin ${xmin} > xmax ${xmax}: swapped`);
    [xmin, xmax] = [xmax, xmin];
  }
  if (ymax < ymin - 1) {
    problems.push(`ymin ${ymin} > ymax ${ymax}: swapped`);
    [ymin, ymax] = [ymax, ymin];
  }
  const fix = fixBox(fromVocBndbox({ xmin, ymin, xmax, ymax }), image);
  return { box: fix.box, problems: [...problems, ...fix.problems] };
}

/** A box in xwb's convention: inverted edges swapped, empty boxes dropped, then clipped to the image if known. */
export function fixBox(input: Box, image?: ImageExtent): BoxFix {
  const problems: string[] = [];
  let { x0, y0, x1, y1 } = input;
  if (![x0, y0, x1, y1].every(Number.isFinite)) {
    return { box: null, problems: ['its coordinates are not all finite numbers: dropped'] };
  }
  if (x1 < x0) {
    problems.push(`inverted box (xmin ${x0 + 1} > xmax ${x1}): swapped`);
    [x0, x1] = [x1, x0];
  }
  if (y1 < y0) {
    problems.push(`inverted box (ymin ${y0 + 1} > ymax ${y1}): swapped`);
    [y0, y1] = [y1, y0];
  }
  if (x1 === x0 || y1 === y0) {
    const which =
      x1 === x0 ? `zero width (xmin ${x0 + 1}, xmax ${x1})` : `zero height (ymin ${y0 + 1}, ymax ${y1})`;
    problems.push(`${which}: the box is empty in VOC's inclusive convention (size = max - min + 1); dropped`);
    return { box: null, problems };
  }
  if (!image) return { box: { x0, y0, x1, y1 }, problems };

  const { width: w, height: h } = image;
  if (x1 <= 0 || y1 <= 0 || x0 >= w || y0 >= h) {
    problems.push(
      `lies entirely outside the ${w}×${h} image (xmin ${x0 + 1}, ymin ${y0 + 1}, xmax ${x1}, ymax ${y1}); dropped`,
    );
    return { box: null, problems };
  }
  const sides: string[] = [];
  if (x0 < 0) sides.push(`xmin ${x0 + 1} < 1`);
  if (y0 < 0) sides.push(`ymin ${y0 + 1} < 1`);
  if (x1 > w) sides.push(`xmax ${x1} > ${w}`);
  if (y1 > h) sides.push(`ymax ${y1} > ${h}`);
  if (sides.length > 0) {
    problems.push(`extends beyond the ${w}×${h} image (${sides.join(', ')}): clamped to the image`);
    x0 = Math.max(0, x0);
    y0 = Math.max(0, y0);
    x1 = Math.min(w, x1);
    y1 = Math.min(h, y1);
  }
  return { box: { x0, y0, x1, y1 }, problems };
}

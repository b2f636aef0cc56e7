/**
 * The gallery's filter as a request and as words: which images.list request the gallery, the image view and
 * the compare grid send for the current filter and run (the same list, so position i is the same image on every
 * screen), and what a cell's caption says about its prediction and rating.
 */
import type { GallerySortName, ImageView, RatingFilterName, Request } from '../../../src/api/contract.js';

// The contract's lists, restated: importing values from contract.ts would bundle zod into the renderer. The
// `Missing*` checks fail to compile when the contract gains a name these lists lack.
export const GALLERY_SORTS = [
  'path',
  'confidence',
  'rating',
  'wrong',
] as const satisfies readonly GallerySortName[];
export const RATING_FILTERS = [
  'rated',
  'unrated',
  'low',
  'high',
  'flagged',
] as const satisfies readonly RatingFilterName[];
type MissingSorts = Exclude<GallerySortName, (typeof GALLERY_SORTS)[number]>;
type MissingRatings = Exclude<RatingFilterName, (typeof RATING_FILTERS)[number]>;
const _complete: [MissingSorts, MissingRatings] extends [never, never] ? true : never = true;
void _complete;

/** Every field optional: absent is "any" (and, for sort, by path). */
export interface GalleryFilter {
  label?: string;
  split?: 'train' | 'val' | 'test';
  /** Predicted class index (of the chosen run). */
  predicted?: number;
  correct?: boolean;
  rating?: RatingFilterName;
  sort?: GallerySortName;
}

export const SORT_LABELS: Record<GallerySortName, string> = {
  path: 'file name',
  confidence: 'prediction confidence',
  rating: 'rating (lowest first)',
  wrong: 'most wrong first',
};

export const RATING_LABELS: Record<RatingFilterName, string> = {
  rated: 'rated',
  unrated: 'not rated',
  low: 'low (≤ 2)',
  high: 'high (≥ 4)',
  flagged: 'flagged wrong',
};

/** True when the filter or sort uses a run's stored predictions. */
export function usesPredictions(f: GalleryFilter): boolean {
  return (
    f.predicted !== undefined || f.correct !== undefined || f.sort === 'confidence' || f.sort === 'wrong'
  );
}

/**
 * The images.list request for a filter (without offset and limit). Without a run the prediction filters and
 * sorts are left out rather than refused: the list is then the unfiltered one, and the gallery says why.
 */
export function listRequest(
  datasetId: number,
  f: GalleryFilter,
  runId: number | null,
): Omit<Request<'images.list'>, 'offset' | 'limit'> {
  const req: Omit<Request<'images.list'>, 'offset' | 'limit'> = { datasetId };
  if (f.label !== undefined) req.label = f.label;
  if (f.split !== undefined) req.split = f.split;
  if (f.rating !== undefined) req.rating = f.rating;
  if (f.sort === 'rating') req.sort = 'rating';
  if (runId === null) return req;
  req.runId = runId;
  if (f.predicted !== undefined) req.predicted = f.predicted;
  if (f.correct !== undefined) req.correct = f.correct;
  if (f.sort !== undefined && f.sort !== 'path') req.sort = f.sort;
  return req;
}

export interface Caption {
  /** The image's own facts: label and split. */
  text: string;
  /** The run's prediction, e.g. "✗ 87 % dog"; '' without one. */
  prediction: string;
  tone: 'right' | 'wrong' | 'unknown' | null;
  /** e.g. "★ 3.5" (mean score) or "⚑" (flagged, no score); '' when unrated. */
  rating: string;
}

export function caption(item: ImageView): Caption {
  const p = item.prediction;
  const r = item.rating;
  const tone = p ? (p.correct === null ? 'unknown' : p.correct ? 'right' : 'wrong') : null;
  // A mark as well as a colour: right and wrong must not depend on telling green from red.
  const mark = tone === 'right' ? '✓ ' : tone === 'wrong' ? '✗ ' : '';
  return {
    text: `${item.label ?? '—'}${item.split ? ` · ${item.split}` : ''}`,
    // The number first: where the cell is too narrow, the class name is what gets cut.
    prediction: p ? `${mark}${Math.round(p.probability * 100)} % ${p.className}` : '',
    tone,
    rating: r
      ? `${r.mean === null ? '' : `★ ${r.mean.toFixed(1)}`}${r.flagged ? `${r.mean === null ? '' : ' '}⚑` : ''}`
      : '',
  };
}

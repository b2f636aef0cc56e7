/**
 * The view in the address: dataset, screen, gallery filter, image, run and overlay settings live in the hash
 * (`#/image?d=1&i=42&run=3&m=gradcam&op=0.5`), so a reload or a shared link opens the same view. Only values
 * that differ from the defaults are written, and anything unreadable in a hand-edited or old link is dropped
 * (the default applies) rather than breaking the page.
 */
import { COLORMAPS, type SequentialColormap } from './colormap.js';
import { GALLERY_SORTS, type GalleryFilter, RATING_FILTERS } from './gallery.js';
import { SCALE_CHOICES, type ScaleChoice } from './overlay/normalise.js';

export const SCREENS = ['datasets', 'gallery', 'image', 'compare', 'training', 'review'] as const;
export type UrlScreen = (typeof SCREENS)[number];

/** The overlay settings the address carries (the image view's and compare grid's controls). */
export interface UrlOverlay {
  on: boolean;
  method: string;
  classIndex: number | null;
  colormap: SequentialColormap;
  normalisation: ScaleChoice;
  opacity: number;
  thresholdOn: boolean;
  threshold: number;
  contour: boolean;
  panels: boolean;
}

export interface UrlView {
  screen: UrlScreen;
  datasetId: number | null;
  filter: GalleryFilter;
  imageIndex: number;
  runId: number | null;
  overlay: UrlOverlay;
}

export const DEFAULT_OVERLAY: UrlOverlay = {
  on: true,
  method: '',
  classIndex: null,
  colormap: 'viridis',
  normalisation: 'auto',
  opacity: 0.6,
  thresholdOn: true,
  threshold: 0.75,
  contour: false,
  panels: false,
};

export const DEFAULT_VIEW: UrlView = {
  screen: 'datasets',
  datasetId: null,
  filter: {},
  imageIndex: 0,
  runId: null,
  overlay: DEFAULT_OVERLAY,
};

const SPLITS = ['train', 'val', 'test'] as const;

function positiveInt(s: string | null): number | null {
  return s !== null && /^[1-9][0-9]{0,14}$/.test(s) ? Number(s) : null;
}

function nonNegativeInt(s: string | null): number | null {
  return s !== null && /^(0|[1-9][0-9]{0,14})$/.test(s) ? Number(s) : null;
}

function unit(s: string | null): number | null {
  if (s === null || s.trim() === '') return null;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : null;
}

function flag(s: string | null): boolean | null {
  return s === '1' ? true : s === '0' ? false : null;
}

function oneOf<T extends string>(s: string | null, values: readonly T[]): T | null {
  return s !== null && (values as readonly string[]).includes(s) ? (s as T) : null;
}

/**
 * What a hash says, over the defaults. `hash` is `location.hash` (with or without the leading '#'); the part
 * before '?' is the screen.
 */
export function parseViewHash(hash: string): UrlView {
  const h = hash.replace(/^#/, '');
  const q = h.indexOf('?');
  const path = (q < 0 ? h : h.slice(0, q)).replace(/^\/+|\/+$/g, '');
  const p = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const o = DEFAULT_OVERLAY;
  const label = p.get('label');
  const split = oneOf(p.get('split'), SPLITS);
  const cls = p.get('class');
  const predicted = nonNegativeInt(p.get('pred'));
  const correct = flag(p.get('correct'));
  const rating = oneOf(p.get('rating'), RATING_FILTERS);
  const sort = oneOf(p.get('sort'), GALLERY_SORTS);
  return {
    screen: oneOf(path, SCREENS) ?? DEFAULT_VIEW.screen,
    datasetId: positiveInt(p.get('d')),
    filter: {
      ...(label ? { label } : {}),
      ...(split ? { split } : {}),
      ...(predicted !== null ? { predicted } : {}),
      ...(correct !== null ? { correct } : {}),
      ...(rating ? { rating } : {}),
      ...(sort && sort !== 'path' ? { sort } : {}),
    },
    imageIndex: nonNegativeInt(p.get('i')) ?? 0,
    runId: positiveInt(p.get('run')),
    overlay: {
      on: flag(p.get('ov')) ?? o.on,
      method: p.get('m') ?? o.method,
      classIndex: cls === null ? o.classIndex : nonNegativeInt(cls),
      colormap: oneOf(p.get('cm'), COLORMAPS) ?? o.colormap,
      normalisation: oneOf(p.get('norm'), SCALE_CHOICES) ?? o.normalisation,
      opacity: unit(p.get('op')) ?? o.opacity,
      thresholdOn: flag(p.get('th')) ?? o.thresholdOn,
      threshold: unit(p.get('t')) ?? o.threshold,
      contour: flag(p.get('contour')) ?? o.contour,
      panels: flag(p.get('panels')) ?? o.panels,
    },
  };
}

/** The hash for a view (with its '#'); defaults are left out, so a plain start has a short address. */
export function viewHash(v: UrlView): string {
  const p = new URLSearchParams();
  const o = v.overlay;
  const d = DEFAULT_OVERLAY;
  if (v.datasetId !== null) p.set('d', String(v.datasetId));
  if (v.filter.label) p.set('label', v.filter.label);
  if (v.filter.split) p.set('split', v.filter.split);
  if (v.filter.predicted !== undefined) p.set('pred', String(v.filter.predicted));
  if (v.filter.correct !== undefined) p.set('correct', v.filter.correct ? '1' : '0');
  if (v.filter.rating) p.set('rating', v.filter.rating);
  if (v.filter.sort && v.filter.sort !== 'path') p.set('sort', v.filter.sort);
  if (v.imageIndex > 0) p.set('i', String(v.imageIndex));
  if (v.runId !== null) p.set('run', String(v.runId));
  if (o.method !== d.method) p.set('m', o.method);
  if (o.on !== d.on) p.set('ov', o.on ? '1' : '0');
  if (o.classIndex !== d.classIndex && o.classIndex !== null) p.set('class', String(o.classIndex));
  if (o.colormap !== d.colormap) p.set('cm', o.colormap);
  if (o.normalisation !== d.normalisation) p.set('norm', o.normalisation);
  // Sliders give long binary fractions; three decimals are more than a person can set.
  if (o.opacity !== d.opacity) p.set('op', String(Math.round(o.opacity * 1000) / 1000));
  if (o.thresholdOn !== d.thresholdOn) p.set('th', o.thresholdOn ? '1' : '0');
  if (o.threshold !== d.threshold) p.set('t', String(Math.round(o.threshold * 1000) / 1000));
  if (o.contour !== d.contour) p.set('contour', o.contour ? '1' : '0');
  if (o.panels !== d.panels) p.set('panels', o.panels ? '1' : '0');
  const query = p.toString();
  return `#/${v.screen}${query ? `?${query}` : ''}`;
}

/**
 * Every keyboard map of the workbench, and the one list the `?` help is drawn from. The image view's map is built
 * from its help rows (a key cannot be bound without being listed); the annotation map's rows carry an example the
 * unit tests replay; the review form's rows come from its own module.
 */
import { ANNOTATE_SHORTCUTS } from './annotate/keys.js';
import { REVIEW_SHORTCUTS } from './review/form.js';

/** The image view's keyboard map (the shortcuts medical viewers taught users to expect). */
export type KeyAction =
  | 'next'
  | 'previous'
  | 'overlay'
  | 'opacityDown'
  | 'opacityUp'
  | 'boxes'
  | 'compare'
  | 'fit'
  | 'annotate';

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

interface ViewRow {
  label: string;
  what: string;
  /** The keys (as KeyboardEvent.key, letters lower-case) this row binds. */
  binds: Readonly<Record<string, KeyAction>>;
}

const VIEW_ROWS: readonly ViewRow[] = [
  { label: '← / →', what: 'previous / next image', binds: { ArrowLeft: 'previous', ArrowRight: 'next' } },
  { label: 'o', what: 'explanation overlay on/off', binds: { o: 'overlay' } },
  { label: '[ / ]', what: 'overlay opacity −/+', binds: { '[': 'opacityDown', ']': 'opacityUp' } },
  { label: 'b', what: 'ground-truth boxes on/off', binds: { b: 'boxes' } },
  { label: 'c', what: 'compare grid', binds: { c: 'compare' } },
  { label: 'f', what: 'fit the image', binds: { f: 'fit' } },
  { label: 'a', what: 'annotation mode on/off', binds: { a: 'annotate' } },
];

const MAP: Readonly<Record<string, KeyAction>> = Object.assign({}, ...VIEW_ROWS.map((r) => r.binds));

/** The action for a key press, or null (modifier chords belong to the browser: Ctrl+C must still copy). */
export function keyAction(e: KeyInput): KeyAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  return MAP[k] ?? null;
}

/** One step of `[` / `]`: 10 percentage points, kept within [0, 1] and free of float drift. */
export function stepOpacity(current: number, direction: 1 | -1): number {
  const next = Math.round((current + direction * 0.1) * 10) / 10;
  return Math.min(1, Math.max(0, next));
}

export const SHORTCUTS: readonly [string, string][] = [
  ...VIEW_ROWS.map((r): [string, string] => [r.label, r.what]),
  ['Esc', 'leave a field'],
];

/** Keys every screen honours (the help itself). */
export const GLOBAL_SHORTCUTS: readonly [string, string][] = [
  ['?', 'this list of keys on/off'],
  ['Esc', 'close it; in a text field, leave the field'],
];

export interface KeySection {
  title: string;
  rows: readonly (readonly [string, string])[];
}

/** Everything the `?` overlay lists, screen by screen. */
export const KEYMAPS: readonly KeySection[] = [
  { title: 'Everywhere', rows: GLOBAL_SHORTCUTS },
  { title: 'Image view', rows: SHORTCUTS },
  { title: 'Image view: annotation mode', rows: ANNOTATE_SHORTCUTS },
  { title: 'Review (rating)', rows: REVIEW_SHORTCUTS },
];

/**
 * What a key does to the help overlay. `?` (Shift+/ on most layouts, so Shift is allowed) toggles it, Esc closes
 * an open one; neither is taken while typing in a field, where `?` is a character.
 */
export function helpKey(e: KeyInput, open: boolean, inField: boolean): 'toggle' | 'close' | null {
  if (inField || e.ctrlKey || e.metaKey || e.altKey) return null;
  if (e.key === '?') return 'toggle';
  if (open && e.key === 'Escape') return 'close';
  return null;
}

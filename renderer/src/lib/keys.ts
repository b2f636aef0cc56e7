/** The image view's keyboard map (the shortcuts medical viewers taught users to expect). */
export type KeyAction =
  | 'next'
  | 'previous'
  | 'overlay'
  | 'opacityDown'
  | 'opacityUp'
  | 'boxes'
  | 'compare'
  | 'fit';

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

const MAP: Record<string, KeyAction> = {
  ArrowRight: 'next',
  ArrowLeft: 'previous',
  o: 'overlay',
  '[': 'opacityDown',
  ']': 'opacityUp',
  b: 'boxes',
  c: 'compare',
  f: 'fit',
};

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
  ['← / →', 'previous / next image'],
  ['o', 'explanation overlay on/off'],
  ['[ / ]', 'overlay opacity −/+'],
  ['b', 'ground-truth boxes on/off'],
  ['c', 'compare grid'],
  ['f', 'fit the image'],
  ['Esc', 'leave a field'],
];

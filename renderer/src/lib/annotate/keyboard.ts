/**
 * Drawing and resizing boxes without a mouse: a crosshair on pixel edges that arrows move, two Enters for two
 * corners (the flow CVAT's "N" and LabelImg's "W" start with the pointer, here with keys), Alt+arrows for the
 * right/bottom edges of the selected box and Tab through one's boxes. Pure functions over plain values; the
 * session holds the state and the layer draws it.
 */
import { type Box, boxFromDrag, type Size } from './geometry.js';

export interface Cursor {
  x: number;
  y: number;
}

/** A box being drawn from the keyboard: the crosshair, and the first corner once Enter has fixed it. */
export interface KeyboardDraft {
  cursor: Cursor;
  anchor: Cursor | null;
}

const ARROWS: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

/** Shift multiplies every keyboard step: 1 px for precision, 10 px to cross the image quickly. */
export const BIG_STEP = 10;

function step(key: string, shift: boolean): [number, number] | null {
  const v = ARROWS[key];
  if (!v) return null;
  const n = shift ? BIG_STEP : 1;
  return [v[0] * n, v[1] * n];
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * A new keyboard draft. The crosshair starts where the last one was left on this image (boxes of one image tend
 * to be near each other), else at the image centre, on a whole pixel edge.
 */
export function startDraft(img: Size, last: Cursor | null = null): KeyboardDraft {
  const at = last ?? { x: Math.round(img.width / 2), y: Math.round(img.height / 2) };
  return { cursor: { x: clamp(at.x, 0, img.width), y: clamp(at.y, 0, img.height) }, anchor: null };
}

/** An arrow moves the crosshair (the first corner, then the second) and stops at the image border. */
export function moveCursor(d: KeyboardDraft, key: string, shift: boolean, img: Size): KeyboardDraft {
  const s = step(key, shift);
  if (!s) return d;
  return {
    ...d,
    cursor: { x: clamp(d.cursor.x + s[0], 0, img.width), y: clamp(d.cursor.y + s[1], 0, img.height) },
  };
}

/**
 * Enter: the first press fixes the first corner, the second returns the box between the corners. A second
 * corner on the first one's row or column spans no pixel, so the draft stays open rather than make an empty box.
 */
export function confirmCorner(d: KeyboardDraft, img: Size): { draft: KeyboardDraft } | { box: Box } {
  if (!d.anchor) return { draft: { ...d, anchor: { ...d.cursor } } };
  const box = boxFromDrag(d.anchor, d.cursor, img);
  return box ? { box } : { draft: d };
}

/** The rectangle to preview: between the corners, or null before the first one is fixed. */
export function draftBox(d: KeyboardDraft): Box | null {
  if (!d.anchor) return null;
  return {
    x0: Math.min(d.anchor.x, d.cursor.x),
    y0: Math.min(d.anchor.y, d.cursor.y),
    x1: Math.max(d.anchor.x, d.cursor.x),
    y1: Math.max(d.anchor.y, d.cursor.y),
  };
}

/**
 * Alt+arrow: the right edge follows ← / →, the bottom edge ↑ / ↓ (1 px, Shift 10 px). With the arrows, which
 * move the whole box, every box is reachable from every other; the box keeps at least one pixel and stays inside
 * the image.
 */
export function resizeEdge(b: Box, key: string, shift: boolean, img: Size): Box {
  const s = step(key, shift);
  if (!s) return b;
  return {
    ...b,
    x1: clamp(b.x1 + s[0], b.x0 + 1, img.width),
    y1: clamp(b.y1 + s[1], b.y0 + 1, img.height),
  };
}

/** Tab / Shift+Tab: the next or previous ref after `current`, wrapping; the first (or last) when none is chosen. */
export function cycleRef<K>(refs: readonly K[], current: K | null, direction: 1 | -1): K | null {
  if (refs.length === 0) return null;
  const i = current === null ? -1 : refs.indexOf(current);
  if (i < 0) return direction === 1 ? refs[0] : refs[refs.length - 1];
  return refs[(i + direction + refs.length) % refs.length];
}

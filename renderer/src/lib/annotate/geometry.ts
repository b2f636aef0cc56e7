/**
 * Box editing maths in image coordinates (pixel edges, half-open: src/data/types.ts). Pure functions: the
 * component converts pointer positions with viewport.ts and calls these. Edited boxes always land on whole pixel
 * edges, stay inside the image and keep at least one pixel, so what is drawn is exactly what is stored.
 */
import type { Point } from '../viewport.js';

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Size {
  width: number;
  height: number;
}

/** The eight resize handles, named by compass direction; `body` is a hit inside the box (move). */
export type Handle = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';
export const HANDLES: readonly Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];
export type Part = Handle | 'body';

/** Where each handle sits on the box outline. */
export function handlePoint(b: Box, h: Handle): Point {
  const mx = (b.x0 + b.x1) / 2;
  const my = (b.y0 + b.y1) / 2;
  const x = h.includes('w') ? b.x0 : h.includes('e') ? b.x1 : mx;
  const y = h.startsWith('n') ? b.y0 : h.startsWith('s') ? b.y1 : my;
  return { x, y };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** One axis of a box from two edge positions in any order: whole pixels, inside [0, n], at least one pixel. */
function span(a: number, b: number, n: number): [number, number] {
  let lo = clamp(Math.round(Math.min(a, b)), 0, n);
  let hi = clamp(Math.round(Math.max(a, b)), 0, n);
  if (hi === lo) {
    if (hi < n) hi += 1;
    else lo -= 1;
  }
  return [lo, hi];
}

/** The box a drag from `a` to `b` draws, or null when it covers less than one pixel in either direction. */
export function boxFromDrag(a: Point, b: Point, img: Size): Box | null {
  const x0 = clamp(Math.round(Math.min(a.x, b.x)), 0, img.width);
  const x1 = clamp(Math.round(Math.max(a.x, b.x)), 0, img.width);
  const y0 = clamp(Math.round(Math.min(a.y, b.y)), 0, img.height);
  const y1 = clamp(Math.round(Math.max(a.y, b.y)), 0, img.height);
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : null;
}

/**
 * The box after dragging handle `h` of `start` to `p`. Computed from the box at the start of the drag (not
 * incrementally), so rounding never accumulates; dragging an edge past the opposite one flips the box.
 */
export function resizeBox(start: Box, h: Handle, p: Point, img: Size): Box {
  const ax = h.includes('w') ? p.x : start.x0;
  const bx = h.includes('e') ? p.x : start.x1;
  const ay = h.startsWith('n') ? p.y : start.y0;
  const by = h.startsWith('s') ? p.y : start.y1;
  const [x0, x1] = span(ax, bx, img.width);
  const [y0, y1] = span(ay, by, img.height);
  return { x0, y0, x1, y1 };
}

/** Translates by whole pixels, stopping at the image border with the size kept. */
export function moveBox(b: Box, dx: number, dy: number, img: Size): Box {
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  const x0 = clamp(Math.round(b.x0 + dx), 0, Math.max(0, img.width - w));
  const y0 = clamp(Math.round(b.y0 + dy), 0, Math.max(0, img.height - h));
  return { x0, y0, x1: x0 + w, y1: y0 + h };
}

/** Arrow-key nudge: 1 px, or 10 px with Shift. */
export function nudgeBox(b: Box, key: string, shift: boolean, img: Size): Box | null {
  const step = shift ? 10 : 1;
  const d: Record<string, [number, number]> = {
    ArrowLeft: [-step, 0],
    ArrowRight: [step, 0],
    ArrowUp: [0, -step],
    ArrowDown: [0, step],
  };
  const v = d[key];
  return v ? moveBox(b, v[0], v[1], img) : null;
}

export interface Hit<K> {
  key: K;
  part: Part;
}

/**
 * What is under point `p` (image coordinates). Handles of the selected box win (they sit on its outline, where a
 * neighbour may overlap), then the smallest box containing the point, so a box nested in another stays reachable.
 * `tolerance` is in image pixels (the component passes its screen tolerance divided by the zoom).
 */
export function hitTest<K>(
  boxes: readonly { key: K; box: Box }[],
  p: Point,
  tolerance: number,
  selected: K | null = null,
): Hit<K> | null {
  const sel = boxes.find((b) => b.key === selected);
  if (sel) {
    let best: { h: Handle; d: number } | null = null;
    for (const h of HANDLES) {
      const q = handlePoint(sel.box, h);
      const d = Math.max(Math.abs(q.x - p.x), Math.abs(q.y - p.y));
      if (d <= tolerance && (!best || d < best.d)) best = { h, d };
    }
    if (best) return { key: sel.key, part: best.h };
  }
  let inside: { key: K; area: number } | null = null;
  for (const { key, box } of boxes) {
    if (p.x >= box.x0 && p.x < box.x1 && p.y >= box.y0 && p.y < box.y1) {
      const area = (box.x1 - box.x0) * (box.y1 - box.y0);
      if (!inside || area < inside.area) inside = { key, area };
    }
  }
  return inside ? { key: inside.key, part: 'body' } : null;
}

/** The CSS cursor for a part under the pointer. */
export function cursorFor(part: Part | null): string {
  if (part === null) return 'crosshair';
  if (part === 'body') return 'move';
  return `${part}-resize`;
}

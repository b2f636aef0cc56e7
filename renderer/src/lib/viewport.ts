/**
 * Zoom and pan of an image inside a viewport: screen = t + scale · image, in CSS pixels relative to the
 * viewport's top-left corner. Image coordinates are pixel edges (see src/data/types.ts), so a box's x0 maps to
 * the screen edge of its first pixel column.
 */
export interface View {
  scale: number;
  tx: number;
  ty: number;
}

export interface Point {
  x: number;
  y: number;
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 64;

export function clampScale(s: number, min = MIN_SCALE, max = MAX_SCALE): number {
  if (!Number.isFinite(s) || s <= 0) return 1;
  return Math.min(max, Math.max(min, s));
}

export function imageToScreen(v: View, p: Point): Point {
  return { x: v.tx + v.scale * p.x, y: v.ty + v.scale * p.y };
}

export function screenToImage(v: View, p: Point): Point {
  return { x: (p.x - v.tx) / v.scale, y: (p.y - v.ty) / v.scale };
}

/** Zooms by `factor` around a screen point: the image point under it stays under it. */
export function zoomAt(v: View, at: Point, factor: number): View {
  const scale = clampScale(v.scale * factor);
  const k = scale / v.scale;
  return { scale, tx: at.x - k * (at.x - v.tx), ty: at.y - k * (at.y - v.ty) };
}

export function panBy(v: View, dx: number, dy: number): View {
  return { scale: v.scale, tx: v.tx + dx, ty: v.ty + dy };
}

/** The whole image, centred, as large as fits with `margin` pixels around it. */
export function fitView(imageW: number, imageH: number, viewW: number, viewH: number, margin = 8): View {
  if (imageW <= 0 || imageH <= 0 || viewW <= 0 || viewH <= 0) return { scale: 1, tx: 0, ty: 0 };
  const availW = Math.max(1, viewW - 2 * margin);
  const availH = Math.max(1, viewH - 2 * margin);
  const scale = clampScale(Math.min(availW / imageW, availH / imageH));
  return { scale, tx: (viewW - scale * imageW) / 2, ty: (viewH - scale * imageH) / 2 };
}

/** The wheel's zoom factor: smooth for trackpads (small deltas), one notch ≈ 1.2× for mice. */
export function wheelFactor(deltaY: number, deltaMode = 0): number {
  const px = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp(-Math.max(-300, Math.min(300, px)) * 0.0018);
}

/** The CSS transform that puts image coordinates onto the screen (transform-origin must be 0 0). */
export function cssTransform(v: View): string {
  return `translate(${v.tx}px, ${v.ty}px) scale(${v.scale})`;
}

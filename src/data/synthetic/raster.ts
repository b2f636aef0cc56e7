/**
 * Anti-aliased rasterisation of one shape, in pure TypeScript (deterministic, no canvas).
 *
 * Coverage model: for every pixel we take the signed distance from the pixel centre to the drawn shape's
 * boundary and integrate a one-pixel box filter across it along the boundary normal. That is exact for a
 * straight edge or stroke parallel to a pixel axis and a close approximation elsewhere, it keeps the ink of a
 * stroke equal to its width at any sub-pixel position (so thin lines neither vanish nor fatten), and it costs
 * one distance evaluation per pixel, only inside the shape's bounding box.
 *
 * A stroke of width w is the set of points within w/2 of the outline (round joins and caps); a filled shape is
 * its interior. "Inside" (used for the segmentation mask) means the pixel centre lies in that set.
 */
import { fillContour, geometryBounds, outlineSegments, type PlacedShape } from './shapes.js';

export interface DrawStyle {
  /** Stroke width in pixels (outline shapes only). */
  lineWidth: number;
  fill: boolean;
}

/** One shape's raster over its bounding box; the box may extend past the image (clip when compositing). */
export interface ShapeRaster {
  /** Top-left pixel of the region (integer; may be negative). */
  x0: number;
  y0: number;
  w: number;
  h: number;
  /** Coverage quantised to 0..255, row-major, w*h. Quantising here makes "touched" mean "changes a pixel". */
  alpha: Uint8Array;
  /** 1 where the pixel centre lies inside the drawn shape (stroke or filled area). */
  inside: Uint8Array;
}

/** Overlap of the unit interval centred on d with the band [-hw, hw]: a stroke's coverage. */
function bandCoverage(d: number, hw: number): number {
  const hi = Math.min(d + 0.5, hw);
  const lo = Math.max(d - 0.5, -hw);
  return hi > lo ? hi - lo : 0;
}

/** Coverage of a half-plane whose edge is at signed distance s (negative inside) from the pixel centre. */
function edgeCoverage(s: number): number {
  return s <= -0.5 ? 1 : s >= 0.5 ? 0 : 0.5 - s;
}

function segmentDistance(px: number, py: number, seg: Float64Array): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < seg.length; i += 4) {
    const ax = seg[i];
    const ay = seg[i + 1];
    const dx = seg[i + 2] - ax;
    const dy = seg[i + 3] - ay;
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = Math.min(1, Math.max(0, t));
    const ex = px - (ax + t * dx);
    const ey = py - (ay + t * dy);
    const d2 = ex * ex + ey * ey;
    if (d2 < best) best = d2;
  }
  return Math.sqrt(best);
}

/** Even-odd crossing test against a closed simple contour given as segments. */
function insideContour(px: number, py: number, seg: Float64Array): boolean {
  let inside = false;
  for (let i = 0; i < seg.length; i += 4) {
    const ax = seg[i];
    const ay = seg[i + 1];
    const bx = seg[i + 2];
    const by = seg[i + 3];
    if (ay > py !== by > py && px < ax + ((py - ay) * (bx - ax)) / (by - ay)) inside = !inside;
  }
  return inside;
}

export function validateStyle(style: DrawStyle): void {
  if (!(style.lineWidth > 0) || !Number.isFinite(style.lineWidth)) {
    throw new Error(`lineWidth must be a positive number of pixels, got ${style.lineWidth}`);
  }
}

/** How far past the geometry a shape can touch pixels: half the stroke plus the filter's half-width. */
export function drawMargin(style: DrawStyle): number {
  return (style.fill ? 0 : style.lineWidth / 2) + 0.5;
}

export function rasteriseShape(ps: PlacedShape, style: DrawStyle): ShapeRaster {
  validateStyle(style);
  const b = geometryBounds(ps);
  const m = drawMargin(style);
  // Pixel j's centre is j + 0.5; it can be touched when the centre is within m of the geometry's bounds.
  const x0 = Math.floor(b.minX - m - 0.5) + 1;
  const y0 = Math.floor(b.minY - m - 0.5) + 1;
  const x1 = Math.ceil(b.maxX + m - 0.5);
  const y1 = Math.ceil(b.maxY + m - 0.5);
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const alpha = new Uint8Array(w * h);
  const inside = new Uint8Array(w * h);
  const hw = style.lineWidth / 2;

  // Distance from a pixel centre to the outline (strokes) or signed distance to the boundary, negative
  // inside (fills); the evaluator is chosen once per shape so the inner loop does not branch on the kind.
  let distance: (px: number, py: number) => number;
  if (ps.shape.kind === 'circle') {
    const { cx, cy, r } = ps;
    distance = style.fill
      ? (px, py) => Math.hypot(px - cx, py - cy) - r
      : (px, py) => Math.abs(Math.hypot(px - cx, py - cy) - r);
  } else if (style.fill) {
    const contour = fillContour(ps);
    distance = (px, py) => {
      const d = segmentDistance(px, py, contour);
      return insideContour(px, py, contour) ? -d : d;
    };
  } else {
    const seg = outlineSegments(ps);
    distance = (px, py) => segmentDistance(px, py, seg);
  }
  // The mask comes from the distance, not from the coverage: for strokes thinner than a pixel the coverage
  // is flat near the line and cannot tell whether the centre is inside. A centre on the boundary is inside.
  const limit = style.fill ? 0 : hw;

  for (let y = 0; y < h; y++) {
    const py = y0 + y + 0.5;
    for (let x = 0; x < w; x++) {
      const d = distance(x0 + x + 0.5, py);
      const c = style.fill ? edgeCoverage(d) : bandCoverage(d, hw);
      if (c <= 0) continue;
      const i = y * w + x;
      alpha[i] = Math.round(c * 255);
      if (d <= limit) inside[i] = 1;
    }
  }
  return { x0, y0, w, h, alpha, inside };
}

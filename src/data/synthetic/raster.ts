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
  /**
   * (y, from, to) triples, rows ascending, columns [from, to) in the region: every pixel with alpha > 0 lies in
   * one (pixels in a run may still be 0), so consumers need not visit the rest of the box.
   */
  runs: Int32Array;
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

/**
 * Margin (px) added to the distance within which pixels are evaluated: far above the rounding error of the run
 * bounds (~1e-12 px at the largest image side allowed, 8192 px), far below a pixel.
 */
const RUN_SLACK = 1e-3;

/**
 * Appends the column range whose pixel centres x0 + x + 0.5 lie in [lo, hi] to `ranges` as [from, to).
 */
function pushColumns(ranges: number[], lo: number, hi: number, x0: number): void {
  ranges.push(Math.ceil(lo - x0 - 0.5), Math.floor(hi - x0 - 0.5) + 1);
}

/**
 * Sorts the [from, to) pairs of one row, clips them to [0, w), merges overlapping ones and appends them to
 * `runs` as (y, from, to) triples. Rows hold a handful of ranges, so an insertion sort in place is enough.
 */
function flushRow(ranges: number[], w: number, y: number, runs: number[]): void {
  for (let i = 2; i < ranges.length; i += 2) {
    const a = ranges[i];
    const b = ranges[i + 1];
    let j = i - 2;
    for (; j >= 0 && ranges[j] > a; j -= 2) {
      ranges[j + 2] = ranges[j];
      ranges[j + 3] = ranges[j + 1];
    }
    ranges[j + 2] = a;
    ranges[j + 3] = b;
  }
  let open = -1;
  for (let i = 0; i < ranges.length; i += 2) {
    const a = Math.max(0, ranges[i]);
    const b = Math.min(w, ranges[i + 1]);
    if (b <= a) continue;
    if (open >= 0 && a <= runs[open + 2]) runs[open + 2] = Math.max(runs[open + 2], b);
    else {
      open = runs.length;
      runs.push(y, a, b);
    }
  }
  ranges.length = 0;
}

/**
 * The pixels whose centre may lie within `pad` of a circle's outline: per row, the annulus r +- pad cut by the
 * row (two chords, or one where the row misses the inner circle).
 */
function circleRuns(
  cx: number,
  cy: number,
  r: number,
  pad: number,
  x0: number,
  y0: number,
  w: number,
  h: number,
): number[] {
  const runs: number[] = [];
  const ranges: number[] = [];
  const ro = r + pad;
  const ri = r - pad;
  for (let y = 0; y < h; y++) {
    const dy = y0 + y + 0.5 - cy;
    const outer = Math.sqrt(Math.max(0, ro * ro - dy * dy));
    if (ri <= 0 || ri * ri <= dy * dy) pushColumns(ranges, cx - outer, cx + outer, x0);
    else {
      const inner = Math.sqrt(ri * ri - dy * dy);
      pushColumns(ranges, cx - outer, cx - inner, x0);
      pushColumns(ranges, cx + inner, cx + outer, x0);
    }
    flushRow(ranges, w, y, runs);
  }
  return runs;
}

/**
 * The pixels whose centre may lie within `pad` of one of the segments: a point within pad of segment AB has its
 * nearest point on AB within pad in y and in x, so per row it lies within pad (in x) of the part of AB inside
 * the slab |y - py| <= pad.
 */
function segmentRuns(seg: Float64Array, pad: number, x0: number, y0: number, w: number, h: number): number[] {
  const runs: number[] = [];
  const ranges: number[] = [];
  for (let y = 0; y < h; y++) {
    const py = y0 + y + 0.5;
    for (let i = 0; i < seg.length; i += 4) {
      const ax = seg[i];
      const ay = seg[i + 1];
      const bx = seg[i + 2];
      const by = seg[i + 3];
      if (ay === by) {
        if (Math.abs(ay - py) <= pad) pushColumns(ranges, Math.min(ax, bx) - pad, Math.max(ax, bx) + pad, x0);
        continue;
      }
      // Parameters where AB enters and leaves the slab, clamped to the segment.
      const t1 = (py - pad - ay) / (by - ay);
      const t2 = (py + pad - ay) / (by - ay);
      const ta = Math.max(0, Math.min(t1, t2));
      const tb = Math.min(1, Math.max(t1, t2));
      if (ta > tb) continue;
      const xa = ax + ta * (bx - ax);
      const xb = ax + tb * (bx - ax);
      pushColumns(ranges, Math.min(xa, xb) - pad, Math.max(xa, xb) + pad, x0);
    }
    flushRow(ranges, w, y, runs);
  }
  return runs;
}

/**
 * Marks the pixels of row y, outside the row's edge runs [k0, k1) of `runs`, that lie inside a filled shape
 * (and so are fully covered: they are further than the filter's half-width from the boundary). The inside test
 * is the per-pixel path's: hypot for circles, the even-odd crossings of `insideContour` (same expressions) for
 * polygons. Returns the first and last marked column (or [w, -1]).
 */
function fillInterior(
  ps: PlacedShape,
  contour: Float64Array | null,
  y: number,
  py: number,
  x0: number,
  w: number,
  runs: readonly number[],
  k0: number,
  k1: number,
  alpha: Uint8Array,
  inside: Uint8Array,
  crossings: number[],
): [number, number] {
  crossings.length = 0;
  if (contour) {
    for (let i = 0; i < contour.length; i += 4) {
      const ax = contour[i];
      const ay = contour[i + 1];
      const bx = contour[i + 2];
      const by = contour[i + 3];
      if (ay > py !== by > py) crossings.push(ax + ((py - ay) * (bx - ax)) / (by - ay));
    }
    if (crossings.length === 0) return [w, -1];
  }
  let first = w;
  let last = -1;
  let k = k0;
  for (let x = 0; x < w; x++) {
    if (k < k1 && x >= runs[k + 1]) {
      x = runs[k + 2] - 1;
      k += 3;
      continue;
    }
    const px = x0 + x + 0.5;
    let isInside = false;
    if (contour) {
      for (let c = 0; c < crossings.length; c++) if (px < crossings[c]) isInside = !isInside;
    } else {
      isInside = Math.hypot(px - ps.cx, py - ps.cy) - ps.r <= 0;
    }
    if (!isInside) continue;
    alpha[y * w + x] = 255;
    inside[y * w + x] = 1;
    if (x < first) first = x;
    last = x;
  }
  return [first, last];
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
  // Beyond `reach` from the outline a pixel centre gets no ink (strokes) or full ink (fill interiors), so the
  // distance is only evaluated in the runs of pixels within `reach` (RUN_SLACK included) of the outline, and
  // the result equals a per-pixel evaluation of the whole box.
  const reach = (style.fill ? 0.5 : hw + 0.5) + RUN_SLACK;
  const edge =
    ps.shape.kind === 'circle'
      ? circleRuns(ps.cx, ps.cy, ps.r, reach, x0, y0, w, h)
      : segmentRuns(style.fill ? fillContour(ps) : outlineSegments(ps), reach, x0, y0, w, h);
  for (let k = 0; k < edge.length; k += 3) {
    const y = edge[k];
    const py = y0 + y + 0.5;
    for (let x = edge[k + 1]; x < edge[k + 2]; x++) {
      const d = distance(x0 + x + 0.5, py);
      const c = style.fill ? edgeCoverage(d) : bandCoverage(d, hw);
      if (c <= 0) continue;
      const i = y * w + x;
      alpha[i] = Math.round(c * 255);
      if (d <= limit) inside[i] = 1;
    }
  }
  if (!style.fill) return { x0, y0, w, h, alpha, inside, runs: Int32Array.from(edge) };

  // Fills: the interior between the edge runs, and one run per row over everything the row holds.
  const contour = ps.shape.kind === 'polygon' ? fillContour(ps) : null;
  const crossings: number[] = [];
  const runs: number[] = [];
  let k = 0;
  for (let y = 0; y < h; y++) {
    const k0 = k;
    while (k < edge.length && edge[k] === y) k += 3;
    let [from, last] = fillInterior(
      ps,
      contour,
      y,
      y0 + y + 0.5,
      x0,
      w,
      edge,
      k0,
      k,
      alpha,
      inside,
      crossings,
    );
    if (k > k0) {
      from = Math.min(from, edge[k0 + 1]);
      last = Math.max(last, edge[k - 1] - 1);
    }
    if (last >= from) runs.push(y, from, last + 1);
  }
  return { x0, y0, w, h, alpha, inside, runs: Int32Array.from(runs) };
}

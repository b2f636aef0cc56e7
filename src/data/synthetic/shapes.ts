/**
 * The shape catalogue and the geometry of regular polygons {p/q}.
 *
 * {p/q}: p vertices evenly spaced on a circle of radius r, vertex i joined to vertex (i + q) mod p. q = 1 is the
 * convex polygon, q > 1 a star ({5/2} the pentagram; when p and q share a factor, a compound such as {6/2}, the
 * hexagram). Like the reference generator we require 1 <= q < p/2: q and p - q draw the same figure, and q = p/2
 * degenerates into diameters.
 */

export type Shape =
  | { kind: 'circle'; name: string; spec: string }
  | { kind: 'polygon'; name: string; spec: string; p: number; q: number };

/** Named shapes and their {p/q} symbols; the keys are the class names written to VOC files. */
export const NAMED_SHAPES: Readonly<Record<string, string>> = {
  triangle: '3/1',
  square: '4/1',
  pentagon: '5/1',
  hexagon: '6/1',
  heptagon: '7/1',
  octagon: '8/1',
  star: '5/2',
  hexagram: '6/2',
  circle: 'circle',
};

/** Enough vertices to be told apart from a circle at the sizes we draw; also bounds the per-pixel work. */
export const MAX_VERTICES = 64;

/**
 * Parses a shape spec: a catalogue name ('triangle', 'star', 'circle', ...) or a symbol 'p/q' / '{p/q}'.
 * A symbol that matches a named shape takes its name ('5/2' is 'star'); other symbols are named 'polygon7'
 * (q = 1) or 'star7_3', names that are safe in VOC class files (`<class>_train.txt`).
 * `what` names the option in error messages.
 */
export function parseShape(spec: string, what: string): Shape {
  if (typeof spec !== 'string')
    throw new Error(`${what}: expected a shape name or "p/q", got ${String(spec)}`);
  const s = spec.trim().toLowerCase();
  const named = NAMED_SHAPES[s];
  if (named === 'circle') return { kind: 'circle', name: 'circle', spec: 'circle' };
  const symbol = named ?? s.replace(/^\{(.*)\}$/, '$1');
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(symbol);
  if (!m) {
    throw new Error(
      `${what}: unknown shape "${spec}"; use one of ${Object.keys(NAMED_SHAPES).join(', ')} or a symbol "p/q" such as "7/3"`,
    );
  }
  const p = Number(m[1]);
  const q = Number(m[2]);
  if (p < 3 || p > MAX_VERTICES)
    throw new Error(`${what}: "${spec}" needs 3 <= p <= ${MAX_VERTICES} vertices`);
  if (q < 1 || 2 * q >= p) {
    throw new Error(
      `${what}: "${spec}" needs 1 <= q < p/2 (q and p-q draw the same figure; q = p/2 is degenerate)`,
    );
  }
  const canonical = `${p}/${q}`;
  const name =
    Object.keys(NAMED_SHAPES).find((k) => NAMED_SHAPES[k] === canonical) ??
    (q === 1 ? `polygon${p}` : `star${p}_${q}`);
  return { kind: 'polygon', name, spec: canonical, p, q };
}

/**
 * Distance from the centre to the nearest edge, as a fraction of the circumradius: the radius of the largest
 * concentric circle that stays inside the filled shape (used to nest a target inside a container).
 * Every edge i -> i+q is a chord subtending 2*pi*q/p, at distance r*cos(pi*q/p) from the centre.
 */
export function inradiusFactor(shape: Shape): number {
  return shape.kind === 'circle' ? 1 : Math.cos((Math.PI * shape.q) / shape.p);
}

/** A shape placed in an image: centre and circumradius in pixel-edge coordinates (see src/data/types.ts). */
export interface PlacedShape {
  shape: Shape;
  cx: number;
  cy: number;
  r: number;
  /** Rotation in radians; 0 puts a vertex straight up (so an unrotated triangle points up). */
  angle: number;
}

/** Flat [x0, y0, x1, y1, ...] list of segments. */
export type Segments = Float64Array;

function vertexAngle(ps: PlacedShape, i: number, p: number): number {
  return ps.angle - Math.PI / 2 + (2 * Math.PI * i) / p;
}

/** The p edges i -> (i + q) mod p of a polygon's outline (crossing edges for stars). */
export function outlineSegments(ps: PlacedShape): Segments {
  if (ps.shape.kind !== 'polygon') throw new Error('outlineSegments: circles have no segments');
  const { p, q } = ps.shape;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < p; i++) {
    const a = vertexAngle(ps, i, p);
    xs.push(ps.cx + ps.r * Math.cos(a));
    ys.push(ps.cy + ps.r * Math.sin(a));
  }
  const out = new Float64Array(4 * p);
  for (let i = 0; i < p; i++) {
    const j = (i + q) % p;
    out.set([xs[i], ys[i], xs[j], ys[j]], 4 * i);
  }
  return out;
}

/**
 * The boundary of the filled {p/q} as a simple 2p-gon: outer vertices at radius r alternating with the points
 * where neighbouring edges cross, at r*cos(pi*q/p)/cos(pi*(q-1)/p) (for q = 1 these are the edge midpoints).
 * Filling this contour fills a star's centre too, which is how a filled star is normally drawn.
 */
export function fillContour(ps: PlacedShape): Segments {
  if (ps.shape.kind !== 'polygon') throw new Error('fillContour: circles have no contour');
  const { p, q } = ps.shape;
  const rIn = (ps.r * Math.cos((Math.PI * q) / p)) / Math.cos((Math.PI * (q - 1)) / p);
  const n = 2 * p;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = vertexAngle(ps, k / 2, p);
    const rad = k % 2 === 0 ? ps.r : rIn;
    xs.push(ps.cx + rad * Math.cos(a));
    ys.push(ps.cy + rad * Math.sin(a));
  }
  const out = new Float64Array(4 * n);
  for (let k = 0; k < n; k++) {
    const j = (k + 1) % n;
    out.set([xs[k], ys[k], xs[j], ys[j]], 4 * k);
  }
  return out;
}

/** Tight bounds of the geometry itself (before the stroke width and anti-aliasing are added). */
export function geometryBounds(ps: PlacedShape): { minX: number; minY: number; maxX: number; maxY: number } {
  if (ps.shape.kind === 'circle') {
    return { minX: ps.cx - ps.r, minY: ps.cy - ps.r, maxX: ps.cx + ps.r, maxY: ps.cy + ps.r };
  }
  const seg = outlineSegments(ps);
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < seg.length; i += 4) {
    minX = Math.min(minX, seg[i]);
    maxX = Math.max(maxX, seg[i]);
    minY = Math.min(minY, seg[i + 1]);
    maxY = Math.max(maxY, seg[i + 1]);
  }
  return { minX, minY, maxX, maxY };
}

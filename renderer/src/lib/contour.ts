/**
 * Iso-lines of a map by marching squares, in the map's pixel-edge coordinates (sample (i, j) sits at the pixel
 * centre (i + 0.5, j + 0.5)). The field is padded with a virtual ring below the level so that regions touching
 * the border close along the border instead of leaving open ends; crossings with that ring sit on the pixel edge.
 */

/** Line segments, four numbers each: x0, y0, x1, y1. */
export type Segments = number[];

export function marchingSquares(
  data: ArrayLike<number>,
  width: number,
  height: number,
  level: number,
): Segments {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new Error(`contour: bad map size ${width} × ${height}`);
  if (data.length !== width * height)
    throw new Error(`contour: map has ${data.length} values, expected ${width} × ${height}`);
  const out: Segments = [];
  // v(x, y) over the padded grid: x in -1..width, y in -1..height; undefined means the virtual ring.
  const v = (x: number, y: number): number | undefined =>
    x < 0 || y < 0 || x >= width || y >= height ? undefined : data[y * width + x];
  const inside = (val: number | undefined) => val !== undefined && val >= level;
  // The crossing between two neighbouring samples p and q (q = p + (dx, dy)), as a point.
  const cross = (x: number, y: number, dx: number, dy: number): [number, number] => {
    const a = v(x, y);
    const b = v(x + dx, y + dy);
    let t = 0.5;
    if (a !== undefined && b !== undefined && a !== b) t = Math.min(1, Math.max(0, (level - a) / (b - a)));
    return [x + 0.5 + t * dx, y + 0.5 + t * dy];
  };
  const seg = (p: [number, number], q: [number, number]) => out.push(p[0], p[1], q[0], q[1]);
  for (let y = -1; y < height; y++) {
    for (let x = -1; x < width; x++) {
      const a = v(x, y);
      const b = v(x + 1, y);
      const c = v(x + 1, y + 1);
      const d = v(x, y + 1);
      const code = (inside(a) ? 8 : 0) | (inside(b) ? 4 : 0) | (inside(c) ? 2 : 0) | (inside(d) ? 1 : 0);
      if (code === 0 || code === 15) continue;
      const top = () => cross(x, y, 1, 0);
      const right = () => cross(x + 1, y, 0, 1);
      const bottom = () => cross(x, y + 1, 1, 0);
      const left = () => cross(x, y, 0, 1);
      switch (code) {
        case 1:
        case 14:
          seg(left(), bottom());
          break;
        case 2:
        case 13:
          seg(bottom(), right());
          break;
        case 3:
        case 12:
          seg(left(), right());
          break;
        case 4:
        case 11:
          seg(top(), right());
          break;
        case 6:
        case 9:
          seg(top(), bottom());
          break;
        case 7:
        case 8:
          seg(left(), top());
          break;
        case 5:
        case 10: {
          // Saddle: the cell's mean decides whether the two inside corners are joined through the centre.
          const mean = ((a ?? level - 1) + (b ?? level - 1) + (c ?? level - 1) + (d ?? level - 1)) / 4;
          const joined = mean >= level;
          // code 5: b and d inside; code 10: a and c inside.
          if ((code === 5) === joined) {
            seg(left(), top());
            seg(bottom(), right());
          } else {
            seg(top(), right());
            seg(left(), bottom());
          }
          break;
        }
      }
    }
  }
  return out;
}

/** An SVG path for the segments, scaled from map to image coordinates (maps are often smaller than images). */
export function segmentsPath(segs: Segments, scaleX = 1, scaleY = scaleX): string {
  const parts: string[] = [];
  const f = (n: number) => String(Math.round(n * 100) / 100);
  for (let i = 0; i + 3 < segs.length; i += 4) {
    parts.push(
      `M${f(segs[i] * scaleX)} ${f(segs[i + 1] * scaleY)}L${f(segs[i + 2] * scaleX)} ${f(segs[i + 3] * scaleY)}`,
    );
  }
  return parts.join('');
}

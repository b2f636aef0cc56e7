/** Connected regions of a binary image (8-connectivity: diagonal neighbours join). */
import type { Box } from '../../data/types.js';

export interface Region {
  /** Pixels in the region. */
  size: number;
  /** Sum of `weights` over the region (0 when no weights were given). */
  mass: number;
  /** Its bounding box in pixel-edge coordinates (half-open). */
  box: Box;
  /** Row-major index of its first pixel in raster order. */
  first: number;
}

/**
 * Every 8-connected region of the pixels where `on` is non-zero, in raster order of their first pixel.
 * Iterative flood fill with an explicit stack, so a 224×224 all-on image cannot overflow the call stack.
 */
export function connectedRegions(
  on: ArrayLike<number>,
  width: number,
  height: number,
  weights?: ArrayLike<number>,
): Region[] {
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const regions: Region[] = [];
  for (let start = 0; start < width * height; start++) {
    if (on[start] === 0 || seen[start]) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    const region: Region = { size: 0, mass: 0, box: { x0: width, y0: height, x1: 0, y1: 0 }, first: start };
    while (top > 0) {
      const p = stack[--top];
      const px = p % width;
      const py = (p - px) / width;
      region.size++;
      if (weights) region.mass += weights[p];
      region.box.x0 = Math.min(region.box.x0, px);
      region.box.y0 = Math.min(region.box.y0, py);
      region.box.x1 = Math.max(region.box.x1, px + 1);
      region.box.y1 = Math.max(region.box.y1, py + 1);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (on[q] !== 0 && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    regions.push(region);
  }
  return regions;
}

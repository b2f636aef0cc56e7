/**
 * Windowing for the gallery: which rows of a fixed-cell grid are on screen for a scroll offset, so only those
 * are in the DOM (the gallery must stay smooth at 100,000 images).
 */
export interface GridLayout {
  count: number;
  columns: number;
  /** Cell pitch (cell + gap), in CSS pixels. */
  pitch: number;
  rows: number;
  totalHeight: number;
}

export function gridLayout(count: number, viewportWidth: number, cell: number, gap: number): GridLayout {
  if (cell <= 0) throw new Error(`gallery: cell size must be positive, got ${cell}`);
  const pitch = cell + gap;
  const columns = Math.max(1, Math.floor((Math.max(0, viewportWidth) + gap) / pitch));
  const n = Math.max(0, Math.floor(count));
  const rows = Math.ceil(n / columns);
  return { count: n, columns, pitch, rows, totalHeight: rows === 0 ? 0 : rows * pitch - gap };
}

export interface GridWindow {
  firstRow: number;
  /** Exclusive. */
  endRow: number;
  firstIndex: number;
  /** Exclusive. */
  endIndex: number;
}

/** The rows intersecting [scrollTop, scrollTop + viewportHeight), plus `overscan` rows either side. */
export function visibleWindow(
  g: GridLayout,
  scrollTop: number,
  viewportHeight: number,
  overscan = 2,
): GridWindow {
  if (g.rows === 0) return { firstRow: 0, endRow: 0, firstIndex: 0, endIndex: 0 };
  const top = Math.max(0, scrollTop);
  const firstVisible = Math.min(g.rows - 1, Math.floor(top / g.pitch));
  const endVisible = Math.min(g.rows, Math.ceil((top + Math.max(0, viewportHeight)) / g.pitch));
  const firstRow = Math.max(0, firstVisible - overscan);
  const endRow = Math.min(g.rows, Math.max(endVisible, firstVisible + 1) + overscan);
  return {
    firstRow,
    endRow,
    firstIndex: firstRow * g.columns,
    endIndex: Math.min(g.count, endRow * g.columns),
  };
}

/** The scroll offset that brings item `index` into view (unchanged if it already is). */
export function scrollToShow(
  g: GridLayout,
  index: number,
  scrollTop: number,
  viewportHeight: number,
): number {
  const row = Math.floor(index / g.columns);
  const top = row * g.pitch;
  const bottom = top + g.pitch;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

/**
 * The index a navigation key moves the gallery's selection to (null: not a grid key). Left/Right step one image,
 * Up/Down one row, PageUp/PageDown a screenful of rows, Home/End to the ends; always within [0, count).
 */
export function gridKeyTarget(
  key: string,
  index: number,
  columns: number,
  count: number,
  rowsPerPage: number,
): number | null {
  if (count <= 0) return null;
  const c = Math.max(1, columns);
  const page = Math.max(1, rowsPerPage) * c;
  let next: number;
  switch (key) {
    case 'ArrowRight':
      next = index + 1;
      break;
    case 'ArrowLeft':
      next = index - 1;
      break;
    case 'ArrowDown':
      next = index + c;
      break;
    case 'ArrowUp':
      next = index - c;
      break;
    case 'PageDown':
      next = index + page;
      break;
    case 'PageUp':
      next = index - page;
      break;
    case 'Home':
      next = 0;
      break;
    case 'End':
      next = count - 1;
      break;
    default:
      return null;
  }
  // Down from the last partial row lands on the last image rather than nowhere.
  return Math.min(count - 1, Math.max(0, next));
}

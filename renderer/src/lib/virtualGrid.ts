// Which tiles of a fixed-size grid are on screen: the results view renders only these rows (plus overscan),
// so thousands of hits cost as much as a screenful.

export interface GridMetrics {
  columns: number;
  rows: number;
  totalHeight: number;
}

export function gridMetrics(count: number, viewportWidth: number, tileWidth: number, rowHeight: number, gap: number): GridMetrics {
  const columns = Math.max(1, Math.floor((viewportWidth + gap) / (tileWidth + gap)));
  const rows = Math.ceil(count / columns);
  return { columns, rows, totalHeight: rows * rowHeight };
}

/** Item index range [start, end) to render for the current scroll position. */
export function visibleRange(count: number, columns: number, rowHeight: number, scrollTop: number, viewportHeight: number, overscanRows = 2): { start: number; end: number } {
  const firstRow = Math.max(0, Math.floor(scrollTop / rowHeight) - overscanRows);
  const lastRow = Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscanRows;
  return { start: Math.min(count, firstRow * columns), end: Math.min(count, lastRow * columns) };
}

/** The scrollTop that brings item `index` fully into view, or the current one when it already is. */
export function scrollToReveal(index: number, columns: number, rowHeight: number, scrollTop: number, viewportHeight: number): number {
  const top = Math.floor(index / columns) * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewportHeight) return top + rowHeight - viewportHeight;
  return scrollTop;
}

/** Arrow-key movement through a grid; stays put at the edges. */
export function stepSelection(index: number, key: string, columns: number, count: number): number {
  if (count === 0) return -1;
  if (index < 0) return 0;
  const next =
    key === 'ArrowRight' ? index + 1 :
    key === 'ArrowLeft' ? index - 1 :
    key === 'ArrowDown' ? index + columns :
    key === 'ArrowUp' ? index - columns :
    key === 'Home' ? 0 :
    key === 'End' ? count - 1 :
    index;
  return next < 0 || next >= count ? index : next;
}

// Which tiles of a fixed-size grid are on screen: the results view renders only these rows (plus overscan),
// so thousands of hits cost as much as a screenful.

export interface GridMetrics {
  columns: number;
  rows: number;
  totalHeight: number;
}

/**
 * A full-width band of `height` px after the first `after` items (the "likely matches" divider): the items after it
 * start a new row below it. `after` 0 with a height puts the band above every item; NO_BAND is a plain grid.
 */
export interface GridBand {
  after: number;
  height: number;
}

export const NO_BAND: GridBand = Object.freeze({ after: 0, height: 0 });

/** Rows above the band. */
const rowsAbove = (band: GridBand, columns: number) => Math.ceil(band.after / columns);

export function gridMetrics(count: number, viewportWidth: number, tileWidth: number, rowHeight: number, gap: number, band: GridBand = NO_BAND): GridMetrics {
  const columns = Math.max(1, Math.floor((viewportWidth + gap) / (tileWidth + gap)));
  const after = Math.min(band.after, count);
  const rows = Math.ceil(after / columns) + Math.ceil((count - after) / columns);
  return { columns, rows, totalHeight: rows * rowHeight + band.height };
}

/** Where item `index` sits: its row, its column and its top offset (the band's height included below the band). */
export function itemPosition(index: number, columns: number, rowHeight: number, band: GridBand = NO_BAND): { row: number; column: number; top: number } {
  const below = index >= band.after;
  const i = below ? index - band.after : index;
  const row = (below ? rowsAbove(band, columns) : 0) + Math.floor(i / columns);
  return { row, column: i % columns, top: row * rowHeight + (below ? band.height : 0) };
}

/** The band's top offset. */
export function bandTop(columns: number, rowHeight: number, band: GridBand): number {
  return rowsAbove(band, columns) * rowHeight;
}

/** Item index range [start, end) to render for the current scroll position. */
export function visibleRange(count: number, columns: number, rowHeight: number, scrollTop: number, viewportHeight: number, overscanRows = 2, band: GridBand = NO_BAND): { start: number; end: number } {
  const above = rowsAbove(band, columns);
  const top = above * rowHeight;
  // A scroll offset in rows, the band's height taken out.
  const rowAt = (y: number) => (y <= top ? y / rowHeight : above + Math.max(0, y - top - band.height) / rowHeight);
  const rowStart = (r: number) => (r < above ? r * columns : band.after + (r - above) * columns);
  const firstRow = Math.max(0, Math.floor(rowAt(scrollTop)) - overscanRows);
  const lastRow = Math.ceil(rowAt(scrollTop + viewportHeight)) + overscanRows;
  return { start: Math.min(count, rowStart(firstRow)), end: Math.min(count, rowStart(lastRow)) };
}

/** The scrollTop that brings item `index` fully into view, or the current one when it already is. */
export function scrollToReveal(index: number, columns: number, rowHeight: number, scrollTop: number, viewportHeight: number, band: GridBand = NO_BAND): number {
  const { top } = itemPosition(index, columns, rowHeight, band);
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

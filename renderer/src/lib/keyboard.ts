// Window-level shortcuts. Text fields keep their keys; the crop editor and the compare view stop the events
// they handle themselves. Results: arrows move, Enter opens compare, Esc closes it, 1..9 tag.
import { app } from '../state/app.svelte.ts';
import { stepSelection } from './virtualGrid.ts';

const NAV_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End']);

/** Columns of the results grid as last laid out; arrows need it to move by rows. */
export const gridLayout = { columns: 1 };

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function handleGlobalKey(event: KeyboardEvent) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) return;
  if (app.view !== 'search') return;

  if (/^[1-9]$/.test(event.key) && app.selectedHit) {
    event.preventDefault();
    void app.tagSelectedWithHotkey(Number(event.key));
    return;
  }
  if ((event.key === 'r' || event.key === 'x') && app.selectedHit) {
    event.preventDefault();
    const mark = app.activeCase?.items.find((i) => i.imageId === app.selectedHit!.imageId)?.relevant ?? null;
    const wanted = event.key === 'r';
    void app.setRelevance(app.selectedHit.imageId, mark === wanted ? null : wanted);
    return;
  }
  if (event.key === 'Escape' && app.compareOpen) {
    event.preventDefault();
    app.compareOpen = false;
    return;
  }
  if (event.key === 'Enter') {
    event.preventDefault();
    if (app.selectedHit && !app.compareOpen) app.openCompare();
    else if (!app.response && app.query) void app.search();
    return;
  }
  if (NAV_KEYS.has(event.key) && app.hits.length > 0) {
    event.preventDefault();
    // In compare, up/down have no meaning across a single image pair: left/right walk the ranking.
    const columns = app.compareOpen ? 1 : gridLayout.columns;
    app.select(stepSelection(app.selected, event.key, columns, app.hits.length));
  }
}

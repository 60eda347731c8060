// Zoom/pan shared by the compare view and the crop editor. Compare's two panes fit their focus region (the query
// crop, the matched box) to the pane, then apply the same user zoom and pan, so the two stay in register while the
// analyst inspects; the crop editor fits the whole photo and never zooms out past that fit (clampToFit).
import type { Box } from '../../../electron/shared/api.ts';

export interface ZoomState {
  zoom: number;
  panX: number;
  panY: number;
}

export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 40;

export const resetZoom = (): ZoomState => ({ zoom: 1, panX: 0, panY: 0 });

/** Zoom by `factor` keeping the content under (px, py) — pane coordinates relative to its centre — still. */
export function zoomAt(state: ZoomState, factor: number, px: number, py: number): ZoomState {
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, state.zoom * factor));
  const k = zoom / state.zoom;
  return { zoom, panX: px - (px - state.panX) * k, panY: py - (py - state.panY) * k };
}

/** CSS transform placing `focus` (content px) centred in a pane of the given size under the shared state. */
export function paneTransform(focus: Box, paneWidth: number, paneHeight: number, state: ZoomState, margin = 0.9): { scale: number; tx: number; ty: number } {
  const fit = Math.min(paneWidth / Math.max(1, focus.w), paneHeight / Math.max(1, focus.h)) * margin;
  const scale = fit * state.zoom;
  const cx = focus.x + focus.w / 2;
  const cy = focus.y + focus.h / 2;
  return { scale, tx: paneWidth / 2 + state.panX - cx * scale, ty: paneHeight / 2 + state.panY - cy * scale };
}

/**
 * A view of content that fills its pane at zoom 1 (the crop editor's photo): zoom stays within [1, maxZoom] and the
 * pan keeps the content covering the pane, so zooming out always returns to the whole photo and it cannot be lost.
 */
export function clampToFit(state: ZoomState, paneWidth: number, paneHeight: number, maxZoom: number): ZoomState {
  const zoom = Math.min(maxZoom, Math.max(1, state.zoom));
  const limX = (paneWidth * (zoom - 1)) / 2;
  const limY = (paneHeight * (zoom - 1)) / 2;
  const clamp = (v: number, lim: number) => Math.min(lim, Math.max(-lim, v));
  return { zoom, panX: clamp(state.panX, limX), panY: clamp(state.panY, limY) };
}


// Crop-box arithmetic in image pixel space (the space the API speaks); the editor converts pointer positions
// with toImagePoint and draws with the same scale. Pure functions so the rules are testable without a DOM.
import type { Box } from '../../../electron/shared/api.ts';

export interface Point {
  x: number;
  y: number;
}

export type Handle = 'n' | 's' | 'e' | 'w' | 'ne' | 'nw' | 'se' | 'sw';
export const HANDLES: readonly Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

/** Smallest crop worth sending, in image pixels. */
export const MIN_CROP = 8;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Pointer position (client px) → image px, given the displayed image's bounding rect and natural size. */
export function toImagePoint(client: Point, rect: DOMRectReadOnly | { left: number; top: number; width: number; height: number }, imageWidth: number, imageHeight: number): Point {
  const sx = imageWidth / rect.width;
  const sy = imageHeight / rect.height;
  return {
    x: clamp((client.x - rect.left) * sx, 0, imageWidth),
    y: clamp((client.y - rect.top) * sy, 0, imageHeight),
  };
}

/** The box spanned by two corners, whichever order they were dragged in. */
export function boxFromCorners(a: Point, b: Point): Box {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
}

/** Whole pixels, inside the image. */
export function roundBox(box: Box, imageWidth: number, imageHeight: number): Box {
  const x = clamp(Math.round(box.x), 0, imageWidth - 1);
  const y = clamp(Math.round(box.y), 0, imageHeight - 1);
  const w = clamp(Math.round(box.w), 1, imageWidth - x);
  const h = clamp(Math.round(box.h), 1, imageHeight - y);
  return { x, y, w, h };
}

/** Translates without changing size, stopping at the image edges. */
export function moveBox(box: Box, dx: number, dy: number, imageWidth: number, imageHeight: number): Box {
  return {
    x: clamp(box.x + dx, 0, Math.max(0, imageWidth - box.w)),
    y: clamp(box.y + dy, 0, Math.max(0, imageHeight - box.h)),
    w: box.w,
    h: box.h,
  };
}

/** Drags one edge or corner by (dx, dy); the opposite side stays put and the box never inverts or leaves the image. */
export function resizeBox(box: Box, handle: Handle, dx: number, dy: number, imageWidth: number, imageHeight: number, min = MIN_CROP): Box {
  let left = box.x;
  let top = box.y;
  let right = box.x + box.w;
  let bottom = box.y + box.h;
  if (handle.includes('w')) left = clamp(left + dx, 0, right - min);
  if (handle.includes('e')) right = clamp(right + dx, left + min, imageWidth);
  if (handle.includes('n')) top = clamp(top + dy, 0, bottom - min);
  if (handle.includes('s')) bottom = clamp(bottom + dy, top + min, imageHeight);
  return { x: left, y: top, w: right - left, h: bottom - top };
}

/** `box` grown by `factor` around its centre, kept inside the image: the context shown around a match. */
export function expandBox(box: Box, factor: number, imageWidth: number, imageHeight: number): Box {
  const w = Math.min(imageWidth, box.w * factor);
  const h = Math.min(imageHeight, box.h * factor);
  const x = clamp(box.x + box.w / 2 - w / 2, 0, imageWidth - w);
  const y = clamp(box.y + box.h / 2 - h / 2, 0, imageHeight - h);
  return { x, y, w, h };
}

/** A verified hit's outline (image px) as an SVG `points` string at `scale` display px per image px. */
export function quadPoints(quad: readonly Point[], scale = 1): string {
  return quad.map((p) => `${(p.x * scale).toFixed(1)},${(p.y * scale).toFixed(1)}`).join(' ');
}

/** What the match outline of a hit says: the verified outline with its inliers, or the window box, unverified. */
export function matchLabel(v: { status: string; inliers: number; mirrored: boolean }): string {
  if (v.status === 'verified') return `verified${v.mirrored ? ' mirrored' : ''} · ${v.inliers} inliers`;
  if (v.status === 'query-too-few-features') return 'unverified · crop has too few features';
  if (v.status === 'failed') return 'unverified · features could not be computed';
  return 'unverified · window match';
}

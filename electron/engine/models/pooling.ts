// Vector math of the image encoder: GeM pooling over (windows of) a feature map, the learned projection, L2 norm.
// Pure functions over Float32Arrays so they are tested without a model.

/** One pooling window in feature-map cells, with its box normalised to [0, 1] of the map (= of the image). */
export interface Window {
  x: number;
  y: number;
  w: number;
  h: number;
  box: [number, number, number, number];
}

/**
 * Window start offsets along one axis: every `stride` cells, plus a last window flush with the far edge when the
 * stride does not land there, so the right/bottom border is covered. A map smaller than a window gives one window
 * covering it all.
 */
export function windowStarts(size: number, window: number, stride: number): number[] {
  if (size <= window) return [0];
  const starts: number[] = [];
  for (let s = 0; s + window <= size; s += stride) starts.push(s);
  const last = size - window;
  if (starts[starts.length - 1] !== last) starts.push(last);
  return starts;
}

/** Windows of `window`×`window` cells at `stride` over a `width`×`height` map, row by row. */
export function slidingWindows(width: number, height: number, window: number, stride: number): Window[] {
  const windows: Window[] = [];
  for (const y of windowStarts(height, window, stride)) {
    for (const x of windowStarts(width, window, stride)) {
      const w = Math.min(window, width);
      const h = Math.min(window, height);
      windows.push({ x, y, w, h, box: [x / width, y / height, w / width, h / height] });
    }
  }
  return windows;
}

const GEM_EPS = 1e-6;

/**
 * Raises every cell of a C×H×W map (one image, NCHW) to the power p after clamping at a small epsilon, so that
 * many windows can then be GeM-pooled by summing.
 */
export function gemPowered(map: Float32Array, p: number): Float32Array {
  const out = new Float32Array(map.length);
  if (p === 3) {
    for (let i = 0; i < map.length; i++) {
      const v = map[i] > GEM_EPS ? map[i] : GEM_EPS;
      out[i] = v * v * v;
    }
  } else {
    for (let i = 0; i < map.length; i++) out[i] = Math.pow(map[i] > GEM_EPS ? map[i] : GEM_EPS, p);
  }
  return out;
}

/**
 * GeM of one window of a powered C×H×W map: (mean over the window of x^p)^(1/p) per channel, written to
 * `out[offset .. offset + channels)`.
 */
export function gemWindow(
  powered: Float32Array,
  channels: number,
  height: number,
  width: number,
  p: number,
  win: { x: number; y: number; w: number; h: number },
  out: Float32Array,
  offset: number,
): void {
  const plane = height * width;
  const n = win.w * win.h;
  const invP = 1 / p;
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    let sum = 0;
    for (let y = win.y; y < win.y + win.h; y++) {
      const row = base + y * width;
      for (let x = win.x; x < win.x + win.w; x++) sum += powered[row + x];
    }
    out[offset + c] = Math.pow(sum / n, invP);
  }
}

/**
 * GeM of many windows of one powered C×H×W map at once, window k written to `out[k·C .. (k+1)·C)`. Same result as
 * gemWindow per window, but through a per-channel summed-area table: four lookups per window instead of w·h,
 * which matters with dozens of overlapping windows per image.
 */
export function gemWindows(
  powered: Float32Array,
  channels: number,
  height: number,
  width: number,
  p: number,
  windows: readonly { x: number; y: number; w: number; h: number }[],
  out: Float32Array,
): void {
  const plane = height * width;
  const sw = width + 1;
  const sat = new Float64Array((height + 1) * sw);
  const root = p === 3 ? Math.cbrt : (v: number) => Math.pow(v, 1 / p);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      let rowSum = 0;
      const src = base + y * width;
      const dst = (y + 1) * sw;
      for (let x = 0; x < width; x++) {
        rowSum += powered[src + x];
        sat[dst + x + 1] = sat[dst - sw + x + 1] + rowSum;
      }
    }
    for (let k = 0; k < windows.length; k++) {
      const w = windows[k];
      const y0 = w.y * sw;
      const y1 = (w.y + w.h) * sw;
      const sum = sat[y1 + w.x + w.w] - sat[y0 + w.x + w.w] - sat[y1 + w.x] + sat[y0 + w.x];
      out[k * channels + c] = root(Math.max(sum, 0) / (w.w * w.h));
    }
  }
}

/** Scales each `dim`-wide row of `rows` to unit L2 norm in place (an all-zero row stays zero). */
export function l2NormalizeRows(rows: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < rows.length; r += dim) {
    let ss = 0;
    for (let i = r; i < r + dim; i++) ss += rows[i] * rows[i];
    if (ss === 0) continue;
    const inv = 1 / Math.sqrt(ss);
    for (let i = r; i < r + dim; i++) rows[i] *= inv;
  }
  return rows;
}

/** y = (x - mean) · matrix for every `inputDim`-wide row of `rows`; matrix is inputDim × outputDim, row-major. */
export function projectRows(
  rows: Float32Array,
  inputDim: number,
  mean: Float32Array,
  matrix: Float32Array,
  outputDim: number,
): Float32Array {
  const n = rows.length / inputDim;
  const out = new Float32Array(n * outputDim);
  const acc = new Float64Array(outputDim);
  for (let r = 0; r < n; r++) {
    acc.fill(0);
    const xBase = r * inputDim;
    for (let i = 0; i < inputDim; i++) {
      const xi = rows[xBase + i] - mean[i];
      if (xi === 0) continue;
      const mBase = i * outputDim;
      for (let j = 0; j < outputDim; j++) acc[j] += xi * matrix[mBase + j];
    }
    out.set(acc, r * outputDim);
  }
  return out;
}

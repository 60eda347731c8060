import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemPowered, gemWindow, gemWindows, l2NormalizeRows, projectRows, slidingWindows, windowStarts } from '../../electron/engine/models/pooling.ts';

test('window starts step by the stride and add a last window flush with the far edge', () => {
  assert.deepEqual(windowStarts(21, 4, 3), [0, 3, 6, 9, 12, 15, 17]);
  assert.deepEqual(windowStarts(16, 4, 3), [0, 3, 6, 9, 12]); // 12 + 4 = 16: the stride lands on the edge
  assert.deepEqual(windowStarts(7, 3, 2), [0, 2, 4]);
  assert.deepEqual(windowStarts(8, 3, 2), [0, 2, 4, 5]);
  assert.deepEqual(windowStarts(3, 3, 1), [0]);
  assert.deepEqual(windowStarts(2, 3, 1), [0]); // map smaller than a window: one window over all of it
});

test('sliding windows cover every cell, stay inside the map and carry normalised boxes', () => {
  for (const [w, h, win, stride] of [[21, 16, 4, 3], [10, 7, 3, 3], [5, 9, 2, 2], [2, 2, 3, 1]]) {
    const windows = slidingWindows(w, h, win, stride);
    const covered = new Uint8Array(w * h);
    for (const wd of windows) {
      assert.ok(wd.x >= 0 && wd.y >= 0 && wd.x + wd.w <= w && wd.y + wd.h <= h, `window inside ${w}×${h}`);
      assert.deepEqual(wd.box, [wd.x / w, wd.y / h, wd.w / w, wd.h / h]);
      for (let y = wd.y; y < wd.y + wd.h; y++) for (let x = wd.x; x < wd.x + wd.w; x++) covered[y * w + x] = 1;
    }
    assert.equal(covered.reduce((a, b) => a + b, 0), w * h, `all cells of ${w}×${h} covered (window ${win}, stride ${stride})`);
    const last = windows[windows.length - 1];
    assert.equal(last.box[0] + last.box[2], 1);
    assert.equal(last.box[1] + last.box[3], 1);
  }
});

test('GeM of a window equals the naive formula, and p=1 is the mean', () => {
  const C = 3;
  const H = 4;
  const W = 5;
  const map = Float32Array.from({ length: C * H * W }, (_, i) => ((i * 37) % 11) / 3 - 0.5); // includes negatives
  for (const p of [1, 3, 2.5]) {
    const powered = gemPowered(map, p);
    const out = new Float32Array(C);
    const win = { x: 1, y: 1, w: 3, h: 2 };
    gemWindow(powered, C, H, W, p, win, out, 0);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) s += Math.max(map[c * H * W + y * W + x], 1e-6) ** p;
      assert.ok(Math.abs(out[c] - (s / 6) ** (1 / p)) < 1e-5, `channel ${c}, p ${p}`);
    }
  }
});

test('projection subtracts the mean and multiplies by the row-major matrix; rows normalise to unit length', () => {
  const rows = Float32Array.from([1, 2, 3, 0, -1, 4]);
  const mean = Float32Array.from([1, 0, 1]);
  const matrix = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3 × 2
  const y = projectRows(rows, 3, mean, matrix, 2);
  // row 0: (0, 2, 2)·M = (0 + 6 + 10, 0 + 8 + 12); row 1: (-1, -1, 3)·M = (-1 - 3 + 15, -2 - 4 + 18)
  assert.deepEqual(Array.from(y), [16, 20, 11, 12]);
  l2NormalizeRows(y, 2);
  assert.ok(Math.abs(Math.hypot(y[0], y[1]) - 1) < 1e-6 && Math.abs(Math.hypot(y[2], y[3]) - 1) < 1e-6);
  assert.deepEqual(Array.from(l2NormalizeRows(new Float32Array(3), 3)), [0, 0, 0]);
});

test('GeM of many windows through the summed-area table equals GeM window by window', () => {
  const C = 7;
  const H = 16;
  const W = 21;
  const map = Float32Array.from({ length: C * H * W }, (_, i) => Math.abs(Math.sin(i * 0.731)) * 6);
  for (const p of [3, 2]) {
    const powered = gemPowered(map, p);
    const windows = slidingWindows(W, H, 5, 2);
    const fast = new Float32Array(windows.length * C);
    gemWindows(powered, C, H, W, p, windows, fast);
    const slow = new Float32Array(windows.length * C);
    windows.forEach((w, k) => gemWindow(powered, C, H, W, p, w, slow, k * C));
    for (let i = 0; i < fast.length; i++) assert.ok(Math.abs(fast[i] - slow[i]) <= 1e-6 * slow[i], `p ${p}, element ${i}: ${fast[i]} vs ${slow[i]}`);
  }
});

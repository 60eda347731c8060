import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Preprocessing } from '../../native-models/runtime/packs/manifest.ts';
import type { RgbImage } from '../../electron/engine/images/decode.ts';
import { resizeRgb, toInputTensor } from '../../electron/engine/images/processor.ts';

const base: Preprocessing = { inputSize: [2, 1], resize: 'squash', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB', layout: 'NHWC' };
// Two pixels: (10, 20, 30) and (40, 50, 60).
const img: RgbImage = { data: Uint8Array.from([10, 20, 30, 40, 50, 60]), width: 2, height: 1 };

test('NHWC RGB with scale, mean and std', () => {
  const pre = { ...base, scale: 1, mean: [1, 2, 3] as [number, number, number], std: [1, 2, 4] as [number, number, number] };
  const { data, dims } = toInputTensor([img, img], pre);
  assert.deepEqual(dims, [2, 1, 2, 3]);
  assert.deepEqual(Array.from(data.subarray(0, 6)), [9, 9, 6.75, 39, 24, 14.25]);
  assert.deepEqual(Array.from(data.subarray(6)), Array.from(data.subarray(0, 6)));
});

test('NCHW and BGR reorder planes and channels; mean/std follow the fed channel', () => {
  const pre: Preprocessing = { ...base, scale: 1, mean: [0, 0, 100], std: [1, 1, 1], channelOrder: 'BGR', layout: 'NCHW' };
  const { data, dims } = toInputTensor([img], pre);
  assert.deepEqual(dims, [1, 3, 1, 2]);
  // Channel 0 fed = blue (mean[2] = 100 belongs to the blue byte), then green, then red.
  assert.deepEqual(Array.from(data), [30 - 100, 60 - 100, 20, 50, 10, 40]);
});

test('a batch of mismatched sizes is refused', () => {
  assert.throws(() => toInputTensor([img, { data: new Uint8Array(3), width: 1, height: 1 }], base), /batch image 1/);
});

test('squash ignores aspect, center-crop keeps it', async () => {
  // A 40×10 image, white only at x < 5: squash keeps the stripe (shrunk), the centre crop (x 15..24) drops it.
  const stripe = new Uint8Array(40 * 10 * 3);
  for (let y = 0; y < 10; y++) stripe.fill(255, y * 120, y * 120 + 15);
  const s2 = await resizeRgb({ data: stripe, width: 40, height: 10 }, [10, 10], 'squash');
  const c2 = await resizeRgb({ data: stripe, width: 40, height: 10 }, [10, 10], 'center-crop');
  assert.equal(s2.data.length, 300);
  assert.ok(s2.data[0] > 200, 'stripe survives squash');
  assert.ok(Math.max(...c2.data) < 30, 'stripe is cropped away');
});

test('NHWC with one mean/std for all channels (the single-table path) matches the per-channel formula', () => {
  const pre: Preprocessing = { ...base, scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const { data } = toInputTensor([img], pre);
  const want = Array.from(img.data, (v) => (v / 255 - 0.5) / 0.25);
  data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `element ${i}`));
});

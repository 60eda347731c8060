// The default pack's measured region scheme and learned projection (native-models/packs/mobilenetv2-nsfwjs/):
// consistent with the manifest schema and the encoder, files present with the declared sizes, and the projection
// behaves like a whitening (finite, full rank on real-looking inputs, distinct vectors stay distinct).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { l2NormalizeRows, projectRows, slidingWindows } from '../../electron/engine/models/pooling.ts';
import { measurements, projection, projectionFiles, regions } from '../../native-models/packs/mobilenetv2-nsfwjs/scheme.ts';

const STRIDE = 32; // MobileNetV2's output stride

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

test('region scheme fits its input size and yields the measured number of windows', () => {
  assert.equal(regions.kind, 'feature-map-windows');
  const [w, h] = regions.inputSize;
  assert.ok(w % STRIDE === 0 && h % STRIDE === 0, `inputSize ${regions.inputSize} is not a multiple of ${STRIDE}`);
  assert.ok(regions.windowCells <= Math.min(w, h) / STRIDE && regions.strideCells <= regions.windowCells);
  const windows = slidingWindows(w / STRIDE, h / STRIDE, regions.windowCells, regions.strideCells);
  assert.equal(1 + windows.length, measurements.chosen.vectorsPerImage);
  assert.ok(regions.rationale.includes(String(measurements.chosen['mAP@100'])), 'rationale does not quote the measured mAP');
});

test('projection files exist with the declared shapes, within the size budget', () => {
  assert.equal(projection.inputDim, 1280);
  const mean = f32(projectionFiles[projection.meanFile]);
  const matrix = f32(projectionFiles[projection.matrixFile]);
  assert.equal(mean.length, projection.inputDim);
  assert.equal(matrix.length, projection.inputDim * projection.outputDim);
  const bytes = statSync(projectionFiles[projection.meanFile]).size + statSync(projectionFiles[projection.matrixFile]).size;
  assert.ok(bytes <= 2.5 * 1024 * 1024, `${bytes} bytes of projection`);
  assert.ok(mean.every(Number.isFinite) && matrix.every(Number.isFinite));
  // GeM of post-ReLU6 features: the mean is non-negative.
  assert.ok(mean.every((v) => v >= 0));
});

test('the projection whitens: projected columns are uncorrelated-ish and distinct inputs stay apart', () => {
  const mean = f32(projectionFiles[projection.meanFile]);
  const matrix = f32(projectionFiles[projection.matrixFile]);
  const { inputDim: n, outputDim: d } = projection;
  // Inputs: the mean plus seeded perturbations, like GeM vectors near the data.
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const k = 64;
  const rows = new Float32Array(k * n);
  for (let r = 0; r < k; r++) for (let i = 0; i < n; i++) rows[r * n + i] = Math.max(0, mean[i] * (1 + rnd()));
  const y = l2NormalizeRows(projectRows(rows, n, mean, matrix, d), d);
  assert.ok(y.every(Number.isFinite));
  let maxCos = -1;
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let c = 0;
      for (let j = 0; j < d; j++) c += y[a * d + j] * y[b * d + j];
      maxCos = Math.max(maxCos, c);
    }
  }
  assert.ok(maxCos < 0.9, `independent perturbations collapse after projection (max cosine ${maxCos.toFixed(3)})`);
});

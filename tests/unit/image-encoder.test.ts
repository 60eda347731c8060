// The encoder runtime on the real default pack (and variants of it with a region scheme and a projection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { EncoderPool } from '../../electron/engine/models/EncoderPool.ts';
import { ImageEncoder, type ImageEmbedding } from '../../electron/engine/models/ImageEncoder.ts';
import { projectRows, slidingWindows } from '../../electron/engine/models/pooling.ts';
import { Projection } from '../../electron/engine/models/projection.ts';
import { photoLike } from '../../bench/ingest-photos.ts';
import { defaultPack, packVariant } from '../integration/ingest-helpers.ts';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

test('whole image + region windows with boxes, projected and unit length; content scores from the 224 pass', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'enc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const base = await defaultPack();
  const pack = await packVariant(base, join(dir, 'pack'), { id: 'test-regions', regions: { inputSize: [672, 512], windowCells: 4, strideCells: 3 }, projectionDim: 64 });
  const enc = await ImageEncoder.open(pack);
  t.after(() => enc.close());
  const jpeg = await (await photoLike(3, 1600, 1200)).jpeg({ quality: 90 }).toBuffer();
  const e = await enc.encodeImage(jpeg);
  // 672×512 at stride 32 is a 21×16 map; 4-cell windows every 3 cells, plus the flush last column.
  const windows = slidingWindows(21, 16, 4, 3);
  assert.equal(e.nVectors, 1 + windows.length);
  assert.equal(e.dim, 64);
  assert.equal(e.vectors.length, e.nVectors * 64);
  assert.deepEqual(Array.from(e.boxes.subarray(0, 4)), [0, 0, 1, 1]);
  windows.forEach((w, i) => assert.deepEqual(Array.from(e.boxes.subarray(4 * (i + 1), 4 * (i + 2))), Array.from(Float32Array.from(w.box))));
  for (let r = 0; r < e.nVectors; r++) assert.ok(Math.abs(norm(e.vectors.subarray(r * 64, (r + 1) * 64)) - 1) < 1e-5, `row ${r} unit`);
  const m = pack.manifest.content!;
  assert.equal(e.contentScores!.length, m.labels.length);
  assert.ok(Math.abs(e.contentScores!.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  const explicit = m.explicitLabels.reduce((s, l) => s + e.contentScores![m.labels.indexOf(l)], 0);
  assert.ok(Math.abs(e.explicitScore! - explicit) < 1e-6);
  // Region vectors differ from each other (they see different parts of the picture).
  assert.ok(dot(e.vectors.subarray(64, 128), e.vectors.subarray(e.vectors.length - 64)) < 0.999);

  // Concurrent calls on one in-process encoder (ingest lanes do this) give what sequential calls give.
  const others = await Promise.all([4, 5].map(async (seed) => enc.processor.inputs(await enc.processor.decode(await (await photoLike(seed, 800, 600)).jpeg().toBuffer(), 'x'))));
  const sequential: ImageEmbedding[] = [];
  for (const o of others) sequential.push((await enc.encodeInputs([o]))[0]);
  const concurrent = await Promise.all(others.map(async (o) => (await enc.encodeInputs([o]))[0]));
  concurrent.forEach((c, k) => assert.deepEqual(c.vectors, sequential[k].vectors, `image ${k}`));
  assert.notDeepEqual(concurrent[0].vectors, concurrent[1].vectors);

  // Worker threads compute the same vectors as the in-process session.
  const pool = await EncoderPool.open(pack, { workers: 2, intraOpThreads: 1 });
  t.after(() => pool.close());
  const inputs = await enc.processor.inputs(await enc.processor.decode(jpeg, 'x'));
  const [viaPool] = await pool.encodeInputs([inputs]);
  assert.equal(viaPool.nVectors, e.nVectors);
  for (let i = 0; i < e.vectors.length; i++) assert.ok(Math.abs(viaPool.vectors[i] - e.vectors[i]) < 1e-5, `element ${i}`);
});

test('a crop query encodes the crop alone: same vector as that content as its own image, in oriented coordinates', async (t) => {
  const base = await defaultPack();
  const enc = await ImageEncoder.open(base);
  t.after(() => enc.close());
  const [W, H] = base.manifest.image.preprocessing.inputSize;
  // The detail, exactly the model's input size so that neither path resizes it.
  const detail = await (await photoLike(11, W, H)).png().toBuffer();
  const own = await enc.encodeImage(detail);
  const whole = own.vectors.subarray(0, own.dim);
  // The same detail pasted into a larger, different scene at (300, 200).
  const scene = await (await photoLike(12, 900, 700)).png().toBuffer();
  const canvas = await sharp(scene).composite([{ input: detail, left: 300, top: 200 }]).png().toBuffer();
  const crop = await enc.encodeCrop(canvas, { x: 300, y: 200, w: W, h: H });
  assert.ok(dot(crop, whole) > 0.9999, `cosine ${dot(crop, whole)}`);
  const sceneVec = (await enc.encodeImage(canvas)).vectors.subarray(0, own.dim);
  assert.ok(dot(sceneVec, whole) < dot(crop, whole) - 0.01, 'the whole scene is a different vector');
  // Stored rotated with EXIF orientation 8 (view = rotate 270° cw): the box is in viewed pixels.
  const rotated = await sharp(await sharp(canvas).rotate(90).png().toBuffer()).withMetadata({ orientation: 8 }).png().toBuffer();
  const meta = await sharp(rotated).metadata();
  assert.equal(meta.orientation, 8);
  const cropRot = await enc.encodeCrop(rotated, { x: 300, y: 200, w: W, h: H });
  assert.ok(dot(cropRot, whole) > 0.9999, `cosine after orientation ${dot(cropRot, whole)}`);
  await assert.rejects(enc.encodeCrop(canvas, { x: 5000, y: 0, w: 10, h: 10 }), /crop box .* lies outside/);
});

test('the ONNX projection computes (x − mean) · matrix from the pack files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'proj-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pack = await packVariant(await defaultPack(), join(dir, 'pack'), { id: 'test-proj', projectionDim: 48, seed: 3 });
  const p = pack.manifest.projection!;
  const projection = (await Projection.open(pack.manifest, pack.dir, 1))!;
  t.after(() => projection.close());
  const mean = new Float32Array(readFileSync(join(pack.dir, p.meanFile)).buffer.slice(0));
  const matrix = new Float32Array(readFileSync(join(pack.dir, p.matrixFile)).buffer.slice(0));
  const rows = Float32Array.from({ length: 3 * p.inputDim }, (_, i) => Math.abs(Math.sin(i * 0.37)));
  const got = await projection.apply(rows);
  const want = projectRows(rows, p.inputDim, mean, matrix, p.outputDim);
  assert.equal(got.length, 3 * 48);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-3 * (1 + Math.abs(want[i])), `element ${i}: ${got[i]} vs ${want[i]}`);
});

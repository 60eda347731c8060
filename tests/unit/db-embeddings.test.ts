import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { EmbeddingInput } from '../../db/Interface.ts';
import { embedding, ingested, rng, tempCatalog, type TempCatalog } from './db-fixtures.ts';

let t: TempCatalog;
beforeEach(() => {
  t = tempCatalog();
  t.store.registerPack({ id: 'p16', version: '1.0.0', name: 'Half', dim: 16, manifest: { embeddingDim: 16 } });
  t.store.registerPack({ id: 'p32', version: '1.0.0', name: 'Single', dim: 16, manifest: { embeddingDim: 16 } });
});
afterEach(() => t.dispose());

function assertSameEmbedding(actual: EmbeddingInput | undefined, expected: EmbeddingInput): void {
  assert.ok(actual);
  assert.equal(actual.dtype, expected.dtype);
  assert.equal(actual.vectors.constructor, expected.vectors.constructor);
  assert.deepEqual(Buffer.from(actual.vectors.buffer, actual.vectors.byteOffset, actual.vectors.byteLength),
    Buffer.from(expected.vectors.buffer, expected.vectors.byteOffset, expected.vectors.byteLength));
  assert.deepEqual(actual.boxes, expected.boxes);
  assert.deepEqual([actual.nVectors, actual.dim, actual.packId], [expected.nVectors, expected.dim, expected.packId]);
  assert.deepEqual(actual.contentScores, expected.contentScores);
  assert.equal(actual.explicitScore, expected.explicitScore);
}

test('float16 and float32 embeddings round-trip bit for bit', () => {
  const r = rng(11);
  const e16 = embedding('p16', 'float16', 16, 5, r);
  const e32 = embedding('p32', 'float32', 16, 3, r);
  const id = t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [e16, e32]));
  assertSameEmbedding(t.store.getEmbedding(id, 'p16'), e16);
  assertSameEmbedding(t.store.getEmbedding(id, 'p32'), e32);
  assert.equal(t.store.getEmbedding(id, 'other'), undefined);
  assert.deepEqual([t.store.countEmbeddings(), t.store.countEmbeddings('p16'), t.store.countEmbeddings('p32')], [2, 1, 1]);
});

test('vectors stored from a view into a larger buffer keep only the view', () => {
  const big = new Float32Array(100).map((_, i) => i);
  const e = embedding('p32', 'float32', 16, 2, rng(12));
  const view: EmbeddingInput = { ...e, dtype: 'float32', vectors: big.subarray(10, 42) };
  const id = t.store.upsertPendingImage({ path: '/ev/v.jpg', size: 1, mtimeMs: 1 });
  t.store.putEmbedding(id, view);
  assert.deepEqual(Array.from(t.store.getEmbedding(id, 'p32')!.vectors), Array.from(big.subarray(10, 42)));
});

test('putEmbedding replaces the (image, pack) row', () => {
  const id = t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [embedding('p16', 'float16', 16, 4, rng(13))]));
  const replacement = { ...embedding('p16', 'float16', 16, 2, rng(14)), contentScores: null, explicitScore: null };
  t.store.putEmbedding(id, replacement);
  assertSameEmbedding(t.store.getEmbedding(id, 'p16'), replacement);
  assert.equal(t.store.countEmbeddings('p16'), 1);
});

test('malformed embeddings are refused with the offending field named', () => {
  const id = t.store.upsertPendingImage({ path: '/ev/a.jpg', size: 1, mtimeMs: 1 });
  const good = embedding('p32', 'float32', 16, 2, rng(15));
  const cases: [EmbeddingInput, RegExp][] = [
    [{ ...good, dim: 8 }, /dim 8 does not match the pack's dim 16/],
    [{ ...good, nVectors: 3 }, /vectors has 32 values, expected nVectors × dim = 48/],
    [{ ...good, vectors: new Uint16Array(32) } as unknown as EmbeddingInput, /float32 vectors must be a Float32Array/],
    [{ ...good, boxes: new Float32Array(4) }, /boxes must be a Float32Array of nVectors × 4 = 8 values/],
    [{ ...good, boxes: new Float32Array([0, 0, 0.5, 1, 0, 0, 1, 1]) }, /box row 0 must be the whole image/],
    [{ ...good, boxes: new Float32Array([0, 0, 1, 1, 0, 0, 1.5, 1]) }, /box value 1.5 \(row 1\) is outside \[0, 1\]/],
    [{ ...good, boxes: new Float32Array([0, 0, 1, 1, NaN, 0, 1, 1]) }, /box value NaN/],
    [{ ...good, contentScores: [0.5, Number.NaN] }, /contentScores must be null or an array of probabilities/],
    [{ ...good, packId: 'unknown' }, /model pack 'unknown' is not registered/],
  ];
  for (const [bad, message] of cases) assert.throws(() => t.store.putEmbedding(id, bad), message);
  assert.throws(() => t.store.putEmbedding(id + 1, good), /putEmbedding: no image with id/);
  assert.equal(t.store.countEmbeddings(), 0);
});

test('loadEmbeddings returns one columnar snapshot in image-id order, with paging', () => {
  const r = rng(16);
  const inputs = Array.from({ length: 9 }, (_, i) => embedding('p16', 'float16', 16, 1 + (i % 4), r));
  inputs[4] = { ...inputs[4], explicitScore: null };
  const ids = t.store.commitIngestedImages(inputs.map((e, i) => ingested(`/ev/${i}.jpg`, i, [e])));
  // An image with another pack only must not show up.
  t.store.commitIngestedImage(ingested('/ev/other.jpg', 99, [embedding('p32', 'float32', 16, 2, r)]));

  const all = t.store.loadEmbeddings('p16');
  assert.equal(all.dtype, 'float16');
  assert.equal(all.count, 9);
  assert.deepEqual(Array.from(all.imageIds), ids);
  const total = inputs.reduce((s, e) => s + e.nVectors, 0);
  assert.equal(all.totalVectors, total);
  assert.equal(all.offsets[all.count], total);
  assert.equal(all.vectors.length, total * 16);
  for (let i = 0; i < inputs.length; i++) {
    const a: number = all.offsets[i];
    const b: number = all.offsets[i + 1];
    assert.equal(b - a, inputs[i].nVectors);
    assert.deepEqual(all.vectors.subarray(a * 16, b * 16), inputs[i].vectors);
    assert.deepEqual(all.boxes.subarray(a * 4, b * 4), inputs[i].boxes);
    const score = inputs[i].explicitScore;
    if (score === null) assert.ok(Number.isNaN(all.explicitScores[i]));
    else assert.equal(all.explicitScores[i], Math.fround(score));
  }

  const page = t.store.loadEmbeddings('p16', { afterImageId: ids[2], limit: 3 });
  assert.deepEqual(Array.from(page.imageIds), ids.slice(3, 6));
  assert.equal(page.offsets[0], 0);
  assert.deepEqual(page.vectors.subarray(0, inputs[3].nVectors * 16), inputs[3].vectors);

  const empty = t.store.loadEmbeddings('p16', { afterImageId: ids[8] });
  assert.deepEqual([empty.count, empty.totalVectors, empty.vectors.length, Array.from(empty.offsets)], [0, 0, 0, [0]]);
  assert.throws(() => t.store.loadEmbeddings('nope'), /model pack 'nope' is not registered/);
  assert.throws(() => t.store.loadEmbeddings('p16', { limit: -1 }), /invalid limit -1/);
});

test('loadEmbeddings refuses a pack whose rows mix dtypes', () => {
  const r = rng(17);
  t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [embedding('p16', 'float16', 16, 1, r)]));
  t.store.commitIngestedImage(ingested('/ev/b.jpg', 2, [embedding('p16', 'float32', 16, 1, r)]));
  assert.throws(() => t.store.loadEmbeddings('p16'), /mix float16 and float32/);
});

test('registerPack refreshes metadata but refuses a dim change once the pack has vectors', () => {
  const before = t.store.getPack('p16')!;
  const after = t.store.registerPack({ id: 'p16', version: '1.1.0', name: 'Half v1.1', dim: 16, manifest: { v: 2 } });
  assert.deepEqual([after.version, after.name, after.manifest, after.registeredAt], ['1.1.0', 'Half v1.1', { v: 2 }, before.registeredAt]);
  t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [embedding('p16', 'float16', 16, 1, rng(18))]));
  assert.throws(
    () => t.store.registerPack({ id: 'p16', version: '2', name: 'Half', dim: 32, manifest: {} }),
    /registerPack\(p16\): dim 32 differs from the catalogued 16/,
  );
  assert.deepEqual(t.store.listPacks().map((p) => p.id), ['p16', 'p32']);
  const stats = t.store.stats();
  assert.deepEqual(
    [stats.images, stats.ok, stats.embeddings, stats.packs.map((p) => [p.id, p.embeddings])],
    [1, 1, 1, [['p16', 1], ['p32', 0]]],
  );
});

test('20k images of embeddings bulk-load correctly', () => {
  const N = 20_000;
  const dim = 16;
  const r = rng(19);
  const expected: EmbeddingInput[] = [];
  const BATCH = 1000;
  for (let start = 0; start < N; start += BATCH) {
    const batch = [];
    for (let i = start; i < start + BATCH; i++) {
      const e = embedding('p16', 'float16', dim, 1 + (i % 7), r);
      expected.push(e);
      batch.push(ingested(`/ev/bulk/${i}.jpg`, i, [e]));
    }
    t.store.commitIngestedImages(batch);
  }
  const loaded = t.store.loadEmbeddings('p16');
  assert.equal(loaded.count, N);
  const total = expected.reduce((s, e) => s + e.nVectors, 0);
  assert.equal(loaded.totalVectors, total);
  assert.equal(loaded.vectors.length, total * dim);
  for (let i = 1; i < N; i++) assert.ok(loaded.imageIds[i] > loaded.imageIds[i - 1]);
  // Every image's slice matches what was written (counted rather than asserted per value, to keep it quick).
  let mismatches = 0;
  for (let i = 0; i < N; i++) {
    const e = expected[i];
    const a = loaded.offsets[i];
    if (loaded.offsets[i + 1] - a !== e.nVectors) mismatches++;
    const v = loaded.vectors.subarray(a * dim, (a + e.nVectors) * dim);
    for (let j = 0; j < v.length; j++) if (v[j] !== e.vectors[j]) { mismatches++; break; }
    const b = loaded.boxes.subarray(a * 4, (a + e.nVectors) * 4);
    for (let j = 0; j < b.length; j++) if (b[j] !== e.boxes[j]) { mismatches++; break; }
  }
  assert.equal(mismatches, 0);
  const halves = [
    t.store.loadEmbeddings('p16', { limit: N / 2 }),
    t.store.loadEmbeddings('p16', { afterImageId: loaded.imageIds[N / 2 - 1] }),
  ];
  assert.deepEqual(halves.map((h) => h.count), [N / 2, N / 2]);
  assert.equal(halves[0].totalVectors + halves[1].totalVectors, total);
});

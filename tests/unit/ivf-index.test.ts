// The on-disk IVF index on a real SQLite catalog: probing every list equals the exact scan, a few lists find the
// planted near-copies, images ingested after a build are searched from the delta, unusable files are refused with
// the reason, and a failed build leaves the previous file in place.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { writeSyntheticCatalog } from '../../bench/scale-catalog.ts';
import { IndexedCatalog, CatalogRows } from '../../electron/engine/search/IndexedCatalog.ts';
import type { ImageHits } from '../../electron/engine/search/CandidateSource.ts';
import { buildIvfIndex, defaultNprobe, IndexFileError, IvfIndex } from '../../electron/engine/search/IvfIndex.ts';
import { SearchEngine } from '../../electron/engine/search/SearchEngine.ts';
import { VectorIndex } from '../../electron/engine/search/VectorIndex.ts';
import { mulberry32 } from '../../electron/engine/search/rng.ts';
import { tempCatalog, type TempCatalog } from './db-fixtures.ts';

const DIM = 32;
const PACK = 'pack';
let t: TempCatalog;

function baseVectors(n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < DIM; j++) s += (out[i * DIM + j] = rnd() - 0.5) ** 2;
    for (let j = 0; j < DIM; j++) out[i * DIM + j]! /= Math.sqrt(s);
  }
  return out;
}

function fill(images: number, seed: number) {
  return writeSyntheticCatalog(t.store, { pathPrefix: `/fill${seed}/`, packId: PACK, images, rowsPerImage: 6, dim: DIM, base: baseVectors(40, 9), queries: 4, copiesPerQuery: 3, seed });
}

beforeEach(() => {
  t = tempCatalog();
  t.store.registerPack({ id: PACK, version: '1', name: 'Pack', dim: DIM, manifest: {} });
});
afterEach(() => t.dispose());

test('probing every list is the exact scan; a few lists find the planted near-copies', async () => {
  const { queries, planted } = fill(600, 1);
  const file = join(t.dir, 'index.ivf');
  const phases = new Set<string>();
  const header = await buildIvfIndex(t.store, PACK, file, { nlist: 16, onProgress: (p) => phases.add(p.phase) });
  assert.deepEqual([...phases], ['sample', 'train', 'assign', 'write']);
  assert.equal(header.images, 600);
  assert.equal(header.rows, 3600);
  const exact = VectorIndex.fromCatalog(t.store, PACK, 'float16');
  // Unless told otherwise an index probes a 32nd of its lists, at least 48 and at most all: every one of these 16.
  assert.deepEqual([16, 1024, 2048, 4096].map(defaultNprobe), [16, 48, 64, 128]);
  const ivf = await IvfIndex.open(file, { packId: PACK, dim: DIM }, {});
  try {
    const all = await ivf.topImages(queries, 50);
    const want = await exact.topImages(queries, 50);
    all.forEach((hits, q) => {
      assert.deepEqual([...hits.ids], [...want[q]!.ids]);
      hits.scores.forEach((s, i) => assert.ok(Math.abs(s - want[q]!.scores[i]!) < 1e-6));
    });
    ivf.setNprobe(3);
    const few = await ivf.topImages(queries, 20);
    few.forEach((hits, q) => {
      for (const id of planted[q]!) assert.ok(hits.ids.includes(id), `planted image ${id} of query ${q} found with 3 of 16 lists`);
    });
    // Searches reuse the last one's read buffer: one at a time, and several at once (each with its own: their
    // lists differ, so sharing one would mix them up), they give the same answers. A search of every list first
    // leaves the largest buffer behind, so each of the concurrent ones would fit in it if it were shared.
    const solo: ImageHits[] = [];
    for (const q of queries) solo.push((await ivf.topImages([q], 20))[0]!);
    ivf.setNprobe(16);
    await ivf.topImages([queries[0]!], 20);
    ivf.setNprobe(3);
    const together = await Promise.all(queries.map(async (q) => (await ivf.topImages([q], 20))[0]!));
    together.forEach((hits, q) => assert.deepEqual([...hits.ids], [...solo[q]!.ids], `query ${q} searched beside the others`));
    ivf.setNprobe(16);
    const again = await ivf.topImages(queries, 50);
    again.forEach((hits, q) => assert.deepEqual([...hits.ids], [...want[q]!.ids], `query ${q}, a larger search after smaller ones`));
  } finally {
    await ivf.close();
  }
});

test('images ingested after the build are searched from the delta; stage 2 scores from SQLite equal the in-memory ones', async () => {
  fill(300, 2);
  const file = join(t.dir, 'index.ivf');
  await buildIvfIndex(t.store, PACK, file, { nlist: 8 });
  const later = fill(50, 3); // ids above the file's highest image id
  const ivf = await IvfIndex.open(file, { packId: PACK, dim: DIM }, { nprobe: 8 });
  try {
    const source = IndexedCatalog.withDelta(t.store, PACK, ivf, 'float16');
    assert.equal(source.kind, 'ivf+exact-delta');
    assert.equal(source.imageCount, 350);
    const engine = new SearchEngine(source, new CatalogRows(t.store, PACK, DIM, 'float16'), null);
    const reference = SearchEngine.overIndex(VectorIndex.fromCatalog(t.store, PACK, 'float16'), null);
    for (const [q, query] of later.queries.entries()) {
      const a = await engine.search([query], { mode: 'baseline', k: 40, top: 10 });
      const b = await reference.search([query], { mode: 'baseline', k: 40, top: 10 });
      assert.deepEqual(a.ranked, b.ranked);
      for (const id of later.planted[q]!) assert.ok(a.ranked.slice(0, 3).some((r) => r.imageId === id), `new image ${id} found`);
    }
  } finally {
    await ivf.close();
  }
});

test('an unusable index file is refused with the reason; a failed build keeps the previous file', async () => {
  fill(200, 4);
  const file = join(t.dir, 'index.ivf');
  await buildIvfIndex(t.store, PACK, file, { nlist: 8 });
  const good = readFileSync(file);
  await assert.rejects(IvfIndex.open(file, { packId: 'other', dim: DIM }, { nprobe: 4 }), (e) => e instanceof IndexFileError && /index of pack pack, expected other/.test(e.message));
  await assert.rejects(IvfIndex.open(file, { packId: PACK, dim: 64 }, { nprobe: 4 }), /index dimension 32, the pack has 64/);
  truncateSync(file, statSync(file).size - 4096);
  await assert.rejects(IvfIndex.open(file, { packId: PACK, dim: DIM }, { nprobe: 4 }), /section vectors is missing, of the wrong size or past the end/);
  writeFileSync(file, Buffer.concat([Buffer.from('NOTANIDX'), good.subarray(8)]));
  await assert.rejects(IvfIndex.open(file, { packId: PACK, dim: DIM }, { nprobe: 4 }), /not a QuARI index file/);

  // A file cut short after it was opened: the search that reads past its end is refused with the reason, and the
  // index answers again (with its own buffers: the failed search's are never reused) once the file is whole.
  writeFileSync(file, good);
  const opened = await IvfIndex.open(file, { packId: PACK, dim: DIM }, { nprobe: 8 });
  try {
    const query = baseVectors(1, 77);
    const before = await opened.topImages([query], 10);
    truncateSync(file, 8192);
    await assert.rejects(opened.topImages([query], 10), (e) => e instanceof IndexFileError && /a list ends early/.test(e.message));
    writeFileSync(file, good);
    assert.deepEqual(await opened.topImages([query], 10), before);
  } finally {
    await opened.close();
  }
  t.store.registerPack({ id: 'empty', version: '1', name: 'Empty', dim: DIM, manifest: {} });
  await assert.rejects(buildIvfIndex(t.store, 'empty', file), /holds no embeddings of pack empty/);
  assert.deepEqual(readFileSync(file), good);
  assert.equal(existsSync(`${file}.tmp`), false);
  const reopened = await IvfIndex.open(file, { packId: PACK, dim: DIM }, { nprobe: 4 });
  assert.equal(reopened.imageCount, 200);
  await reopened.close();
});

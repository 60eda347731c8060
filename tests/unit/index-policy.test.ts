// The exact/IVF choice and the index's upkeep after ingest, on a real SQLite catalog and real index files (limits
// scaled down so a few hundred images cross them): exact below the threshold, a build at it, images added since
// searched beside the file until the delta triggers a rebuild, an unusable file rebuilt and said so, an aborted
// build keeping the previous file; without an index, a large catalog is scanned from SQLite with the exact answer.
import assert from 'node:assert/strict';
import { existsSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { writeSyntheticCatalog } from '../../bench/scale-catalog.ts';
import { planIndex, updateIndex, type IndexLimits } from '../../electron/engine/search/indexPolicy.ts';
import { IvfIndex } from '../../electron/engine/search/IvfIndex.ts';
import { CatalogScan } from '../../electron/engine/search/CatalogScan.ts';
import { IndexedCatalog } from '../../electron/engine/search/IndexedCatalog.ts';
import { VectorIndex } from '../../electron/engine/search/VectorIndex.ts';
import { mulberry32 } from '../../electron/engine/search/rng.ts';
import { tempCatalog, type TempCatalog } from './db-fixtures.ts';

const DIM = 16;
const PACK = 'pack';
const LIMITS: IndexLimits = { exactMaxImages: 200, deltaMaxImages: 50 };
let t: TempCatalog;
let file: string;

function base(): Float32Array {
  const rnd = mulberry32(3);
  const out = new Float32Array(30 * DIM);
  for (let i = 0; i < out.length; i++) out[i] = rnd() - 0.5;
  return out;
}

function fill(images: number, seed: number) {
  return writeSyntheticCatalog(t.store, { pathPrefix: `/fill${seed}/`, packId: PACK, images, rowsPerImage: 4, dim: DIM, base: base(), queries: 2, copiesPerQuery: 2, seed });
}

const open = () => IvfIndex.open(file, { packId: PACK, dim: DIM }, { nprobe: 4 });

beforeEach(() => {
  t = tempCatalog();
  t.store.registerPack({ id: PACK, version: '1', name: 'Pack', dim: DIM, manifest: {} });
  file = join(t.dir, 'index.ivf');
});
afterEach(() => t.dispose());

test('exact below the threshold; built at it; the delta is searched beside the file until it triggers a rebuild', async () => {
  fill(199, 1);
  const below = await updateIndex(t.store, PACK, file, { limits: LIMITS });
  assert.equal(below.action, 'exact');
  assert.equal(existsSync(file), false);

  fill(1, 2);
  const phases = new Set<string>();
  const built = await updateIndex(t.store, PACK, file, { limits: LIMITS, onProgress: (p) => phases.add(p.phase) });
  assert.equal(built.action, 'build');
  assert.deepEqual([...phases], ['sample', 'train', 'assign', 'write']);
  let ivf = await open();
  assert.equal(ivf.imageCount, 200);
  await ivf.close();

  // 19 new images: under a tenth of 200, so the file stays and they are the exact delta beside it.
  const { queries, planted } = fill(19, 3);
  assert.equal((await planIndex(t.store, PACK, file, LIMITS)).action, 'current');
  ivf = await open();
  const source = IndexedCatalog.withDelta(t.store, PACK, ivf, 'float16');
  assert.equal(source.imageCount, 219);
  assert.equal(source.kind, 'ivf+exact-delta');
  const hits = await source.topImages(queries, 10);
  hits.forEach((h, q) => planted[q]!.forEach((id) => assert.ok(h.ids.includes(id), `planted image ${id} in the delta is found`)));
  await ivf.close();

  fill(1, 4);
  const rebuilt = await updateIndex(t.store, PACK, file, { limits: LIMITS });
  assert.equal(rebuilt.action, 'rebuild');
  assert.match(rebuilt.reason, /20 images ingested since the index of 200/);
  ivf = await open();
  assert.equal(ivf.imageCount, 220);
  await ivf.close();
  assert.equal((await planIndex(t.store, PACK, file, LIMITS)).action, 'current');
});

test('the delta limit in images triggers a rebuild before a tenth of a large index', async () => {
  fill(600, 1);
  assert.equal((await updateIndex(t.store, PACK, file, { limits: LIMITS })).action, 'build');
  fill(49, 2);
  assert.equal((await planIndex(t.store, PACK, file, LIMITS)).action, 'current');
  fill(1, 3);
  assert.equal((await planIndex(t.store, PACK, file, LIMITS)).action, 'rebuild');
});

test('a torn index file is rebuilt, and the update says so; an aborted build keeps the previous file', async () => {
  fill(250, 1);
  await updateIndex(t.store, PACK, file, { limits: LIMITS });
  truncateSync(file, statSync(file).size / 2);
  const repaired = await updateIndex(t.store, PACK, file, { limits: LIMITS });
  assert.equal(repaired.action, 'rebuild');
  assert.match(repaired.reason, /unusable .*section \w+ is missing, of the wrong size or past the end/);
  const good = statSync(file);
  await (await open()).close();

  fill(100, 2);
  // Aborted while writing the new file: the temporary file goes, the previous index stays.
  const controller = new AbortController();
  const onProgress = (p: { phase: string }) => p.phase === 'write' && controller.abort();
  await assert.rejects(updateIndex(t.store, PACK, file, { limits: LIMITS, signal: controller.signal, onProgress }), { name: 'AbortError' });
  assert.equal(statSync(file).ino, good.ino, 'the previous file is still in place');
  assert.equal(existsSync(`${file}.tmp`), false);
  const ivf = await open();
  assert.equal(ivf.imageCount, 250);
  await ivf.close();
});

test('without an index, a large catalog is scanned exactly from SQLite page by page: the same answer as in memory', async () => {
  const { queries, planted } = fill(5003, 7); // two pages of the scan
  const scan = new CatalogScan(t.store, PACK, DIM, 'float16');
  const memory = VectorIndex.fromCatalog(t.store, PACK, 'float16');
  assert.equal(scan.imageCount, 5003);
  assert.deepEqual([...scan.allImageIds()], [...memory.allImageIds()]);
  const got = await scan.topImages(queries, 30);
  const want = await memory.topImages(queries, 30);
  got.forEach((h, q) => {
    assert.deepEqual([...h.ids], [...want[q]!.ids]);
    for (const id of planted[q]!) assert.ok(h.ids.includes(id));
  });
});

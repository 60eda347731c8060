// Scale benchmark: a synthetic catalog of N images × 36 region vectors of the default pack, searched end to end
// (stage 1, then QuARI rescoring of every vector of the top-K images) by each stage-1 engine side by side.
//   npm run bench:scale -- --images N [--engines exact,ivf,usearch] [--nprobe 48,128 (default: the product's)] [--k 1000] [--queries 40]
//                          [--catalog FILE (kept and reused)] [--json]
//
// Vectors follow the real encoder's distribution: the base set is the default pack's 36 vectors of each of 96
// rendered photo-like scenes (bench/ingest-photos.ts), every catalog vector is one base vector mixed with another and
// perturbed; queries are real crop vectors of those scenes, each with 5 planted near-copies in random images.
// Adaptive search probes stage 1 with two vectors per query: the query and its QuARI effective query. recall_at_100
// is the share of the exact scan's top-100 images for each of the two that the engine returns in its own top 100
// (the mean over both); planted_found the share of planted copies in either answer; planted_in_results the share in
// the adaptive search's own top 100. The exact reference is the IVF file probed
// in full (the index tests prove it equal to the exact scan), so it exists at any N without holding the catalog in
// memory. Ends with one JSON line: images, vectors, engine, p50_ms, p95_ms, recall_at_100, rss_mb, open_ms, build_s
// for the engine that the product uses at this N, plus every engine's figures under `engines`.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openCatalog } from '../db/CatalogStore.ts';
import type { CatalogStore } from '../db/Interface.ts';
import { Hypernetwork } from '../electron/engine/models/Hypernetwork.ts';
import { ImageEncoder } from '../electron/engine/models/ImageEncoder.ts';
import type { CandidateSource, ImageHits } from '../electron/engine/search/CandidateSource.ts';
import { CatalogRows, IndexedCatalog } from '../electron/engine/search/IndexedCatalog.ts';
import { buildIvfIndex, defaultNprobe, IvfIndex } from '../electron/engine/search/IvfIndex.ts';
import { SearchEngine, stage1Probes } from '../electron/engine/search/SearchEngine.ts';
import { EXACT_MAX_IMAGES } from '../electron/engine/search/indexPolicy.ts';
import { hypernetAdapter } from '../electron/engine/search/SearchService.ts';
import { VectorIndex } from '../electron/engine/search/VectorIndex.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../native-models/runtime/packs/registry.ts';
import type { VerifiedPack } from '../native-models/runtime/packs/verify.ts';
import { mulberry32 } from '../electron/engine/search/rng.ts';
import { photoLikeJpeg } from './ingest-photos.ts';
import { writeSyntheticCatalog } from './scale-catalog.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '50000' },
    engines: { type: 'string', default: 'exact,ivf' },
    nprobe: { type: 'string' },
    k: { type: 'string', default: '1000' },
    queries: { type: 'string', default: '40' },
    catalog: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.images);
const K = Number(values.k);
const QUERIES = Number(values.queries);
const engines = values.engines!.split(',');
/** Lists probed per query vector, one run each; default: the product's for the index's lists (defaultNprobe). */
const nprobesGiven = values.nprobe?.split(',').map(Number);
for (const [name, v] of [['--images', N], ['--k', K], ['--queries', QUERIES]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
}
const log = (msg: string) => console.error(`[bench:scale] ${msg}`);
const SCENES = 96;
const COPIES = 5;

/** Real region vectors (36 per scene) and real crop vectors of the default pack, cached per pack hash. */
async function realVectors(pack: VerifiedPack): Promise<{ base: Float32Array; crops: Float32Array[] }> {
  const dim = pack.manifest.embeddingDim;
  const key = `${pack.manifest.version}-${dim}`;
  const cache = join(tmpdir(), `quari-bench-scale-v1-${pack.manifest.id}-${key}.bin`);
  if (existsSync(cache)) {
    const all = new Float32Array(new Uint8Array(readFileSync(cache)).buffer);
    const crops = Array.from({ length: QUERIES_CACHED }, (_, i) => all.slice(all.length - (QUERIES_CACHED - i) * dim, all.length - (QUERIES_CACHED - i - 1) * dim));
    return { base: all.subarray(0, all.length - QUERIES_CACHED * dim), crops };
  }
  log(`encoding ${SCENES} rendered scenes and ${QUERIES_CACHED} crops with ${pack.manifest.id} (cached in ${cache})`);
  const encoder = await ImageEncoder.open(pack, { intraOpThreads: 2 });
  const parts: Float32Array[] = [];
  const crops: Float32Array[] = [];
  const rnd = mulberry32(77);
  try {
    for (let s = 0; s < SCENES; s++) {
      const jpeg = await photoLikeJpeg(1000 + s, 1600, 1200, 90);
      parts.push((await encoder.encodeImage(jpeg)).vectors);
      for (let c = 0; c < QUERIES_CACHED / SCENES; c++) {
        const w = 240 + Math.floor(rnd() * 360);
        crops.push(await encoder.encodeCrop(jpeg, { x: Math.floor(rnd() * (1600 - w)), y: Math.floor(rnd() * (1200 - w)), w, h: w }));
      }
    }
  } finally {
    await encoder.close();
  }
  const total = parts.reduce((n, p) => n + p.length, 0) + crops.length * dim;
  const all = new Float32Array(total);
  let at = 0;
  for (const p of [...parts, ...crops]) (all.set(p, at), (at += p.length));
  writeFileSync(cache, new Uint8Array(all.buffer));
  return { base: all.subarray(0, all.length - crops.length * dim), crops };
}
const QUERIES_CACHED = SCENES * 2;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/** Stage 1 by usearch's HNSW (i8 storage, several vectors per image key), for the comparison only. */
class UsearchSource implements CandidateSource {
  readonly kind = 'usearch-hnsw-i8';
  constructor(
    private readonly index: { search(v: Float32Array, k: number, threads: number): { keys: BigUint64Array; distances: Float32Array } },
    readonly dim: number,
    private readonly ids: Uint32Array,
  ) {}
  get imageCount() {
    return this.ids.length;
  }
  allImageIds() {
    return this.ids.slice();
  }
  async topImages(queries: readonly Float32Array[], k: number): Promise<ImageHits[]> {
    return queries.map((q) => {
      const r = this.index.search(q, k * 4, 0);
      const seen = new Set<number>();
      const ids: number[] = [];
      const scores: number[] = [];
      r.keys.forEach((key, i) => {
        const id = Number(key);
        if (ids.length < k && !seen.has(id)) (seen.add(id), ids.push(id), scores.push(1 - r.distances[i]!));
      });
      return { ids: Uint32Array.from(ids), scores: Float32Array.from(scores) };
    });
  }
}

async function buildUsearch(store: CatalogStore, packId: string, dim: number, file: string) {
  const { default: usearch } = await import('usearch');
  // expansion 0: usearch's defaults.
  const make = () =>
    new usearch.Index({ metric: usearch.MetricKind.IP, dimensions: dim, connectivity: 16, quantization: usearch.ScalarKind.I8, expansion_add: 0, expansion_search: 0, multi: true });
  const index = make();
  const ids: number[] = [];
  const t0 = performance.now();
  let after = 0;
  for (;;) {
    const page = store.loadEmbeddings(packId, { afterImageId: after, limit: 2000 });
    if (page.count === 0) break;
    const keys = new BigUint64Array(page.totalVectors);
    for (let i = 0; i < page.count; i++) {
      ids.push(page.imageIds[i]!);
      keys.fill(BigInt(page.imageIds[i]!), page.offsets[i]!, page.offsets[i + 1]!);
    }
    const x = page.dtype === 'float32' ? page.vectors : (await import('../electron/engine/search/kernels.ts')).float16ToFloat32(page.vectors);
    index.add(keys, x, 0);
    after = page.imageIds[page.count - 1]!;
    log(`usearch: ${ids.length} images added, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  index.save(file);
  const buildS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const view = make();
  view.view(file);
  const openMs = performance.now() - t1;
  return { source: new UsearchSource(view as never, dim, Uint32Array.from(ids)), buildS, openMs };
}

interface EngineFigures {
  engine: string;
  nprobe?: number;
  p50_ms: number;
  p95_ms: number;
  stage1_p50_ms: number;
  /** Of stage 1: reading the candidates' rows from SQLite for stage 2 (disk, where the catalog outgrows the cache). */
  rows_p50_ms: number;
  recall_at_100: number;
  planted_found: number;
  /** Planted copies among the adaptive search's own top 100 (end to end, what the analyst sees). */
  planted_in_results: number;
  rss_mb: number;
  open_ms: number;
  build_s: number;
}

async function main() {
  const started = performance.now();
  const pack = await new PackRegistry().load(DEFAULT_PACK_ID);
  const dim = pack.manifest.embeddingDim;
  const packId = pack.manifest.id;
  const { base, crops } = await realVectors(pack);
  const workDir = join(tmpdir(), `quari-bench-scale-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const catalogFile = values.catalog ?? join(workDir, 'catalog.sqlite');
  const plantedFile = `${catalogFile}.planted.json`;
  const reuse = values.catalog !== undefined && existsSync(catalogFile) && existsSync(plantedFile);
  const store = openCatalog(catalogFile);
  let planted: { queries: number[][]; planted: number[][] };
  if (reuse) {
    planted = JSON.parse(readFileSync(plantedFile, 'utf8'));
    if (store.countEmbeddings(packId) !== N) throw new Error(`${catalogFile} holds ${store.countEmbeddings(packId)} images, not --images ${N}`);
    log(`reusing ${catalogFile}`);
  } else {
    store.registerPack({ id: packId, version: pack.manifest.version, name: pack.manifest.name, dim, manifest: pack.manifest });
    const rnd = mulberry32(5);
    const chosen = Array.from({ length: QUERIES }, () => crops[Math.floor(rnd() * crops.length)]!);
    const t0 = performance.now();
    let last = 0;
    const made = writeSyntheticCatalog(store, {
      packId, images: N, rowsPerImage: 36, dim, base, queries: QUERIES, copiesPerQuery: COPIES, seed: 11, queryVectors: chosen,
      onProgress: (done, total) => {
        if (performance.now() - last > 10_000) (log(`catalog: ${done}/${total} images`), (last = performance.now()));
      },
    });
    log(`catalog of ${N} images written in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    planted = { queries: made.queries.map((q) => Array.from(q)), planted: made.planted };
    writeFileSync(plantedFile, JSON.stringify(planted));
  }
  const queries = planted.queries.map((q) => Float32Array.from(q));
  const hypernet = await Hypernetwork.load(join(pack.dir, pack.manifest.quariCheckpoint!), { intraOpNumThreads: 1 });
  const adapter = hypernetAdapter(hypernet);
  // Every search here is adaptive, so stage 1 is probed with each query and its effective query (SearchEngine):
  // recall is measured for both vectors the engines are asked about, planted copies in the union of their answers.
  const batch = new Float32Array(queries.length * dim);
  queries.forEach((q, i) => batch.set(q, i * dim));
  const transforms = await adapter.adapt(batch, queries.length);
  const probes = queries.map((q, i) => stage1Probes([q], [transforms[i]!]));
  const rows = new CatalogRows(store, packId, dim, 'float16');

  // The on-disk index (built once per catalog file) also gives the exact reference: every list probed.
  const ivfFile = `${catalogFile}.ivf`;
  let ivfBuildS = NaN;
  let buildCpuS = NaN;
  /** Seconds per build pass (sample, train, assign, write), saved beside the file with the total. */
  const buildPhases: Record<string, number> = {};
  if (!existsSync(ivfFile)) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let last = 0;
    let phase = '';
    let phaseStart = t0;
    await buildIvfIndex(store, packId, ivfFile, {
      onProgress: (p) => {
        const now = performance.now();
        if (p.phase !== phase) {
          if (phase) buildPhases[phase] = +((now - phaseStart) / 1000).toFixed(1);
          (phase = p.phase), (phaseStart = now);
        }
        if (now - last > 10_000) (log(`ivf build: ${p.phase} ${p.done}/${p.total}, ${((now - t0) / 1000).toFixed(0)} s`), (last = now));
      },
    });
    ivfBuildS = (performance.now() - t0) / 1000;
    buildPhases[phase] = +((performance.now() - phaseStart) / 1000).toFixed(1);
    // CPU seconds too: on the shared machine the wall time mostly measures the other users.
    const cpu = process.cpuUsage(cpu0);
    buildCpuS = +((cpu.user + cpu.system) / 1e6).toFixed(1);
    writeFileSync(`${ivfFile}.build_s`, JSON.stringify({ build_s: ivfBuildS, build_cpu_s: buildCpuS, phases: buildPhases, load_avg: +loadavg()[0]!.toFixed(2) }));
  } else {
    const saved = JSON.parse(readFileSync(`${ivfFile}.build_s`, 'utf8')) as { build_s: number; build_cpu_s?: number; phases: Record<string, number> };
    ivfBuildS = saved.build_s;
    buildCpuS = saved.build_cpu_s ?? NaN;
    Object.assign(buildPhases, saved.phases);
  }
  const t0 = performance.now();
  const ivf = await IvfIndex.open(ivfFile, { packId, dim }, { nprobe: 1 });
  const ivfOpenMs = performance.now() - t0;
  ivf.setNprobe(ivf.nlist);
  // One pass over the whole file for all probes at once (read in bounded groups), not one per query.
  const truth = (await ivf.topImages(probes.flat(), 100)).map((h) => h.ids);
  log(`exact reference done (${ivf.nlist} lists)`);

  const run = async (name: string, source: CandidateSource, rowSource: typeof rows | VectorIndex, extra: Partial<EngineFigures>): Promise<EngineFigures> => {
    const engine = new SearchEngine(source, rowSource, adapter);
    await engine.search([queries[0]!], { mode: 'adaptive', k: K, top: 100 }); // warm
    const total: number[] = [];
    const stage1: number[] = [];
    const rowsRead: number[] = [];
    let recall = 0;
    let found = 0;
    let plantedTotal = 0;
    let shownCopies = 0;
    let rss = rssMb();
    for (const [i, q] of queries.entries()) {
      const t = performance.now();
      const out = await engine.search([q], { mode: 'adaptive', k: K, top: 100 });
      total.push(performance.now() - t);
      const shown = new Set(out.ranked.map((h) => h.imageId));
      shownCopies += planted.planted[i]!.filter((id) => shown.has(id)).length;
      stage1.push(out.stage1Ms);
      rowsRead.push(out.rowsMs);
      const answers = (await source.topImages(probes[i]!, 100)).map((h) => new Set(h.ids));
      answers.forEach((got, p) => {
        const want = truth[probes[i]!.length * i + p]!;
        recall += [...want].filter((id) => got.has(id)).length / Math.max(1, want.length) / answers.length;
      });
      found += planted.planted[i]!.filter((id) => answers.some((got) => got.has(id))).length;
      plantedTotal += planted.planted[i]!.length;
      rss = Math.max(rss, rssMb());
    }
    const fig: EngineFigures = {
      engine: name,
      p50_ms: +percentile(total, 50).toFixed(1),
      p95_ms: +percentile(total, 95).toFixed(1),
      stage1_p50_ms: +percentile(stage1, 50).toFixed(1),
      rows_p50_ms: +percentile(rowsRead, 50).toFixed(1),
      recall_at_100: +(recall / queries.length).toFixed(4),
      planted_found: +(found / Math.max(1, plantedTotal)).toFixed(4),
      planted_in_results: +(shownCopies / Math.max(1, plantedTotal)).toFixed(4),
      rss_mb: rss,
      open_ms: 0,
      build_s: 0,
      ...extra,
    };
    log(JSON.stringify(fig));
    return fig;
  };

  const results: EngineFigures[] = [];
  for (const name of engines) {
    if (name === 'ivf') {
      for (const nprobe of nprobesGiven ?? [defaultNprobe(ivf.nlist)]) {
        ivf.setNprobe(nprobe);
        results.push(await run('ivf', new IndexedCatalog(ivf, VectorIndex.fromCatalog(store, packId, 'float16', ivf.header.maxImageId)), rows, { nprobe, open_ms: +ivfOpenMs.toFixed(1), build_s: +ivfBuildS.toFixed(1) }));
      }
    } else if (name === 'exact') {
      const t = performance.now();
      const index = VectorIndex.fromCatalog(store, packId, 'float16');
      results.push(await run('exact', index, index, { open_ms: +(performance.now() - t).toFixed(1), build_s: 0 }));
    } else if (name === 'usearch') {
      const u = await buildUsearch(store, packId, dim, `${catalogFile}.usearch`);
      results.push(await run('usearch-hnsw-i8', u.source, rows, { open_ms: +u.openMs.toFixed(1), build_s: +u.buildS.toFixed(1) }));
    } else {
      throw new Error(`--engines: unknown engine ${name} (exact, ivf, usearch)`);
    }
  }
  await ivf.close();
  await hypernet.release();
  store.close();
  if (values.catalog === undefined) rmSync(workDir, { recursive: true, force: true });

  // The product's choice at this N (indexPolicy): exact below EXACT_MAX_IMAGES, else IVF at the default nprobe for
  // its lists; when that engine was not run, the fastest one whose recall meets 0.95 (exact always does).
  const product = N < EXACT_MAX_IMAGES ? results.find((r) => r.engine === 'exact') : results.find((r) => r.engine === 'ivf' && r.nprobe === defaultNprobe(ivf.nlist));
  const eligible = results.filter((r) => r.recall_at_100 >= 0.95).sort((a, b) => a.p50_ms - b.p50_ms);
  const chosen = product ?? eligible[0] ?? results[0]!;
  const summary = {
    images: N,
    vectors: N * 36,
    engine: chosen.nprobe ? `${chosen.engine}(nprobe=${chosen.nprobe})` : chosen.engine,
    p50_ms: chosen.p50_ms,
    p95_ms: chosen.p95_ms,
    recall_at_100: chosen.recall_at_100,
    planted_found: chosen.planted_found,
    rss_mb: chosen.rss_mb,
    open_ms: chosen.open_ms,
    build_s: chosen.build_s,
    k: K,
    queries: queries.length,
    nlist: ivf.nlist,
    build_phases_s: buildPhases,
    build_cpu_s: buildCpuS,
    load_avg_start: +loadavg()[0]!.toFixed(2),
    wall_s: +((performance.now() - started) / 1000).toFixed(0),
    engines: results,
  };
  if (!values.json) {
    for (const r of results) console.log(`${r.engine}${r.nprobe ? ` nprobe=${r.nprobe}` : ''}: p50 ${r.p50_ms} ms, p95 ${r.p95_ms} ms, stage 1 ${r.stage1_p50_ms} ms (rows ${r.rows_p50_ms} ms), recall@100 ${r.recall_at_100}, planted ${r.planted_found}, rss ${r.rss_mb} MB, open ${r.open_ms} ms, build ${r.build_s} s`);
  }
  console.log(JSON.stringify(summary));
}

await main();

// Ingest benchmark: 300 photo-like 1600×1200 JPEGs (q90) through the real pipeline with the default pack.
//   node --import tsx bench/ingest.ts [--json] [--images N]
// Reports end-to-end img/s, an isolated per-stage profile (what each stage costs one image on one core), the
// ONNX threading comparison, and the pipelined run's per-stage wall times.
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openCatalog } from '../db/CatalogStore.ts';
import { makeThumbnail, readFileBytes, readImageHeader, thumbnailPixels } from '../electron/engine/images/decode.ts';
import { perceptualHash } from '../electron/engine/duplicates/phash.ts';
import { ImageProcessor, type EncoderInputs } from '../electron/engine/images/processor.ts';
import { readExif } from '../electron/engine/images/exif.ts';
import { emptyTimings, ingestFolder, toEmbeddingInput } from '../electron/engine/ingest/ingestFolder.ts';
import { EncoderPool } from '../electron/engine/models/EncoderPool.ts';
import { ImageEncoder, type PixelEncoder } from '../electron/engine/models/ImageEncoder.ts';
import { verifyPack, type VerifiedPack } from '../native-models/runtime/packs/verify.ts';
import { photoLikeJpeg } from './ingest-photos.ts';

const WIDTH = 1600;
const HEIGHT = 1200;

/** Generated once per machine (cached in the temp folder): generating costs more than ingesting. */
export async function benchPhotos(count: number): Promise<string> {
  const dir = join(tmpdir(), `quari-bench-photos-v1-${WIDTH}x${HEIGHT}-q90`);
  mkdirSync(dir, { recursive: true });
  const name = (i: number) => join(dir, `photo-${String(i).padStart(4, '0')}.jpg`);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (!existsSync(name(i))) writeFileSync(name(i), await photoLikeJpeg(i + 1, WIDTH, HEIGHT, 90));
    }
  };
  await Promise.all([worker(), worker()]);
  return dir;
}

/**
 * The default pack built fresh from the current converter and scheme sources (≈0.5 s) into `dir`, so the bench
 * measures what the code ships even when native-models/packs/built/ is from an older `npm install`.
 */
async function freshDefaultPack(dir: string): Promise<VerifiedPack> {
  const { buildNsfwjsPack } = await import('../native-models/tools/build-default-pack.ts');
  return verifyPack(buildNsfwjsPack('mobilenet_v2', dir).dir);
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

/** Each stage alone, one image at a time: ms per image. */
async function stageProfile(pack: VerifiedPack, files: string[]): Promise<Record<string, number>> {
  const m = pack.manifest;
  const enc = await ImageEncoder.open(pack, { intraOpThreads: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'quari-bench-stage-'));
  const catalog = openCatalog(join(dir, 'catalog.sqlite'));
  catalog.registerPack({ id: m.id, version: m.version, name: m.name, dim: m.embeddingDim, manifest: m });
  const t = { readHash: 0, headerExif: 0, decode: 0, resize: 0, thumbnail: 0, phash: 0, encode: 0, database: 0 };
  const time = async <T>(k: keyof typeof t, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    t[k] += performance.now() - t0;
    return r;
  };
  // One warm-up image outside the timing (ORT's first run allocates).
  await enc.encodeImage(files[0]);
  for (const path of files) {
    const f = await time('readHash', () => readFileBytes(path));
    const header = await time('headerExif', async () => {
      const h = await readImageHeader(f.bytes, path);
      await readExif(f.bytes, h.exif);
      return h;
    });
    const rgb = await time('decode', () => enc.processor.decode(f.bytes, path));
    const inputs = await time('resize', () => enc.processor.inputs(rgb));
    const small = await time('thumbnail', () => thumbnailPixels(rgb));
    const thumb = await time('thumbnail', () => makeThumbnail(small));
    await time('phash', () => perceptualHash(small));
    const [e] = await time('encode', () => enc.encodeInputs([inputs]));
    await time('database', () =>
      catalog.commitIngestedImage({
        path, size: f.size, mtimeMs: f.mtimeMs,
        meta: { sha256: f.sha256, width: header.width, height: header.height, format: header.format, thumbnail: `t/${thumb.length}` },
        embeddings: [toEmbeddingInput(m.id, e)],
      }),
    );
  }
  catalog.close();
  await enc.close();
  await rm(dir, { recursive: true, force: true });
  const n = files.length;
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [`stage_${k}_ms`, round(v / n)]));
}

/** Encode-only throughput (img/s) and process CPU time (ms/img) of one threading layout over the same inputs. */
async function encodeThroughput(encoder: PixelEncoder, inputs: EncoderInputs[], concurrent: number): Promise<[number, number]> {
  // Inputs are copied per call: the worker pool takes ownership of the buffers it is given.
  const copy = (i: EncoderInputs): EncoderInputs => ({
    whole: { ...i.whole, data: i.whole.data.slice() },
    region: i.region && { ...i.region, data: i.region.data.slice() },
  });
  await encoder.encodeInputs([copy(inputs[0])]);
  if (concurrent > 1) await Promise.all(Array.from({ length: concurrent }, () => encoder.encodeInputs([copy(inputs[0])])));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrent }, async () => {
      while (next < inputs.length) await encoder.encodeInputs([copy(inputs[next++])]);
    }),
  );
  const cpu = process.cpuUsage(c0);
  return [inputs.length / ((performance.now() - t0) / 1000), (cpu.user + cpu.system) / 1000 / inputs.length];
}

/** One 1-thread session, one 2-thread session, two workers with a 1-thread session each. */
async function threadingComparison(pack: VerifiedPack, files: string[]): Promise<Record<string, number>> {
  const inputs: EncoderInputs[] = [];
  const processor = ImageProcessor.forPack(pack.manifest);
  for (const path of files) {
    const f = await readFileBytes(path);
    inputs.push(await processor.inputs(await processor.decode(f.bytes, path)));
  }
  const out: Record<string, number> = {};
  for (const [key, open, concurrent] of [
    ['1session_1thread', () => ImageEncoder.open(pack, { intraOpThreads: 1 }), 1],
    ['1session_2threads', () => ImageEncoder.open(pack, { intraOpThreads: 2 }), 1],
    ['2workers_1thread', () => EncoderPool.open(pack, { workers: 2, intraOpThreads: 1 }), 2],
  ] as const) {
    const enc: PixelEncoder = await open();
    const [perSecond, cpuMs] = await encodeThroughput(enc, inputs, concurrent);
    out[`encode_img_per_s_${key}`] = round(perSecond);
    out[`encode_cpu_ms_per_img_${key}`] = round(cpuMs);
    await enc.close();
  }
  return out;
}

export async function runIngestBench(options: { images?: number } = {}): Promise<Record<string, number>> {
  const count = options.images ?? 300;
  const packsDir = await mkdtemp(join(tmpdir(), 'quari-bench-pack-'));
  const pack = await freshDefaultPack(packsDir);
  const photos = await benchPhotos(count);
  const files = readdirSync(photos).filter((f) => f.endsWith('.jpg')).sort().slice(0, count).map((f) => join(photos, f));
  const evidence = await mkdtemp(join(tmpdir(), 'quari-bench-evidence-'));
  const work = await mkdtemp(join(tmpdir(), 'quari-bench-catalog-'));
  try {
    // The evidence folder holds exactly `count` photos (links to the cache, so nothing is copied).
    for (const f of files) linkSync(f, join(evidence, f.slice(photos.length + 1)));
    const load1m = loadavg()[0];
    const catalog = openCatalog(join(work, 'catalog.sqlite'));
    const timings = emptyTimings();
    // CPU time of the whole process (main thread, encoder workers, libvips/libuv threads): unlike img/s it does not
    // depend on what else the machine is running, so it gives the rate a quiet 2-core machine would reach.
    const cpu0 = process.cpuUsage();
    const run = await ingestFolder({ root: evidence, catalog, pack, timings });
    const cpu = process.cpuUsage(cpu0);
    const cpuMsPerImage = (cpu.user + cpu.system) / 1000 / Math.max(1, run.added);
    const rescan = await ingestFolder({ root: evidence, catalog, pack });
    catalog.close();
    const encoded = Math.max(1, timings.encoded);
    const result: Record<string, number> = {
      ingest_images: count,
      ingest_img_per_s: round(run.added / run.seconds),
      ingest_seconds: round(run.seconds),
      ingest_cpu_ms_per_img: round(cpuMsPerImage),
      ingest_img_per_s_if_2_cores_free: round(2000 / cpuMsPerImage),
      ingest_failed: run.failed,
      ingest_rescan_files_per_s: round(rescan.skipped / rescan.seconds),
      ingest_loadavg_1m_before: round(load1m),
    };
    // Wall time each stage took per image inside the pipelined run (stages overlap and wait on each other).
    for (const [k, v] of Object.entries(timings)) if (k !== 'encoded') result[`pipelined_${k}_ms`] = round(v / encoded);
    const sample = files.slice(0, Math.min(24, files.length));
    Object.assign(result, await stageProfile(pack, sample));
    Object.assign(result, await threadingComparison(pack, sample));
    const probe = await ImageEncoder.open(pack);
    result.ingest_vectors_per_image = (await probe.encodeImage(files[0])).nVectors;
    await probe.close();
    return result;
  } finally {
    rmSync(evidence, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
    await rm(packsDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, images: { type: 'string' } } });
  const result = await runIngestBench(values.images ? { images: Number(values.images) } : {});
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(44)} ${v}\n`);
}

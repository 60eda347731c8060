// `npm run eval`: the held-out small-object benchmark, baseline vs adaptive (QuARI) search with the default pack.
// 1. Generates the benchmark from the EVAL split only (objects and scene photos never used for training the
//    hypernetwork nor for learning the pack's projection; see data/split.ts) with benchmark/generate.ts and a fixed
//    seed, into the training cache (built once, reused; the images never enter git).
// 2. Ingests it into a catalog with the pack (`quari ingest`), cached per encoder/regions/projection hash — a new
//    QuARI checkpoint alone does not re-ingest.
// 3. Prints `quari eval --json` (crop queries, query image excluded, k = 1000 ≥ catalog: stage 2 rescores every
//    image) with baseline = plain cosine over the same region index and the pack's learned projection.
// Usage: npm run eval [-- --seed 11 --objects 200 --pack ID_OR_DIR]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PackRegistry, DEFAULT_PACK_ID } from '../../packs/registry.ts';
import type { PackManifest } from '../../packs/manifest.ts';
import { generateBenchmark } from '../benchmark/generate.ts';
import type { Catalog } from '../data/catalog.ts';
import { CATALOG_FILE, cacheDir } from '../data/sources.ts';

/** The committed evaluation set: generator + these settings (see README.md). */
export const EVAL_SEED = 11;
export const EVAL_OBJECTS = 200;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Identity of what ingest computes: everything in the manifest but the QuARI checkpoint and free-form notes. */
export function embeddingHash(m: PackManifest): string {
  const ckpt = m.quariCheckpoint;
  const files = Object.fromEntries(Object.entries(m.files).filter(([p]) => !(ckpt && p.startsWith(`${ckpt}/`))));
  const { measurements: _m, quariCheckpoint: _q, files: _f, ...rest } = m;
  return createHash('sha256').update(JSON.stringify({ ...rest, files })).digest('hex').slice(0, 16);
}

function quari(args: string[], inheritOut: boolean): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'quari.mjs'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', inheritOut ? 'inherit' : 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`quari ${args[0]} exited with status ${r.status}`);
  return r.stdout ?? '';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: String(EVAL_SEED) },
      objects: { type: 'string', default: String(EVAL_OBJECTS) },
      pack: { type: 'string', default: DEFAULT_PACK_ID },
    },
  });
  const seed = Number(values.seed);
  const objects = Number(values.objects);
  if (!Number.isInteger(seed) || !Number.isInteger(objects) || objects < 1) throw new Error(`--seed/--objects must be integers (got ${values.seed}, ${values.objects})`);
  const catalogPath = join(cacheDir(), CATALOG_FILE);
  if (!existsSync(catalogPath)) {
    throw new Error(`${catalogPath} is missing: run native-models/training/data/fetch-debian.ts and catalog.ts first`);
  }
  const t0 = Date.now();
  const bench = join(cacheDir(), 'eval', `heldout-s${seed}-o${objects}`);
  if (!existsSync(join(bench, 'queries.json'))) {
    const tmp = `${bench}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    sharp.concurrency(1);
    const catalog = JSON.parse(readFileSync(catalogPath, 'utf8')) as Catalog;
    console.error(`generating the held-out benchmark (split eval, seed ${seed}, ${objects} objects) in ${bench}`);
    const { plan } = await generateBenchmark(dirname(catalogPath), catalog, tmp, { split: 'eval', seed, objects });
    rmSync(bench, { recursive: true, force: true });
    renameSync(tmp, bench);
    console.error(`generated ${plan.images.length} images in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const pack = await new PackRegistry().load(values.pack!);
  const catalogFile = join(bench, `catalog-${pack.manifest.id}-${embeddingHash(pack.manifest)}.sqlite`);
  const t1 = Date.now();
  quari(['ingest', join(bench, 'images'), '--catalog', catalogFile, '--pack', pack.dir, '--json'], false);
  console.error(`ingest: ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  const out = quari(['eval', '--catalog', catalogFile, '--queries', join(bench, 'queries.json'), '--pack', pack.dir, '--json'], false);
  const report = JSON.parse(out.trim().split('\n').pop()!) as {
    queries: number;
    baseline: Record<string, number>;
    adaptive: Record<string, number> | null;
  };
  const images = JSON.parse(readFileSync(join(bench, 'boxes.json'), 'utf8')).images.length as number;
  console.log(
    JSON.stringify({
      benchmark: { split: 'eval', seed, objects, images, queries: report.queries, folder: bench },
      pack: { id: pack.manifest.id, version: pack.manifest.version, embeddingDim: pack.manifest.embeddingDim, quariCheckpoint: pack.manifest.quariCheckpoint ?? null },
      baseline: report.baseline,
      adaptive: report.adaptive,
      adaptiveOverBaselineMAP: report.adaptive ? +(report.adaptive['mAP@100'] / report.baseline['mAP@100']).toFixed(3) : null,
      seconds: Math.round((Date.now() - t0) / 1000),
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

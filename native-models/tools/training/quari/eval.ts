// `npm run eval`: two small-object benchmarks, every search mode `quari eval` reports, with the default pack.
//  * cross-family (the headline): objects and scene photos from Debian packages that nothing else in the project
//    reads (sources.ts `family: 'cross'`: other artists and object kinds than training, whitening and checkpoint
//    selection ever saw), objects at 3–10 % of the area, 200 queries × 3 relevant scenes, ≈1,800 images, and the
//    relevant scenes of two thirds of the queries rendered harder (perspective, lighting, occlusion, downscaling,
//    heavy JPEG): figures overall and per difficulty tier;
//  * held-out: the EVAL hash split of the training packages (same object families as training, never the same
//    pictures; see data/split.ts) — how well the checkpoint does on what it was built for.
// For each: generate with benchmark/generate.ts and a fixed seed into the training cache (built once, reused; the
// images never enter git), ingest into a catalog with the pack (`quari ingest`, cached per encoder/regions/projection
// hash — a new QuARI checkpoint alone does not re-ingest), then `quari eval --json` (crop queries, query image
// excluded, k = 1000 ≥ the held-out catalog). Each printed line names its benchmark's source packages and versions.
// Usage: npm run eval [-- --pack ID_OR_DIR --only cross|heldout]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PackRegistry, DEFAULT_PACK_ID } from '../../../runtime/packs/registry.ts';
import type { PackManifest } from '../../../runtime/packs/manifest.ts';
import { generateBenchmark, planBenchmark } from '../benchmark/generate.ts';
import { TIERS, type BenchmarkOptions } from '../benchmark/generate.ts';
import type { Catalog } from '../data/catalog.ts';
import { CATALOG_FILE, cacheDir } from '../data/sources.ts';

export interface BenchmarkSpec {
  name: 'cross-family' | 'held-out';
  /** Folder under CACHE/eval: bump the suffix when the generator's output for these options changes. */
  folder: string;
  options: Partial<BenchmarkOptions> & Pick<BenchmarkOptions, 'split' | 'seed' | 'objects'>;
}

/** The committed evaluation sets: generator + these settings (see README.md). Cross-family first: the headline. */
export const BENCHMARKS: readonly BenchmarkSpec[] = [
  {
    name: 'cross-family',
    folder: 'cross-s23-o200-v1',
    // 4 scenes per object = the query's + 3 relevant; 800 target images + 1,000 distractor-only images.
    options: { split: 'cross', seed: 23, objects: 200, scenesPerObject: [4, 4], extraFraction: 1.25, areaRange: [0.03, 0.1], tiers: true, maxSceneSide: 1600 },
  },
  { name: 'held-out', folder: 'heldout-s11-o200', options: { split: 'eval', seed: 11, objects: 200 } },
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/**
 * Identity of what ingest computes: everything in the manifest but the QuARI checkpoint and free-form text (the
 * measurements and the projection's provenance, which name tool paths: moving a tool must not force a re-ingest).
 */
export function embeddingHash(m: PackManifest): string {
  const ckpt = m.quariCheckpoint;
  const files = Object.fromEntries(Object.entries(m.files).filter(([p]) => !(ckpt && p.startsWith(`${ckpt}/`))));
  const { measurements: _m, quariCheckpoint: _q, files: _f, projection, ...rest } = m;
  const { provenance: _p, ...projectionMath } = projection ?? {};
  return createHash('sha256').update(JSON.stringify({ ...rest, ...(projection ? { projection: projectionMath } : {}), files })).digest('hex').slice(0, 16);
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

type Summary = Record<string, number>;

/** `quari eval --json`'s report: every key whose value holds mAP@100 is a mode; the rest (e.g. latency) passes through. */
function splitReport(report: Record<string, unknown>): { queries: number; modes: Record<string, Summary>; other: Record<string, unknown> } {
  const modes: Record<string, Summary> = {};
  const other: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(report)) {
    if (k === 'queries') continue;
    if (v && typeof v === 'object' && 'mAP@100' in v) modes[k] = v as Summary;
    else if (v !== null) other[k] = v;
  }
  return { queries: Number(report.queries), modes, other };
}

type Report = ReturnType<typeof splitReport>;

/**
 * Query-weighted mean of reports over disjoint query sets: every mode's metrics, and numeric fields named *Mean
 * (per-query means such as quari eval's verifyMsMean); other fields are kept per part only.
 */
export function mergeReports(parts: Report[]): Report {
  const queries = parts.reduce((n, p) => n + p.queries, 0);
  const modes: Record<string, Summary> = {};
  for (const mode of Object.keys(parts[0].modes)) {
    if (!parts.every((p) => p.modes[mode])) continue;
    modes[mode] = {};
    for (const metric of Object.keys(parts[0].modes[mode])) {
      modes[mode][metric] = parts.reduce((acc, p) => acc + p.modes[mode][metric] * p.queries, 0) / queries;
    }
  }
  const other: Record<string, unknown> = {};
  for (const key of Object.keys(parts[0].other)) {
    if (key.endsWith('Mean') && parts.every((p) => typeof p.other[key] === 'number')) {
      other[key] = parts.reduce((acc, p) => acc + (p.other[key] as number) * p.queries, 0) / queries;
    }
  }
  return { queries, modes, other };
}

function overBaseline(modes: Record<string, Summary>): Record<string, number> {
  const base = modes.baseline?.['mAP@100'];
  const out: Record<string, number> = {};
  for (const [m, s] of Object.entries(modes)) if (m !== 'baseline' && base) out[m] = +(s['mAP@100'] / base).toFixed(3);
  return out;
}

/** The packages (and versions) a plan's scenes and objects come from: what "never seen in training" refers to. */
export function benchmarkSources(catalog: Catalog, spec: BenchmarkSpec): { scenes: string[]; objects: string[] } {
  const plan = planBenchmark(catalog, spec.options);
  const pkgOf = new Map([...catalog.scenes, ...catalog.objects].map((e) => [e.path, e.pkg]));
  const label = (paths: Iterable<string>) =>
    [...new Set([...paths].map((p) => pkgOf.get(p)!))].sort().map((pkg) => `${pkg}@${catalog.sources[pkg]?.version ?? '?'}`);
  return {
    scenes: label(plan.images.map((i) => i.scene)),
    objects: label(plan.images.flatMap((i) => [...(i.target ? [i.target.object] : []), ...i.distractors.map((d) => d.object)])),
  };
}

async function runBenchmark(spec: BenchmarkSpec, catalog: Catalog, root: string, packArg: string): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const bench = join(cacheDir(), 'eval', spec.folder);
  if (!existsSync(join(bench, 'queries.json'))) {
    const tmp = `${bench}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    sharp.concurrency(1);
    console.error(`generating the ${spec.name} benchmark (split ${spec.options.split}, seed ${spec.options.seed}, ${spec.options.objects} objects) in ${bench}`);
    const { plan } = await generateBenchmark(root, catalog, tmp, spec.options);
    rmSync(bench, { recursive: true, force: true });
    renameSync(tmp, bench);
    console.error(`generated ${plan.images.length} images in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const pack = await new PackRegistry().load(packArg);
  const catalogFile = join(bench, `catalog-${pack.manifest.id}-${embeddingHash(pack.manifest)}.sqlite`);
  const t1 = Date.now();
  quari(['ingest', join(bench, 'images'), '--catalog', catalogFile, '--pack', pack.dir, '--json'], false);
  console.error(`${spec.name} ingest: ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  const evalOn = (file: string) =>
    splitReport(JSON.parse(quari(['eval', '--catalog', catalogFile, '--queries', join(bench, file), '--pack', pack.dir, '--json'], false).trim().split('\n').pop()!));
  // Tiered: one `quari eval` per tier; the overall figures are the query-weighted means of the tiers' (every
  // metric is a mean over queries, so this equals one run over queries.json and costs a run less).
  const perTier = spec.options.tiers ? TIERS.map((tier) => [tier, evalOn(`queries-${tier}.json`)] as const) : undefined;
  const all = perTier ? mergeReports(perTier.map(([, r]) => r)) : evalOn('queries.json');
  const tiers = perTier
    ? Object.fromEntries(perTier.map(([tier, r]) => [tier, { queries: r.queries, ...r.modes, overBaselineMAP: overBaseline(r.modes), ...r.other }]))
    : undefined;
  const images = JSON.parse(readFileSync(join(bench, 'boxes.json'), 'utf8')).images.length as number;
  const o = spec.options;
  return {
    benchmark: {
      name: spec.name,
      split: o.split,
      seed: o.seed,
      objects: o.objects,
      images,
      queries: all.queries,
      objectArea: o.areaRange ?? [0.03, 0.15],
      sources: benchmarkSources(catalog, spec),
      folder: bench,
    },
    pack: { id: pack.manifest.id, version: pack.manifest.version, embeddingDim: pack.manifest.embeddingDim, quariCheckpoint: pack.manifest.quariCheckpoint ?? null },
    ...all.modes,
    overBaselineMAP: overBaseline(all.modes),
    ...all.other,
    ...(tiers ? { tiers } : {}),
    seconds: Math.round((Date.now() - t0) / 1000),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pack: { type: 'string', default: DEFAULT_PACK_ID }, only: { type: 'string' } } });
  const names = { cross: 'cross-family', heldout: 'held-out' } as const;
  if (values.only !== undefined && !(values.only in names)) throw new Error(`--only: '${values.only}' is not cross or heldout`);
  const catalogPath = join(cacheDir(), CATALOG_FILE);
  if (!existsSync(catalogPath)) {
    throw new Error(`${catalogPath} is missing: run native-models/tools/training/data/fetch-debian.ts and catalog.ts first`);
  }
  const catalog = JSON.parse(readFileSync(catalogPath, 'utf8')) as Catalog;
  for (const spec of BENCHMARKS) {
    if (values.only && names[values.only as keyof typeof names] !== spec.name) continue;
    console.log(JSON.stringify(await runBenchmark(spec, catalog, dirname(catalogPath), values.pack!)));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

// Chooses the default pack's region scheme by measurement: encodes a generated benchmark (generate.ts) with the
// ONNX encoder through the runtime's pooling code, scores each image by its best vector (whole or window) against
// the query crop, and reports mAP@100 / R@1 / R@10 with vectors, encoder time and bytes per image — for the
// whole-image baseline, several window schemes and several ways of resizing the query crop. Then learns PCA
// whitenings on whitening-split images (never the eval benchmark) and measures them too.
// Encoded vectors are cached next to each benchmark (<bench>/.encoded/<model-hash>/), so reruns only rescore.
// Usage: npx tsx native-models/tools/training/regions/measure.ts --bench EVAL_DIR --whiten WHITEN_DIR --model ONNX
//        --out results.json [--threads 2] [--configs 672x512-w5s2,896x672-w6s3,...]
// Env: WHITEN_CONFIGS (configs to whiten), WHITEN_QUERY_MODES (query modes scored after whitening).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImageHeader } from '../../../../electron/engine/images/decode.ts';
import { summarise, type RetrievalSummary } from '../../../../electron/engine/eval/metrics.ts';
import { l2NormalizeRows, projectRows } from '../../../../electron/engine/models/pooling.ts';
import sharp from 'sharp';
import { Encoder, loadInputs, processorFor, type RegionConfig } from './encode.ts';

const DIM = 1280;

export const DEFAULT_CONFIGS = '672x512-w5s2,672x512-w5s3,672x512-w6s2,672x512-w6s3,672x512-w4s2,896x672-w6s3';

/** `WxH-wAsB`: region pass at W×H, windows of A×A cells every B cells. */
export function parseConfig(name: string): RegionConfig {
  const m = /^(\d+)x(\d+)-w(\d+)s(\d+)$/.exec(name);
  if (!m) throw new Error(`--configs: '${name}' is not WxH-wAsB (e.g. 672x512-w5s2)`);
  return { name, inputSize: [+m[1], +m[2]], windowCells: +m[3], strideCells: +m[4] };
}

/** Ways to turn a query crop into the encoder input. */
type QueryMode = 'square224' | 'windowPixels' | 'aspect224' | 'regionScale';
const QUERY_MODES: QueryMode[] = ['square224', 'windowPixels', 'aspect224', 'regionScale'];

interface Query {
  image: string;
  crop: [number, number, number, number];
  relevant: string[];
}

interface Encoded {
  files: string[];
  /** files × DIM whole-image vectors per region-pass size ('none': a pack without regions), as ingest derives them. */
  whole: Map<string, Float32Array>;
  regions: Map<string, { counts: number[]; vectors: Float32Array }>;
  ms: { whole: number; region: Map<string, number> };
}

function arg(argv: string[], name: string, fallback?: string): string {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const writeF32 = (path: string, a: Float32Array): void => writeFileSync(path, Buffer.from(a.buffer, a.byteOffset, a.byteLength));

/**
 * Encodes every image of a benchmark folder through the app's image processor: per region-pass size, the whole
 * vector and the windows of each config, each from that size's decode, as ingest computes them (cached; the cache
 * folder names the processor version, so encodings made by an older preprocessing are never reused).
 */
async function encodeBench(enc: Encoder, bench: string, modelHash: string, configs: RegionConfig[]): Promise<Encoded> {
  const files = readdirSync(join(bench, 'images')).filter((f) => f.endsWith('.jpg')).sort().map((f) => `images/${f}`);
  const cache = join(bench, '.encoded', modelHash, 'processor-v2');
  mkdirSync(cache, { recursive: true });
  const meta = join(cache, 'meta.json');
  const sizes = [...new Set(configs.map((c) => c.inputSize.join('x')))];
  type Meta = { files: string[]; counts: Record<string, number[]>; ms: { whole: number; region: Record<string, number> } };
  const old: Meta | null = existsSync(meta) ? JSON.parse(readFileSync(meta, 'utf8')) : null;
  if (old && JSON.stringify(old.files) !== JSON.stringify(files)) throw new Error(`${cache}: cached encodings are of other files; delete the folder`);
  if (old) {
    const m = old;
    if (configs.every((c) => m.counts[c.name])) {
      const regions = new Map(configs.map((c) => [c.name, { counts: m.counts[c.name], vectors: readF32(join(cache, `${c.name}.f32`)) }]));
      const whole = new Map(['none', ...sizes].map((k) => [k, readF32(join(cache, `whole-${k}.f32`))]));
      return { files, whole, regions, ms: { whole: m.ms.whole, region: new Map(Object.entries(m.ms.region)) } };
    }
  }
  const whole = new Map(['none', ...sizes].map((k) => [k, new Float32Array(files.length * DIM)]));
  const parts = new Map(configs.map((c) => [c.name, { counts: [] as number[], chunks: [] as Float32Array[] }]));
  let wholeMs = 0;
  const regionMs = new Map(sizes.map((s) => [s, 0]));
  for (const [i, f] of files.entries()) {
    const alone = await loadInputs(processorFor(null), join(bench, f));
    let t = performance.now();
    whole.get('none')!.set(await enc.pooled(alone.whole), i * DIM);
    wholeMs += performance.now() - t;
    for (const size of sizes) {
      const cfgs = configs.filter((c) => c.inputSize.join('x') === size);
      const inputs = await loadInputs(processorFor(cfgs[0].inputSize), join(bench, f));
      whole.get(size)!.set(await enc.pooled(inputs.whole), i * DIM);
      t = performance.now();
      const fm = await enc.featureMap(inputs.region!);
      regionMs.set(size, regionMs.get(size)! + performance.now() - t);
      for (const c of cfgs) {
        const { vectors, n } = enc.windows(fm, c);
        parts.get(c.name)!.counts.push(n);
        parts.get(c.name)!.chunks.push(vectors);
      }
    }
    if (i % 50 === 0) console.log(`  ${bench}: ${i}/${files.length}`);
  }
  const regions = new Map<string, { counts: number[]; vectors: Float32Array }>();
  for (const c of configs) {
    const p = parts.get(c.name)!;
    const vectors = new Float32Array(p.chunks.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of p.chunks) {
      vectors.set(a, o);
      o += a.length;
    }
    regions.set(c.name, { counts: p.counts, vectors });
    writeF32(join(cache, `${c.name}.f32`), vectors);
  }
  for (const [k, v] of whole) writeF32(join(cache, `whole-${k}.f32`), v);
  const ms = { whole: wholeMs / files.length, region: { ...old?.ms.region, ...Object.fromEntries([...regionMs].map(([k, v]) => [k, v / files.length])) } };
  const counts = { ...old?.counts, ...Object.fromEntries([...regions].map(([k, v]) => [k, v.counts])) };
  writeFileSync(meta, JSON.stringify({ files, counts, ms }));
  return { files, whole, regions, ms: { whole: ms.whole, region: new Map(Object.entries(ms.region)) } };
}

/** Input size for a query crop of w×h pixels (benchmark images are 1024×768) under each mode. */
function querySize(mode: QueryMode, w: number, h: number, cfg: RegionConfig | null, imgW: number, imgH: number): [number, number] {
  const clamp = (v: number) => Math.max(32, Math.round(v));
  switch (mode) {
    case 'square224':
      return [224, 224];
    case 'windowPixels': {
      const side = (cfg?.windowCells ?? 7) * 32;
      return [side, side];
    }
    case 'aspect224': {
      const s = Math.sqrt((224 * 224) / (w * h));
      return [clamp(w * s), clamp(h * s)];
    }
    case 'regionScale': {
      const [rw, rh] = cfg?.inputSize ?? [224, 224];
      return [clamp((w * rw) / imgW), clamp((h * rh) / imgH)];
    }
  }
}

async function encodeQueries(enc: Encoder, bench: string, queries: Query[], configs: (RegionConfig | null)[]): Promise<Map<string, Float32Array>> {
  // key: `${mode}|${w}x${h}` sizes are shared across configs where they coincide.
  const out = new Map<string, Float32Array>();
  for (const [qi, q] of queries.entries()) {
    const bytes = readFileSync(join(bench, q.image));
    const { width, height } = await readImageHeader(bytes, q.image);
    const [x, y, w, h] = q.crop;
    for (const mode of QUERY_MODES) {
      for (const cfg of configs) {
        const size = querySize(mode, w, h, cfg, width, height);
        const key = `${qi}|${size.join('x')}`;
        if (out.has(key)) continue;
        out.set(key, await enc.pooled(await processorFor(null).crop(bytes, q.image, { x, y, w, h }, { size })));
      }
    }
  }
  return out;
}

/** Every image's raw vectors (row 0 whole, then windows) under one config, concatenated, with per-image counts. */
function imageRows(enc: Encoded, cfgName: string | null): { rows: Float32Array; counts: number[] } {
  const reg = cfgName ? enc.regions.get(cfgName)! : null;
  const whole = enc.whole.get(cfgName ? parseConfig(cfgName).inputSize.join('x') : 'none')!;
  const counts = enc.files.map((_, i) => 1 + (reg ? reg.counts[i] : 0));
  const rows = new Float32Array(counts.reduce((a, b) => a + b, 0) * DIM);
  let o = 0;
  let r = 0;
  for (let i = 0; i < enc.files.length; i++) {
    rows.set(whole.subarray(i * DIM, (i + 1) * DIM), r * DIM);
    r++;
    const n = counts[i] - 1;
    if (reg && n) rows.set(reg.vectors.subarray(o * DIM, (o + n) * DIM), r * DIM);
    o += n;
    r += n;
  }
  return { rows, counts };
}

/** Coordinates of (optionally L2-normalised) rows in the top-`maxDim` PCA basis, before any whitening scale. */
function pcaCoordinates(rows: Float32Array, pca: Pca, maxDim: number, l2First: boolean): Float32Array {
  const basis = new Float32Array(DIM * maxDim);
  for (let i = 0; i < DIM; i++) basis.set(pca.vecs.subarray(i * DIM, i * DIM + maxDim), i * maxDim);
  const x = l2First ? l2NormalizeRows(rows.slice(), DIM) : rows;
  return projectRows(x, DIM, pca.mean, basis, maxDim);
}

/** Whitening of PCA coordinates: keep d of them, scale component k by λ_k^(−power/2), L2-normalise. */
function whiten(coords: Float32Array, maxDim: number, pca: Pca, d: number, power: number): Float32Array {
  const n = coords.length / maxDim;
  const out = new Float32Array(n * d);
  const eps = pca.vals[0] * 1e-6;
  const scale = Float32Array.from({ length: d }, (_, k) => Math.pow(Math.max(pca.vals[k], eps), -power / 2));
  for (let r = 0; r < n; r++) for (let k = 0; k < d; k++) out[r * d + k] = coords[r * maxDim + k] * scale[k];
  return l2NormalizeRows(out, d);
}

interface Pca {
  mean: Float32Array;
  vals: Float32Array;
  vecs: Float32Array;
}

/** Ranks images by their best vector against each query (query image excluded) and summarises the metrics. */
function score(files: string[], counts: number[], vecs: Float32Array, dim: number, queries: Query[], qvecs: Float32Array): RetrievalSummary {
  const rankings = queries.map((q, qi) => {
    const qv = qvecs.subarray(qi * dim, (qi + 1) * dim);
    const scores: { f: string; s: number }[] = [];
    let r = 0;
    files.forEach((f, i) => {
      const n = counts[i];
      if (f !== q.image) {
        let best = -Infinity;
        for (let j = r; j < r + n; j++) {
          let s = 0;
          const base = j * dim;
          for (let k = 0; k < dim; k++) s += vecs[base + k] * qv[k];
          if (s > best) best = s;
        }
        scores.push({ f, s: best });
      }
      r += n;
    });
    scores.sort((a, b) => b.s - a.s);
    return { ranked: scores.map((x) => x.f), relevant: new Set(q.relevant) };
  });
  return summarise(rankings);
}

async function main(argv: string[]): Promise<void> {
  const bench = arg(argv, 'bench');
  const whitenBench = arg(argv, 'whiten');
  const model = arg(argv, 'model');
  const outPath = arg(argv, 'out');
  const threads = Number(arg(argv, 'threads', '2'));
  const REGION_CONFIGS = arg(argv, 'configs', DEFAULT_CONFIGS).split(',').map(parseConfig);
  const modelHash = createHash('sha256').update(readFileSync(model)).digest('hex').slice(0, 12);
  const enc = await Encoder.open(model, threads);
  const queries = JSON.parse(readFileSync(join(bench, 'queries.json'), 'utf8')) as Query[];

  console.log('encoding eval benchmark');
  const evalEnc = await encodeBench(enc, bench, modelHash, REGION_CONFIGS);
  console.log('encoding queries');
  const qv = await encodeQueries(enc, bench, queries, [null, ...REGION_CONFIGS]);
  const qimg = await Promise.all(queries.map(async (q) => {
    const meta = await sharp(join(bench, q.image)).metadata();
    return [meta.width ?? 0, meta.height ?? 0] as const;
  }));
  /** Raw query vectors (queries × DIM) for one crop mode under one config. */
  const qraw = (mode: QueryMode, cfg: RegionConfig | null): Float32Array => {
    const out = new Float32Array(queries.length * DIM);
    queries.forEach((q, qi) => out.set(qv.get(`${qi}|${querySize(mode, q.crop[2], q.crop[3], cfg, qimg[qi][0], qimg[qi][1]).join('x')}`)!, qi * DIM));
    return out;
  };
  const l2 = (a: Float32Array, d = DIM) => l2NormalizeRows(a.slice(), d);

  const rows: Record<string, unknown>[] = [];
  const vecsPerImage = (cfg: RegionConfig | null) =>
    1 + (cfg ? evalEnc.regions.get(cfg.name)!.counts.reduce((a, b) => a + b, 0) / evalEnc.files.length : 0);
  const report = (name: string, cfg: RegionConfig | null, mode: QueryMode, projection: string, d: number, m: RetrievalSummary) => {
    const vpi = vecsPerImage(cfg);
    const ms = evalEnc.ms.whole + (cfg ? evalEnc.ms.region.get(cfg.inputSize.join('x'))! : 0);
    const row = { scheme: name, query: mode, projection, dim: d, ...m, vectorsPerImage: +vpi.toFixed(1), encoderMsPerImage: +ms.toFixed(1), bytesPerImageF32: Math.round(vpi * d * 4) };
    rows.push(row);
    console.log(`${name.padEnd(14)} ${mode.padEnd(12)} ${projection.padEnd(16)} ${String(d).padEnd(4)} mAP@100 ${m['mAP@100'].toFixed(4)} R@1 ${m['R@1'].toFixed(3)} R@10 ${m['R@10'].toFixed(3)} vec/img ${vpi.toFixed(1)} ms ${ms.toFixed(0)}`);
  };

  console.log(`\n${queries.length} queries, ${evalEnc.files.length} images`);
  for (const cfg of [null, ...REGION_CONFIGS]) {
    const { rows: r, counts } = imageRows(evalEnc, cfg?.name ?? null);
    const vecs = l2(r);
    for (const mode of QUERY_MODES) {
      if (!cfg && mode === 'windowPixels') continue;
      report(cfg?.name ?? 'whole-only', cfg, mode, 'none', DIM, score(evalEnc.files, counts, vecs, DIM, queries, l2(qraw(mode, cfg))));
    }
  }

  console.log('\nencoding whitening benchmark');
  if (!existsSync(join(whitenBench, 'queries.json'))) throw new Error(`--whiten ${whitenBench}: no queries.json, the benchmark is incomplete`);
  const whEnc = await encodeBench(enc, whitenBench, modelHash, REGION_CONFIGS);
  await enc.close();
  const here = dirname(fileURLToPath(import.meta.url));
  // One PCA per config: its windows on whitening-split images plus their whole-image vectors.
  const pcaFor = (cfg: RegionConfig, l2In: boolean): Pca => {
    const dir = join(whitenBench, '.encoded', modelHash, `pca-${cfg.name}-${l2In ? 'l2' : 'raw'}`);
    if (!existsSync(join(dir, 'eigvecs.f32'))) {
      const tmp = join(whitenBench, '.encoded', modelHash, `train-${cfg.name}.f32`);
      writeF32(tmp, imageRows(whEnc, cfg.name).rows);
      execFileSync('python3', [join(here, 'pca.py'), tmp, String(DIM), dir, ...(l2In ? ['--l2'] : [])], { stdio: 'inherit' });
    }
    return { mean: readF32(join(dir, 'mean.f32')), vals: readF32(join(dir, 'eigvals.f32')), vecs: readF32(join(dir, 'eigvecs.f32')) };
  };
  const whitened = (process.env.WHITEN_CONFIGS ?? '672x512-w5s2,672x512-w6s3,896x672-w6s3').split(',');
  const modes = (process.env.WHITEN_QUERY_MODES ?? 'square224,regionScale').split(',') as QueryMode[];
  const MAXD = 512;
  for (const name of whitened) {
    const cfg = REGION_CONFIGS.find((c) => c.name === name);
    if (!cfg) throw new Error(`WHITEN_CONFIGS: unknown config ${name}`);
    const { rows: r, counts } = imageRows(evalEnc, cfg.name);
    for (const l2In of [false, true]) {
      const pca = pcaFor(cfg, l2In);
      const coords = pcaCoordinates(r, pca, MAXD, l2In);
      const qcoords = new Map(modes.map((m) => [m, pcaCoordinates(qraw(m, cfg), pca, MAXD, l2In)]));
      for (const d of [256, 512]) {
        for (const power of [1, 0.5]) {
          const vecs = whiten(coords, MAXD, pca, d, power);
          for (const mode of modes) {
            report(cfg.name, cfg, mode, `pca-${l2In ? 'l2in' : 'rawin'}-a${power}`, d, score(evalEnc.files, counts, vecs, d, queries, whiten(qcoords.get(mode)!, MAXD, pca, d, power)));
          }
        }
      }
      if (!l2In) {
        const w = imageRows(evalEnc, null);
        const wc = pcaCoordinates(w.rows, pca, MAXD, false);
        report('whole-only', null, 'square224', `pca-rawin-a1 (${cfg.name})`, 256, score(evalEnc.files, w.counts, whiten(wc, MAXD, pca, 256, 1), 256, queries, whiten(pcaCoordinates(qraw('square224', null), pca, MAXD, false), MAXD, pca, 256, 1)));
      }
    }
  }
  writeFileSync(outPath, JSON.stringify({ model, modelHash, bench, whitenBench, queries: queries.length, images: evalEnc.files.length, whiteningImages: whEnc.files.length, encoderMs: { whole: evalEnc.ms.whole, region: Object.fromEntries(evalEnc.ms.region) }, rows }, null, 1));
  console.log(`wrote ${outPath}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));

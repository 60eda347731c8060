// Search kernel benchmark: flat top-1000 over 1M×512 seeded unit vectors (float32 and float16 storage) against a
// plain C loop streaming the same float32 array with the same threads (measured in the same run, interleaved, so
// the ratio holds on a shared machine), 8 queries in one pass, max-per-image over 1..40 rows per image, and the
// QuARI low-rank rerank (r=64, d=512) of 1k/10k/100k rows.
//   node --import tsx bench/search-kernels.ts [--json]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  configureKernels,
  flatTopK,
  flatTopKBatch,
  float32ToFloat16,
  rerankLowRank,
  streamBaseline,
} from '../electron/engine/search/kernels.ts';

const N = 1_000_000;
const DIM = 512;
const TOP = 1000;
const RANK = 64;
const RUNS = 9;
const WARMUP = 2;

/** xorshift32 in [-0.5, 0.5): fast enough to fill 512M floats in a few seconds. */
function fillUnitRows(out: Float32Array, dim: number, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let row = 0; row < out.length; row += dim) {
    let ss = 0;
    for (let j = row; j < row + dim; j++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const v = (s >>> 0) / 4294967296 - 0.5;
      out[j] = v;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = row; j < row + dim; j++) out[j] *= inv;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

interface Timings {
  median: Record<string, number>;
  min: Record<string, number>;
  /** Median over rounds of a/b measured in the same round: robust to load that changes between rounds. */
  pairedRatio(a: string, b: string): number;
}

/** Runs the named closures round-robin (warm-up first) and returns each one's median and minimum milliseconds. */
function interleaved(fns: Record<string, () => unknown>, runs = RUNS): Timings {
  const times: Record<string, number[]> = {};
  for (const name of Object.keys(fns)) times[name] = [];
  for (let i = 0; i < WARMUP + runs; i++) {
    for (const [name, fn] of Object.entries(fns)) {
      const ms = time(fn);
      if (i >= WARMUP) times[name].push(ms);
    }
  }
  const pick = (f: (xs: number[]) => number) => Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, f(xs)]));
  return {
    median: pick(median),
    min: pick((xs) => Math.min(...xs)),
    pairedRatio: (a, b) => median(times[a].map((x, i) => x / times[b][i])),
  };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

export async function runSearchKernelBench(): Promise<Record<string, number>> {
  const config = configureKernels();
  const load1 = loadavg()[0];
  const vectors = new Float32Array(N * DIM);
  fillUnitRows(vectors, DIM, 12345);
  const halves = float32ToFloat16(vectors);
  const queries = new Float32Array(8 * DIM);
  fillUnitRows(queries, DIM, 777);
  const query = queries.subarray(0, DIM);

  const flat = interleaved({
    stream: () => streamBaseline(vectors),
    f32: () => flatTopK(vectors, DIM, query, null, TOP),
    f16: () => flatTopK(halves, DIM, query, null, TOP),
    batch8: () => flatTopKBatch(vectors, DIM, queries, null, TOP),
  });

  // Multi-vector catalog shape: 1M rows as images of 1..40 rows (max-per-image top-K).
  const offsets: number[] = [0];
  let seed = 99;
  while (offsets[offsets.length - 1] < N) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    offsets.push(Math.min(N, offsets[offsets.length - 1] + 1 + (seed >>> 8) % 40));
  }
  const owners = new Uint32Array(offsets);
  const images = interleaved({ f32: () => flatTopK(vectors, DIM, query, owners, TOP) }, 5);

  const factors = new Float32Array(2 * DIM * RANK);
  fillUnitRows(factors, DIM * RANK, 4242); // two unit-norm d×r blocks: entries ≈ 1/√(d·r)
  const U = factors.subarray(0, DIM * RANK);
  const V = factors.subarray(DIM * RANK);
  for (let i = 0; i < factors.length; i++) factors[i] *= Math.sqrt(RANK);
  const rowsOf = (m: number) => {
    const rows = new Uint32Array(m);
    let s = m;
    for (let i = 0; i < m; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      rows[i] = s % N;
    }
    return rows;
  };
  const rerank: Record<string, number> = {};
  for (const m of [1_000, 10_000, 100_000]) {
    const rows = rowsOf(m);
    const r = interleaved({
      f32: () => rerankLowRank(vectors, DIM, rows, query, U, V, RANK, 0.5),
      f16: () => rerankLowRank(halves, DIM, rows, query, U, V, RANK, 0.5),
    }, m >= 100_000 ? 5 : RUNS);
    rerank[`rerank_${m / 1000}k_ms`] = round(r.median.f32);
    rerank[`rerank_${m / 1000}k_f16_ms`] = round(r.median.f16);
  }

  return {
    flat_1m_512_ms: round(flat.median.f32),
    flat_1m_512_f16_ms: round(flat.median.f16),
    stream_baseline_1m_512_ms: round(flat.median.stream),
    flat_vs_stream_ratio: round(flat.pairedRatio('f32', 'stream'), 3),
    flat_f16_vs_f32_ratio: round(flat.pairedRatio('f16', 'f32'), 3),
    flat_1m_512_min_ms: round(flat.min.f32),
    flat_1m_512_f16_min_ms: round(flat.min.f16),
    stream_baseline_1m_512_min_ms: round(flat.min.stream),
    flat_1m_512_batch8_ms: round(flat.median.batch8),
    flat_1m_512_images_ms: round(images.median.f32),
    ...rerank,
    search_threads: config.threads,
    search_simd: config.simd ? 1 : 0,
    search_loadavg_1m_at_start: round(load1),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { json: { type: 'boolean' } } });
  const results = await runSearchKernelBench();
  if (values.json) console.log(JSON.stringify(results));
  else for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(32)} ${value}`);
}

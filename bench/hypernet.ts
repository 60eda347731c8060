// QuARI hypernetwork forward timing on the cfgA fixture (E=512, H=512, r=64, T=4, L=4, 8 heads), one query.
// Goal: the ONNX graph no slower than PyTorch 1.13 on one thread. The PyTorch number comes from
// bench/hypernet_torch.py (the same network written from the fixture README's math), measured in the same run when
// a python3 with torch is available (QUARI_BENCH_PYTHON, python3 or /usr/bin/python3).
// Run alone: node --import tsx bench/hypernet.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { Hypernetwork } from '../electron/engine/models/Hypernetwork.ts';
import { buildHypernetOnnx } from '../native-models/runtime/quari/buildHypernetOnnx.ts';
import { readQuariCheckpoint } from '../native-models/runtime/quari/checkpoint/index.ts';

const CFG_A = fileURLToPath(new URL('../../shared/fixtures/quari-reference/cfgA/', import.meta.url));
const WARMUP = 5;
const RUNS = 21;
const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number): number => Math.round(x * 10) / 10;

async function timeRuns(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

function torchPython(): string | null {
  const candidates = [process.env.QUARI_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (spawnSync(py, ['-c', 'import torch, yaml, numpy'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

function torchRuns(py: string, runs: number): { median_ms: number; min_ms: number; maxdiff_refined_query: number } {
  const script = fileURLToPath(new URL('./hypernet_torch.py', import.meta.url));
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const stdout = execFileSync(py, [script, CFG_A, `${CFG_A}query.bin`, String(WARMUP), String(runs)], { env, encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

export async function runHypernetBench(): Promise<Record<string, number>> {
  const ckpt = readQuariCheckpoint(CFG_A);
  const E = ckpt.hparams.embeddingDim;
  const q = readFileSync(`${CFG_A}query.bin`);
  const query = new Float32Array(q.buffer.slice(q.byteOffset, q.byteOffset + E * 4));
  const results: Record<string, number> = {};

  // Session settings sweep, straight on the built graph.
  const bytes = buildHypernetOnnx(ckpt);
  const feed = { query: new ort.Tensor('float32', query, [1, E]) };
  for (const threads of [1, 2]) {
    for (const level of LEVELS) {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: level });
      results[`hypernet_cfgA_t${threads}_${level}_ms`] = round(median(await timeRuns(() => session.run(feed), 11)));
      await session.release();
    }
  }

  // Production path (Hypernetwork defaults), alternated with PyTorch so both see the same machine load.
  const net = await Hypernetwork.fromCheckpoint(ckpt);
  const py = torchPython();
  const onnxTimes: number[] = [];
  const torchMedians: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    onnxTimes.push(...(await timeRuns(() => net.run(query, 1), RUNS)));
    if (py) {
      const t = torchRuns(py, RUNS);
      if (!(t.maxdiff_refined_query < 2e-6)) throw new Error(`bench/hypernet_torch.py does not reproduce the cfgA fixture (refined_query off by ${t.maxdiff_refined_query})`);
      torchMedians.push(t.median_ms);
    }
  }
  await net.release();
  results.hypernet_cfgA_ms = round(median(onnxTimes));
  results.hypernet_cfgA_min_ms = round(Math.min(...onnxTimes));
  if (torchMedians.length) {
    results.hypernet_cfgA_torch1t_ms = round(median(torchMedians));
    results.hypernet_cfgA_onnx_over_torch = Math.round((results.hypernet_cfgA_ms / results.hypernet_cfgA_torch1t_ms) * 100) / 100;
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await runHypernetBench(), null, 2));
}

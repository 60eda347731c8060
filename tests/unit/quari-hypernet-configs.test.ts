// The ONNX hypernetwork against an independent float64 forward (tests/helpers/quari-reference64.ts) on random
// checkpoints of configurations the fixtures do not cover, written in torch.save format and read back through the
// checkpoint reader. The float64 reference is itself checked against the cfgS fixture first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hypernetwork, lowRankScores } from '../../electron/engine/models/Hypernetwork.ts';
import { readQuariCheckpoint, expectedStateDictShapes, type QuariHparams } from '../../native-models/runtime/quari/checkpoint/index.ts';
import { denseScores64, erf, quariForward64 } from '../helpers/quari-reference64.ts';
import { writeQuariCheckpoint, type StateDictEntry } from '../helpers/quari-torch-save.ts';
import { CFG_S } from '../helpers/quari-fixtures.ts';

const ATOL = 2e-6;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function loadBin(dir: string, name: string): Float32Array {
  const b = readFileSync(join(dir, `${name}.bin`));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Deterministic normal deviates (LCG + Box–Muller) so a failing case reproduces. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

interface RandomConfig {
  name: string;
  /** config.yml hparams in file order; absent keys take the constructor defaults. */
  yml: [string, number | boolean][];
  posScale: number;
  seed: number;
}

/**
 * A state_dict shaped like TransformerHypernetwork's: Linear weights ~ N(0, 1/in) plus LayerNorm γ, β perturbed
 * away from (1, 0), the constructor's interleaved sin/cos pos_emb, then — as the fixtures do — the last Linear of
 * query_decoder (and of dec_u/v_img without Frobenius normalisation) rescaled so its output has norm ≈ 1.
 */
function randomStateDict(h: QuariHparams, posScale: number, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  const randn = gaussian(seed);
  const H = h.hiddenDim;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, shape] of expectedStateDictShapes(h)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (key === 'pos_emb') {
      for (let p = 0; p < shape[0]; p++) {
        for (let k = 0; k < H / 2; k++) {
          const div = Math.exp(2 * k * (-Math.log(10000) / H));
          data[p * H + 2 * k] = Math.sin(p * div);
          data[p * H + 2 * k + 1] = Math.cos(p * div);
        }
      }
    } else if (key === 'pos_scale') {
      data[0] = posScale;
    } else if (/norm\d?\.weight$|query_encoder\.[15]\.weight$/.test(key)) {
      for (let i = 0; i < n; i++) data[i] = 1 + 0.2 * randn();
    } else if (shape.length === 1) {
      for (let i = 0; i < n; i++) data[i] = 0.1 * randn();
    } else {
      const std = 1 / Math.sqrt(shape[1]);
      for (let i = 0; i < n; i++) data[i] = std * randn();
    }
    tensors.set(key, { shape, data });
  }
  return tensors;
}

function scaleLinear(tensors: Map<string, { data: Float32Array }>, name: string, factor: number): void {
  for (const k of [`${name}.weight`, `${name}.bias`]) {
    const t = tensors.get(k)!;
    for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(t.data[i] * factor);
  }
}

function rms(x: Float64Array, rows: number): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / rows);
}

const HPARAM_FIELDS: Record<string, keyof QuariHparams> = {
  embedding_dim: 'embeddingDim', low_rank_dim: 'lowRankDim', hidden_dim: 'hiddenDim', num_steps: 'numSteps', nhead: 'nhead',
  num_layers: 'numLayers', dropout: 'dropout', query_residual_weight: 'queryResidualWeight', use_fro_norm: 'useFroNorm', anchor_scale: 'anchorScale',
};
const DEFAULTS: QuariHparams = {
  embeddingDim: 0, lowRankDim: 64, hiddenDim: 512, numSteps: 4, nhead: 8, numLayers: 4, dropout: 0.1,
  queryResidualWeight: 0.5, useFroNorm: true, anchorScale: 0.8,
};

const CONFIGS: RandomConfig[] = [
  {
    name: 'E96 H64 r8 T3 nhead4 L2, no Frobenius norm, w 0.2, a 1.3',
    yml: [['hidden_dim', 64], ['nhead', 4], ['low_rank_dim', 8], ['query_residual_weight', 0.2], ['anchor_scale', 1.3], ['num_steps', 3], ['num_layers', 2], ['embedding_dim', 96], ['use_fro_norm', false]],
    posScale: 0.37,
    seed: 11,
  },
  {
    // E < H, one head of size 80 (1/sqrt(80) is not a power of two), defaults for w and a
    name: 'E48 H80 r5 T1 nhead1 L1, defaults for w and a',
    yml: [['embedding_dim', 48], ['hidden_dim', 80], ['low_rank_dim', 5], ['num_steps', 1], ['nhead', 1], ['num_layers', 1], ['use_fro_norm', true]],
    posScale: 1,
    seed: 22,
  },
  {
    name: 'E40 H96 r3 T2 nhead3 L3, w 0.65, a 0.25',
    yml: [['use_fro_norm', true], ['embedding_dim', 40], ['num_layers', 3], ['nhead', 3], ['hidden_dim', 96], ['low_rank_dim', 3], ['num_steps', 2], ['query_residual_weight', 0.65], ['anchor_scale', 0.25], ['dropout', 0.0]],
    posScale: 0.1,
    seed: 33,
  },
];

test('erf helper matches known values and is continuous where its two methods meet', () => {
  assert.ok(Math.abs(erf(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erf(1) - 0.8427007929497149) < 1e-15);
  assert.ok(Math.abs(erf(-2) + 0.9953222650189527) < 1e-15);
  assert.ok(Math.abs(erf(3) - 0.9999779095030014) < 1e-15);
  assert.ok(Math.abs(erf(2.5 - 1e-12) - erf(2.5)) < 1e-13);
});

test('float64 reference forward reproduces the cfgS fixture (so it can judge other configurations)', () => {
  const dir = CFG_S;
  const ckpt = readQuariCheckpoint(dir);
  const q = loadBin(dir, 'query').subarray(0, 2 * ckpt.hparams.embeddingDim); // 2 of the 8 queries keep it quick
  const ref = quariForward64(ckpt.hparams, ckpt.tensors, q, 2);
  const E = ckpt.hparams.embeddingDim;
  const r = ckpt.hparams.lowRankDim;
  assert.ok(maxAbsDiff(ref.refinedQuery, loadBin(dir, 'refined_query').subarray(0, 2 * E)) < 5e-7);
  assert.ok(maxAbsDiff(ref.U, loadBin(dir, 'U').subarray(0, 2 * E * r)) < 5e-7);
  assert.ok(maxAbsDiff(ref.V, loadBin(dir, 'V').subarray(0, 2 * E * r)) < 5e-7);
});

for (const cfg of CONFIGS) {
  test(`ONNX hypernetwork matches the float64 reference: ${cfg.name}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'quari-cfg-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const hp: QuariHparams = { ...DEFAULTS };
    for (const [k, v] of cfg.yml) (hp as unknown as Record<string, number | boolean>)[HPARAM_FIELDS[k]] = v;
    const E = hp.embeddingDim;
    const r = hp.lowRankDim;

    const B = 5;
    const randn = gaussian(cfg.seed + 1000);
    // deliberately not unit norm: the graph normalises its input
    const queries = Float32Array.from({ length: B * E }, () => 0.7 * randn());
    const M = 23;
    const gallery = Float32Array.from({ length: M * E }, () => randn() / Math.sqrt(E));

    const tensors = randomStateDict(hp, cfg.posScale, cfg.seed);
    const probe = quariForward64(hp, tensors, queries, B);
    scaleLinear(tensors, 'query_decoder.3', 1 / rms(probe.decoded, B));
    if (!hp.useFroNorm) {
      scaleLinear(tensors, 'dec_u_img.3', 1 / rms(probe.Uraw, B));
      scaleLinear(tensors, 'dec_v_img.3', 1 / rms(probe.Vraw, B));
    }
    const entries: StateDictEntry[] = [...tensors].map(([key, v]) => ({ key, ...v }));
    writeQuariCheckpoint(dir, cfg.yml, entries);

    const ckpt = readQuariCheckpoint(dir);
    assert.deepEqual(ckpt.hparams, hp);
    assert.equal(ckpt.posScale, Math.fround(cfg.posScale));
    const ref = quariForward64(ckpt.hparams, ckpt.tensors, queries, B);

    const net = await Hypernetwork.fromCheckpoint(ckpt);
    t.after(() => net.release());
    const out = await net.run(queries, B);
    await assert.rejects(net.run(queries.subarray(1), B), /expected batch 5 × dim/);
    assert.equal(out.anchorScale, hp.anchorScale);
    assert.equal(out.rank, r);
    assert.equal(out.dim, E);
    const diffs = {
      refined_query: maxAbsDiff(out.refinedQuery, ref.refinedQuery),
      U: maxAbsDiff(out.U, ref.U),
      V: maxAbsDiff(out.V, ref.V),
    };
    t.diagnostic(`max |ONNX − float64|: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [name, d] of Object.entries(diffs)) assert.ok(d <= ATOL, `${name}: max |ONNX − float64| ${d} > ${ATOL}`);

    // the calibration makes both halves of the residual mix and every factor matter
    const mixShare = (1 - hp.queryResidualWeight) * rms(ref.decoded, B);
    assert.ok(mixShare > 0.1 && hp.queryResidualWeight > 0.1, 'decoded query and input query both weigh in');

    const fast = lowRankScores(out.refinedQuery, out.U, out.V, out.anchorScale, gallery, M, E, r);
    const dense = denseScores64(ref.refinedQuery, ref.U, ref.V, hp.anchorScale, gallery, B, M, E, r);
    const d = maxAbsDiff(fast, dense);
    t.diagnostic(`scores: max |lowRankScores(ONNX) − dense float64| ${d.toExponential(2)}`);
    assert.ok(d <= ATOL, `scores: max |lowRankScores(ONNX) − dense float64| ${d} > ${ATOL}`);
    // the transform must move the scores measurably, or the check above would not see U/V mistakes
    const plain = denseScores64(ref.refinedQuery, ref.U, ref.V, 0, gallery, B, M, E, r);
    assert.ok(maxAbsDiff(dense, plain) > 1e-3, 'low-rank transform changes the scores');
  });
}

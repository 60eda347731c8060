// Parity of the ONNX QuARI hypernetwork with the PyTorch reference fixtures: outputs within 2e-6 absolute,
// intermediates within 1e-5 of each tensor's largest magnitude, plus the CLI end to end. cfgS ships in
// tests/fixtures, so a bare clone runs this; cfgA and cfgB (../shared) skip, saying why, where they are absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Hypernetwork, lowRankScores } from '../../electron/engine/models/Hypernetwork.ts';
import { buildHypernetOnnx } from '../../native-models/runtime/quari/buildHypernetOnnx.ts';
import { readQuariCheckpoint } from '../../native-models/runtime/quari/checkpoint/index.ts';
import { CFG_S, sharedFixture } from '../helpers/quari-fixtures.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ATOL = 2e-6;
const DBG_RTOL = 1e-5;

function loadBin(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** W_b = I + a·U_b V_bᵀ for the first `n` batch items, [n,E,E], in float64 rounded to float32. */
function denseW(U: Float32Array, V: Float32Array, a: number, n: number, E: number, r: number): Float32Array {
  const W = new Float32Array(n * E * E);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < E; i++) {
      const ui = (b * E + i) * r;
      for (let k = 0; k < E; k++) {
        const vk = (b * E + k) * r;
        let s = 0;
        for (let j = 0; j < r; j++) s += U[ui + j] * V[vk + j];
        W[(b * E + i) * E + k] = (i === k ? 1 : 0) + a * s;
      }
    }
  }
  return W;
}

const CONFIGS: { cfg: string; dir: string; skip?: string }[] = [
  { cfg: 'cfgS', dir: CFG_S },
  { cfg: 'cfgA', ...sharedFixture('cfgA') },
  { cfg: 'cfgB', ...sharedFixture('cfgB') },
];

for (const { cfg, dir, skip } of CONFIGS) {
  const fixture = (name: string): Float32Array => loadBin(join(dir, `${name}.bin`));

  test(`${cfg}: refined_query, U, V, W_image_first2 and scores match the PyTorch fixture within ${ATOL}`, { skip }, async (t) => {
    const ckpt = readQuariCheckpoint(dir);
    const { embeddingDim: E, lowRankDim: r } = ckpt.hparams;
    const query = fixture('query');
    const gallery = fixture('gallery');
    const B = query.length / E;
    const M = gallery.length / E;

    const net = await Hypernetwork.fromCheckpoint(ckpt);
    t.after(() => net.release());
    assert.equal(net.checkpointHash, ckpt.sha256);
    const out = await net.run(query, B);
    assert.deepEqual([out.batch, out.dim, out.rank, out.anchorScale], [B, E, r, ckpt.hparams.anchorScale]);

    const scores = lowRankScores(out.refinedQuery, out.U, out.V, out.anchorScale, gallery, M, E, r);
    const diffs: Record<string, number> = {
      refined_query: maxAbsDiff(out.refinedQuery, fixture('refined_query')),
      U: maxAbsDiff(out.U, fixture('U')),
      V: maxAbsDiff(out.V, fixture('V')),
      W_image_first2: maxAbsDiff(denseW(out.U, out.V, out.anchorScale, 2, E, r), fixture('W_image_first2')),
      scores: maxAbsDiff(scores, fixture('scores')),
      // the scorer alone, on the fixture's own refined_query/U/V
      scores_from_fixture_factors: maxAbsDiff(
        lowRankScores(fixture('refined_query'), fixture('U'), fixture('V'), ckpt.hparams.anchorScale, gallery, M, E, r),
        fixture('scores'),
      ),
    };
    t.diagnostic(Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', '));
    for (const [name, d] of Object.entries(diffs)) assert.ok(d <= ATOL, `${cfg} ${name}: max |diff| ${d} > ${ATOL}`);

    // batch rows are independent: query 3 alone gives its row of the batch result
    const one = await net.run(query.slice(3 * E, 4 * E), 1);
    assert.ok(maxAbsDiff(one.refinedQuery, out.refinedQuery.subarray(3 * E, 4 * E)) <= 1e-7);
    assert.ok(maxAbsDiff(one.U, out.U.subarray(3 * E * r, 4 * E * r)) <= 1e-7);
  });

  test(`${cfg}: intermediates match the fixture's dbg_* tensors within ${DBG_RTOL}·max|ref|`, { skip }, async (t) => {
    const ckpt = readQuariCheckpoint(dir);
    const { embeddingDim: E, hiddenDim: H, lowRankDim: r, numLayers: L } = ckpt.hparams;
    const S = 1 + 2 * r;
    const query = fixture('query');
    const B = query.length / E;
    const session = await ort.InferenceSession.create(buildHypernetOnnx(ckpt, { debugOutputs: true }), { intraOpNumThreads: 1 });
    t.after(() => session.release());
    const out = await session.run({ query: new ort.Tensor('float32', query, [B, E]) });

    const layerOut = out.dbg_layer_out_step0.data as Float32Array; // [L,B,S,H]; the fixture keeps batch row 0
    const layerOutB0 = new Float32Array(L * S * H);
    for (let l = 0; l < L; l++) layerOutB0.set(layerOut.subarray(l * B * S * H, (l * B + 1) * S * H), l * S * H);
    const got: Record<string, Float32Array> = { dbg_layer_out_step0_b0: layerOutB0 };
    for (const name of ['dbg_ctx0', 'dbg_step_emb', 'dbg_seq_in_step0', 'dbg_seq_out_step0', 'dbg_ctx_per_step', 'dbg_u_tok_final', 'dbg_v_tok_final', 'dbg_U_raw', 'dbg_V_raw']) {
      got[name] = out[name].data as Float32Array;
    }
    const rel: string[] = [];
    for (const [name, value] of Object.entries(got)) {
      const ref = fixture(name);
      const d = maxAbsDiff(value, ref) / maxAbs(ref);
      rel.push(`${name} ${d.toExponential(2)}`);
      assert.ok(d <= DBG_RTOL, `${cfg} ${name}: max |diff| / max |ref| = ${d} > ${DBG_RTOL}`);
    }
    t.diagnostic(`relative: ${rel.join(', ')}`);
  });
}

test('quari hypernet CLI on cfgS writes refined_query/U/V/scores.bin matching the fixture', async (t) => {
  const dir = CFG_S;
  const tmp = mkdtempSync(join(tmpdir(), 'quari-hypernet-cli-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const outDir = join(tmp, 'out');
  const run = promisify(execFile);
  const cli = join(REPO, 'bin', 'quari.mjs');
  const { stdout } = await run(process.execPath, [cli, 'hypernet', '--checkpoint', dir, '--queries', join(dir, 'query.bin'), '--gallery', join(dir, 'gallery.bin'), '--out', outDir, '--json']);
  const summary = JSON.parse(stdout) as { batch: number; gallery: number; dim: number; rank: number };
  assert.deepEqual([summary.batch, summary.gallery, summary.dim, summary.rank], [8, 200, 128, 8]);
  const sizes = { refined_query: 8 * 128, U: 8 * 128 * 8, V: 8 * 128 * 8, scores: 8 * 200 };
  const diffs: string[] = [];
  for (const [name, n] of Object.entries(sizes)) {
    assert.equal(statSync(join(outDir, `${name}.bin`)).size, n * 4, `${name}.bin size`);
    const d = maxAbsDiff(loadBin(join(outDir, `${name}.bin`)), loadBin(join(dir, `${name}.bin`)));
    diffs.push(`${name} ${d.toExponential(2)}`);
    assert.ok(d <= ATOL, `CLI ${name}.bin: max |diff| ${d} > ${ATOL}`);
  }
  t.diagnostic(diffs.join(', '));

  // a queries file that is not whole rows of E float32 values is refused, naming the file and E·4
  const bad = join(tmp, 'bad.bin');
  writeFileSync(bad, readFileSync(join(dir, 'query.bin')).subarray(0, 128 * 4 + 8));
  await assert.rejects(
    run(process.execPath, [cli, 'hypernet', '--checkpoint', dir, '--queries', bad, '--gallery', join(dir, 'gallery.bin'), '--out', join(tmp, 'out2')]),
    (err: { code?: number; stderr?: string }) => err.code === 1 && /bad\.bin: 520 bytes is not a positive multiple of E·4 = 512/.test(err.stderr ?? ''),
  );
});

// QuARI TransformerHypernetwork forward pass as an ONNX graph, built straight from a checkpoint's state_dict
// (math: shared/fixtures/quari-reference/README.md, "The forward pass, exactly").
//
// Layout choices, for speed on CPU:
// * the token state [ctx, u_1..u_r, v_1..v_r] is one [B,S,H] tensor, so a refinement step is a single
//   `X += Encoder(X + stepAdd_t)` where stepAdd_t = [e_t; ps·P[0:r]; ps·P[0:r]] is constant per step;
// * every Linear is a Gemm(transB=1) on a [B·S, H] matrix, using the PyTorch [out,in] weight as is
//   (ORT pre-packs constant B operands), with the bias fused;
// * the attention scale 1/sqrt(d) is folded into the Q rows of in_proj (exact when sqrt(d) is a power of two,
//   one float32 rounding otherwise), and K is transposed straight to [B,nh,d,S] so QKᵀ is a plain batched MatMul;
// * the T unrolled steps reference the same layer initializers (no weight copies), and the step embeddings are
//   computed in-graph from constant sinusoids, which ORT folds at session creation.
// The E×E matrix W = I + a·U Vᵀ is never formed; U and V are the outputs.
import { GraphBuilder } from '../onnx/graph-builder.ts';
import type { QuariCheckpoint } from './checkpoint/index.ts';

export interface BuildHypernetOptions {
  /**
   * Also output the intermediates the reference fixtures carry (dbg_ctx0, dbg_step_emb, dbg_seq_in_step0,
   * dbg_layer_out_step0 [L,B,S,H], dbg_seq_out_step0, dbg_ctx_per_step, dbg_u_tok_final, dbg_v_tok_final,
   * dbg_U_raw, dbg_V_raw) for parity tests. Off for production.
   */
  debugOutputs?: boolean;
}

/** Bumped whenever the emitted graph changes; stored in the model metadata so a saved .onnx says which builder made it. */
export const HYPERNET_GRAPH_VERSION = 1;

const LN_EPS = 1e-5;

export function buildHypernetOnnx(ckpt: QuariCheckpoint, opts: BuildHypernetOptions = {}): Uint8Array {
  const h = ckpt.hparams;
  const E = h.embeddingDim;
  const H = h.hiddenDim;
  const r = h.lowRankDim;
  const T = h.numSteps;
  const L = h.numLayers;
  const nh = h.nhead;
  const S = 1 + 2 * r;
  if (H % nh !== 0) throw new Error(`${ckpt.dir}: hidden_dim ${H} is not divisible by nhead ${nh}`);
  const d = H / nh;
  const debug = opts.debugOutputs === true;

  const tensor = (key: string, shape: number[]): Float32Array => {
    const t = ckpt.tensors.get(key);
    if (!t) throw new Error(`${ckpt.dir}: checkpoint has no tensor ${key}`);
    if (t.shape.join() !== shape.join()) {
      throw new Error(`${ckpt.dir}: tensor ${key} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return t.data;
  };

  const g = new GraphBuilder({ name: 'quari_hypernetwork', opset: 20, docString: `QuARI hypernetwork E=${E} H=${H} r=${r} T=${T} L=${L} nhead=${nh}` });
  g.setMetadata('quari.checkpoint_sha256', ckpt.sha256);
  g.setMetadata('quari.graph_version', String(HYPERNET_GRAPH_VERSION));
  g.setMetadata('quari.anchor_scale', String(h.anchorScale));

  // Initializer names reuse the state_dict keys, so a dumped graph reads like the PyTorch module.
  const weight = (key: string, shape: number[]): string => g.initializer(key, tensor(key, shape), shape);
  const linear = (x: string, name: string, out: number, inp: number): string =>
    g.op('Gemm', [x, weight(`${name}.weight`, [out, inp]), weight(`${name}.bias`, [out])], { transB: 1 });
  const layerNorm = (x: string, name: string): string =>
    g.op('LayerNormalization', [x, weight(`${name}.weight`, [H]), weight(`${name}.bias`, [H])], { axis: -1, epsilon: LN_EPS });
  const gelu = (x: string): string => g.op('Gelu', [x], { approximate: 'none' });
  const l2norm = (x: string, axes: number[]): string => g.op('ReduceL2', [x, g.int64(axes)], { keepdims: 1 });
  const reshape = (x: string, shape: number[]): string => g.op('Reshape', [x, g.int64(shape)]);
  const transpose = (x: string, perm: number[]): string => g.op('Transpose', [x], { perm });
  const slice = (x: string, axis: number, start: number, end: number): string =>
    g.op('Slice', [x, g.int64([start]), g.int64([end]), g.int64([axis])]);

  // 0. q / max(‖q‖, 1e-12), as the reference evaluation normalises its queries.
  const query = g.input('query', 'float32', ['batch', E]);
  const qn = g.op('Div', [query, g.op('Max', [l2norm(query, [-1]), g.float(1e-12)])]);

  // 1. Query encoder: LN5(Lin4(GELU(LN1(Lin0(q))))) → ctx [B,H].
  let ctx = linear(qn, 'query_encoder.0', H, E);
  ctx = gelu(layerNorm(ctx, 'query_encoder.1'));
  ctx = layerNorm(linear(ctx, 'query_encoder.4', H, H), 'query_encoder.5');

  // 3.1–3.2 Step embeddings e_t = Lin2(GELU(Lin0(s_t))) for t = 0..T-1, [T,H], from float32 sinusoids.
  const e = linear(gelu(linear(g.initializer('step_sinusoids', stepSinusoids(T, H), [T, H]), 'step_proj.0', H, H)), 'step_proj.2', H, H);

  // Per-step additive term [T,S,H]: row 0 e_t (cond gets no PE), rows 1..r and r+1..2r both ps·P[0..r-1].
  const posEmb = tensor('pos_emb', [2 * r + 1, H]);
  const ps = tensor('pos_scale', [1])[0];
  const pe = new Float32Array(S * H);
  for (let j = 0; j < r; j++) {
    for (let k = 0; k < H; k++) {
      const v = Math.fround(ps * posEmb[j * H + k]); // one float32 multiply, as ps·P is in PyTorch
      pe[(1 + j) * H + k] = v;
      pe[(1 + r + j) * H + k] = v;
    }
  }
  const firstToken = new Float32Array(S);
  firstToken[0] = 1;
  const firstTokenMask = g.initializer('first_token_mask', firstToken, [S, 1]);
  // e[T,1,H]·mask[S,1] + pe[S,H]: exact (×1, ×0, +0), so every row is exactly e_t or ps·P[j].
  const stepAdd = g.op('Add', [g.op('Mul', [g.op('Unsqueeze', [e, g.int64([1])]), firstTokenMask]), g.initializer('token_pos_emb', pe, [S, H])]);

  // 2. State X = [ctx, u = 0, v = 0], [B,S,H].
  let X = g.op('Mul', [g.op('Unsqueeze', [ctx, g.int64([1])]), firstTokenMask]);

  // Layer weights: created once, referenced by every unrolled step.
  const qScale = 1 / Math.sqrt(d);
  const layers = Array.from({ length: L }, (_, i) => {
    const p = `transformer.layers.${i}`;
    const inW = tensor(`${p}.self_attn.in_proj_weight`, [3 * H, H]).slice();
    const inB = tensor(`${p}.self_attn.in_proj_bias`, [3 * H]).slice();
    for (let k = 0; k < H * H; k++) inW[k] = Math.fround(inW[k] * qScale);
    for (let k = 0; k < H; k++) inB[k] = Math.fround(inB[k] * qScale);
    return {
      norm1: [weight(`${p}.norm1.weight`, [H]), weight(`${p}.norm1.bias`, [H])],
      norm2: [weight(`${p}.norm2.weight`, [H]), weight(`${p}.norm2.bias`, [H])],
      inProj: [g.initializer(`${p}.self_attn.in_proj_weight_qscaled`, inW, [3 * H, H]), g.initializer(`${p}.self_attn.in_proj_bias_qscaled`, inB, [3 * H])],
      outProj: [weight(`${p}.self_attn.out_proj.weight`, [H, H]), weight(`${p}.self_attn.out_proj.bias`, [H])],
      linear1: [weight(`${p}.linear1.weight`, [4 * H, H]), weight(`${p}.linear1.bias`, [4 * H])],
      linear2: [weight(`${p}.linear2.weight`, [H, 4 * H]), weight(`${p}.linear2.bias`, [H])],
    };
  });
  const ln = (x: string, [w, b]: string[]): string => g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: LN_EPS });
  const gemm = (x: string, [w, b]: string[]): string => g.op('Gemm', [x, w, b], { transB: 1 });
  const headsShape = [-1, S, nh, d];

  // Pre-norm encoder layer on x = [B·S, H].
  const encoderLayer = (x: string, w: (typeof layers)[number]): string => {
    const [q, k, v] = g.node('Split', [gemm(ln(x, w.norm1), w.inProj)], 3, { axis: 1, num_outputs: 3 });
    const qh = transpose(reshape(q, headsShape), [0, 2, 1, 3]); // [B,nh,S,d]
    const kt = transpose(reshape(k, headsShape), [0, 2, 3, 1]); // [B,nh,d,S]
    const vh = transpose(reshape(v, headsShape), [0, 2, 1, 3]); // [B,nh,S,d]
    const att = g.op('Softmax', [g.op('MatMul', [qh, kt])], { axis: -1 }); // [B,nh,S,S]
    const o = reshape(transpose(g.op('MatMul', [att, vh]), [0, 2, 1, 3]), [-1, H]);
    x = g.op('Add', [x, gemm(o, w.outProj)]);
    return g.op('Add', [x, gemm(gelu(gemm(ln(x, w.norm2), w.linear1)), w.linear2)]);
  };

  const dbgLayerOut: string[] = [];
  const dbgCtx: string[] = [];
  const tokenIndex = g.int64(0, [], 'token0');
  for (let t = 0; t < T; t++) {
    const seq = g.op('Add', [X, g.op('Gather', [stepAdd, g.int64(t, [], `step${t}`)], { axis: 0 })]); // [B,S,H]
    let x = reshape(seq, [-1, H]);
    for (const w of layers) {
      x = encoderLayer(x, w);
      if (debug && t === 0) dbgLayerOut.push(g.op('Unsqueeze', [reshape(x, [-1, S, H]), g.int64([0])]));
    }
    const out = reshape(x, [-1, S, H]);
    X = g.op('Add', [X, out]);
    if (debug) {
      if (t === 0) {
        g.output(seq, { name: 'dbg_seq_in_step0' });
        g.output(out, { name: 'dbg_seq_out_step0' });
      }
      dbgCtx.push(g.op('Unsqueeze', [g.op('Gather', [X, tokenIndex], { axis: 1 }), g.int64([0])]));
    }
  }

  // 4. refined_query = normalize((1-w)·Lin3(GELU(Lin0(ctx))) + w·q).
  const ctxFinal = g.op('Gather', [X, tokenIndex], { axis: 1 }); // [B,H]
  const qd = linear(gelu(linear(ctxFinal, 'query_decoder.0', H, H)), 'query_decoder.3', E, H);
  const wRes = h.queryResidualWeight;
  const mixed = g.op('Add', [g.op('Mul', [qd, g.float(1 - wRes)]), g.op('Mul', [qn, g.float(wRes)])]);
  const refined = g.op('Div', [mixed, g.op('Max', [l2norm(mixed, [-1]), g.float(1e-12)])]);
  g.output(refined, { name: 'refined_query', shape: ['batch', E] });

  // 5. U = Lin3(GELU(Lin0(u)))ᵀ per batch item, [B,E,r]; V likewise; optional Frobenius normalisation.
  const factor = (start: number, dec: string): { raw: string; tok: string } => {
    const tok = slice(X, 1, start, start + r); // [B,r,H]
    const dec2 = linear(gelu(linear(reshape(tok, [-1, H]), `${dec}.0`, H, H)), `${dec}.3`, E, H); // [B·r,E]
    return { raw: transpose(reshape(dec2, [-1, r, E]), [0, 2, 1]), tok };
  };
  const U = factor(1, 'dec_u_img');
  const V = factor(1 + r, 'dec_v_img');
  const froNorm = (m: string): string =>
    h.useFroNorm ? g.op('Div', [m, g.op('Add', [l2norm(m, [1, 2]), g.float(1e-8)])]) : m;
  g.output(froNorm(U.raw), { name: 'U', shape: ['batch', E, r] });
  g.output(froNorm(V.raw), { name: 'V', shape: ['batch', E, r] });

  if (debug) {
    g.output(ctx, { name: 'dbg_ctx0' });
    g.output(e, { name: 'dbg_step_emb' });
    g.output(g.op('Concat', dbgLayerOut, { axis: 0 }), { name: 'dbg_layer_out_step0' });
    g.output(g.op('Concat', dbgCtx, { axis: 0 }), { name: 'dbg_ctx_per_step' });
    g.output(U.tok, { name: 'dbg_u_tok_final' });
    g.output(V.tok, { name: 'dbg_v_tok_final' });
    g.output(U.raw, { name: 'dbg_U_raw' });
    g.output(V.raw, { name: 'dbg_V_raw' });
  }
  return g.toBytes();
}

/**
 * s_t = [cos(t·f_0..f_{half-1}), sin(t·f_0..f_{half-1})] (+ one 0 if H is odd), f_k = exp(−ln(10000)·k/half),
 * rounded step by step as the reference computes it in float32.
 */
export function stepSinusoids(T: number, H: number): Float32Array {
  const half = Math.floor(H / 2);
  const f = Math.fround;
  const out = new Float32Array(T * H);
  const c = f(-Math.log(10000));
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < half; k++) {
      const freq = f(Math.exp(f(f(c * k) / half)));
      const arg = f(t * freq);
      out[t * H + k] = Math.cos(arg);
      out[t * H + half + k] = Math.sin(arg);
    }
  }
  return out;
}

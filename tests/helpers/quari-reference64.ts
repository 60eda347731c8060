// Independent float64 QuARI hypernetwork forward in plain TypeScript, written from the math in
// shared/fixtures/quari-reference/README.md ("The forward pass, exactly"), loop by loop. Tests compare the ONNX graph
// with it on configurations the fixtures do not cover. Slow (O(T·L·S·H²) JS loops): small configurations only.
import type { QuariHparams } from '../../native-models/runtime/quari/checkpoint/index.ts';

export interface Reference64Output {
  /** [B,E] */
  refinedQuery: Float64Array;
  /** [B,E,r], after the optional Frobenius normalisation. */
  U: Float64Array;
  V: Float64Array;
  /** Query-decoder output before mixing with the query, [B,E] (for calibrating random weights). */
  decoded: Float64Array;
  /** U, V before normalisation, [B,E,r]. */
  Uraw: Float64Array;
  Vraw: Float64Array;
}

/** erf to ~1e-14: Maclaurin series below 2.5, Lentz-free backward continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  let v: number;
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    v = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
    let cf = ax;
    for (let k = 120; k >= 1; k--) cf = ax + k / 2 / cf;
    v = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / cf;
  }
  return x < 0 ? -v : v;
}

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

type Weights = (key: string) => Float64Array;

/** y[n,out] = x[n,in] Wᵀ + b with W [out,in] (nn.Linear). */
function linear(x: Float64Array, n: number, inp: number, w: Float64Array, b: Float64Array, out: number): Float64Array {
  const y = new Float64Array(n * out);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let k = 0; k < inp; k++) s += x[i * inp + k] * w[o * inp + k];
      y[i * out + o] = s;
    }
  }
  return y;
}

/** LayerNorm over the last axis (biased variance), eps 1e-5. */
function layerNorm(x: Float64Array, n: number, dim: number, g: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let k = 0; k < dim; k++) mean += x[i * dim + k];
    mean /= dim;
    let v = 0;
    for (let k = 0; k < dim; k++) v += (x[i * dim + k] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + 1e-5);
    for (let k = 0; k < dim; k++) y[i * dim + k] = (x[i * dim + k] - mean) * inv * g[k] + b[k];
  }
  return y;
}

const map = (x: Float64Array, f: (v: number) => number): Float64Array => x.map(f);

/** Row-wise x / max(‖x‖, 1e-12). */
function normalizeRows(x: Float64Array, n: number, dim: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] ** 2;
    const d = Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < dim; k++) y[i * dim + k] = x[i * dim + k] / d;
  }
  return y;
}

/** One pre-norm encoder layer on one sequence x [S,H]. */
function encoderLayer(x: Float64Array, S: number, H: number, nh: number, p: string, W: Weights): Float64Array {
  const d = H / nh;
  const h1 = layerNorm(x, S, H, W(`${p}.norm1.weight`), W(`${p}.norm1.bias`));
  const qkv = linear(h1, S, H, W(`${p}.self_attn.in_proj_weight`), W(`${p}.self_attn.in_proj_bias`), 3 * H);
  const o = new Float64Array(S * H);
  const scores = new Float64Array(S);
  const scale = 1 / Math.sqrt(d);
  for (let head = 0; head < nh; head++) {
    const c = head * d;
    for (let i = 0; i < S; i++) {
      let max = -Infinity;
      for (let j = 0; j < S; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += qkv[i * 3 * H + c + k] * scale * qkv[j * 3 * H + H + c + k];
        scores[j] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let j = 0; j < S; j++) z += scores[j] = Math.exp(scores[j] - max);
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let j = 0; j < S; j++) s += scores[j] * qkv[j * 3 * H + 2 * H + c + k];
        o[i * H + c + k] = s / z;
      }
    }
  }
  const attn = linear(o, S, H, W(`${p}.self_attn.out_proj.weight`), W(`${p}.self_attn.out_proj.bias`), H);
  const x1 = x.map((v, i) => v + attn[i]);
  const h2 = layerNorm(x1, S, H, W(`${p}.norm2.weight`), W(`${p}.norm2.bias`));
  const ff = linear(map(linear(h2, S, H, W(`${p}.linear1.weight`), W(`${p}.linear1.bias`), 4 * H), gelu), S, 4 * H, W(`${p}.linear2.weight`), W(`${p}.linear2.bias`), H);
  return x1.map((v, i) => v + ff[i]);
}

/** The forward pass for `queries` [B,E] (normalised first, as the reference evaluation does). */
export function quariForward64(
  hp: QuariHparams, tensors: ReadonlyMap<string, { data: Float32Array }>, queries: Float32Array, B: number,
): Reference64Output {
  const { embeddingDim: E, hiddenDim: H, lowRankDim: r, numSteps: T, numLayers: L, nhead: nh } = hp;
  const cache = new Map<string, Float64Array>();
  const W: Weights = (key) => {
    let v = cache.get(key);
    if (!v) {
      const t = tensors.get(key);
      if (!t) throw new Error(`reference: no tensor ${key}`);
      v = Float64Array.from(t.data);
      cache.set(key, v);
    }
    return v;
  };
  const S = 1 + 2 * r;
  const q = normalizeRows(Float64Array.from(queries), B, E);

  // 1. query encoder
  let ctx = linear(q, B, E, W('query_encoder.0.weight'), W('query_encoder.0.bias'), H);
  ctx = map(layerNorm(ctx, B, H, W('query_encoder.1.weight'), W('query_encoder.1.bias')), gelu);
  ctx = linear(ctx, B, H, W('query_encoder.4.weight'), W('query_encoder.4.bias'), H);
  ctx = layerNorm(ctx, B, H, W('query_encoder.5.weight'), W('query_encoder.5.bias'));

  // 2. tokens
  const u = new Float64Array(B * r * H);
  const v = new Float64Array(B * r * H);
  const ps = W('pos_scale')[0];
  const P = W('pos_emb');
  const half = Math.floor(H / 2);

  for (let t = 0; t < T; t++) {
    // 3.1–3.2 step sinusoid (cos block, then sin block, 0 appended for odd H) and step embedding
    const s = new Float64Array(H);
    for (let k = 0; k < half; k++) {
      const f = Math.exp((-Math.log(10000) * k) / half);
      s[k] = Math.cos(t * f);
      s[half + k] = Math.sin(t * f);
    }
    const e = linear(map(linear(s, 1, H, W('step_proj.0.weight'), W('step_proj.0.bias'), H), gelu), 1, H, W('step_proj.2.weight'), W('step_proj.2.bias'), H);

    for (let b = 0; b < B; b++) {
      // 3.3 sequence: cond (no PE), u_j + ps·P[j], v_j + ps·P[j] (the same PE rows for U and V tokens)
      let seq: Float64Array = new Float64Array(S * H);
      for (let k = 0; k < H; k++) seq[k] = ctx[b * H + k] + e[k];
      for (let j = 0; j < r; j++) {
        for (let k = 0; k < H; k++) {
          seq[(1 + j) * H + k] = u[(b * r + j) * H + k] + ps * P[j * H + k];
          seq[(1 + r + j) * H + k] = v[(b * r + j) * H + k] + ps * P[j * H + k];
        }
      }
      // 3.4 encoder, no final norm
      for (let l = 0; l < L; l++) seq = encoderLayer(seq, S, H, nh, `transformer.layers.${l}`, W);
      // 3.5 outer residuals
      for (let k = 0; k < H; k++) ctx[b * H + k] += seq[k];
      for (let j = 0; j < r; j++) {
        for (let k = 0; k < H; k++) {
          u[(b * r + j) * H + k] += seq[(1 + j) * H + k];
          v[(b * r + j) * H + k] += seq[(1 + r + j) * H + k];
        }
      }
    }
  }

  // 4. refined query
  const w = hp.queryResidualWeight;
  const decoded = linear(map(linear(ctx, B, H, W('query_decoder.0.weight'), W('query_decoder.0.bias'), H), gelu), B, H, W('query_decoder.3.weight'), W('query_decoder.3.bias'), E);
  const refinedQuery = normalizeRows(decoded.map((x, i) => (1 - w) * x + w * q[i]), B, E);

  // 5. factors: decode each token to a column of U (V), optional Frobenius normalisation per batch item
  const factor = (tok: Float64Array, dec: string): { raw: Float64Array; out: Float64Array } => {
    const rows = linear(map(linear(tok, B * r, H, W(`${dec}.0.weight`), W(`${dec}.0.bias`), H), gelu), B * r, H, W(`${dec}.3.weight`), W(`${dec}.3.bias`), E);
    const raw = new Float64Array(B * E * r);
    for (let b = 0; b < B; b++) for (let j = 0; j < r; j++) for (let k = 0; k < E; k++) raw[(b * E + k) * r + j] = rows[(b * r + j) * E + k];
    const out = raw.slice();
    if (hp.useFroNorm) {
      for (let b = 0; b < B; b++) {
        const m = out.subarray(b * E * r, (b + 1) * E * r);
        let s = 0;
        for (const x of m) s += x * x;
        const d = Math.sqrt(s) + 1e-8;
        for (let i = 0; i < m.length; i++) m[i] /= d;
      }
    }
    return { raw, out };
  };
  const Uf = factor(u, 'dec_u_img');
  const Vf = factor(v, 'dec_v_img');
  return { refinedQuery, U: Uf.out, V: Vf.out, decoded, Uraw: Uf.raw, Vraw: Vf.raw };
}

/** Dense-path scores in float64: q'_b · normalize(x_m W_b) with W_b = I + a·U_b V_bᵀ built explicitly. */
export function denseScores64(
  refined: ArrayLike<number>, U: ArrayLike<number>, V: ArrayLike<number>, a: number,
  gallery: ArrayLike<number>, B: number, M: number, E: number, r: number,
): Float64Array {
  const out = new Float64Array(B * M);
  const Wm = new Float64Array(E * E);
  const y = new Float64Array(E);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < E; i++) {
      for (let k = 0; k < E; k++) {
        let s = i === k ? 1 : 0;
        for (let j = 0; j < r; j++) s += a * U[(b * E + i) * r + j] * V[(b * E + k) * r + j];
        Wm[i * E + k] = s;
      }
    }
    for (let m = 0; m < M; m++) {
      y.fill(0);
      for (let i = 0; i < E; i++) {
        const x = gallery[m * E + i];
        for (let k = 0; k < E; k++) y[k] += x * Wm[i * E + k];
      }
      let n2 = 0;
      let dot = 0;
      for (let k = 0; k < E; k++) {
        n2 += y[k] * y[k];
        dot += refined[b * E + k] * y[k];
      }
      out[b * M + m] = dot / Math.max(Math.sqrt(n2), 1e-12);
    }
  }
  return out;
}

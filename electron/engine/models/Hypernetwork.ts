// QuARI hypernetwork runtime: checkpoint folder (config.yml + weights.pt) → ONNX graph built in memory → ORT session.
// run() maps query embeddings to the refined query and the low-rank factors U, V of W = I + a·U Vᵀ.
import * as ort from 'onnxruntime-node';
import { buildHypernetOnnx } from '../../../native-models/runtime/quari/buildHypernetOnnx.ts';
import { readQuariCheckpoint, type QuariCheckpoint, type QuariHparams } from '../../../native-models/runtime/quari/checkpoint/index.ts';

export interface HypernetworkOptions {
  /** ORT intra-op threads (default 1: the forward is a chain of small GEMMs; see bench/hypernet.ts). */
  intraOpNumThreads?: number;
  /** ORT graph optimisation level (default 'extended'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface HypernetOutput {
  /** [batch, dim], unit rows. */
  refinedQuery: Float32Array;
  /** [batch, dim, rank], as used in W = I + a·U Vᵀ (Frobenius-normalised when the checkpoint says so). */
  U: Float32Array;
  /** [batch, dim, rank]. */
  V: Float32Array;
  /** a in W = I + a·U Vᵀ. */
  anchorScale: number;
  rank: number;
  dim: number;
  batch: number;
}

export class Hypernetwork {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly hparams: QuariHparams,
    /** sha256 (hex) of weights.pt: identifies the checkpoint in search history. */
    readonly checkpointHash: string,
  ) {}

  /** Loads a checkpoint folder as the reference load_model does (config.yml + weights.pt). */
  static async load(checkpointDir: string, options: HypernetworkOptions = {}): Promise<Hypernetwork> {
    return Hypernetwork.fromCheckpoint(readQuariCheckpoint(checkpointDir), options);
  }

  static async fromCheckpoint(ckpt: QuariCheckpoint, options: HypernetworkOptions = {}): Promise<Hypernetwork> {
    const session = await ort.InferenceSession.create(buildHypernetOnnx(ckpt), {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'extended',
    });
    return new Hypernetwork(session, ckpt.hparams, ckpt.sha256);
  }

  get dim(): number {
    return this.hparams.embeddingDim;
  }

  get rank(): number {
    return this.hparams.lowRankDim;
  }

  get anchorScale(): number {
    return this.hparams.anchorScale;
  }

  /** `queries` is row-major [batch, dim]; the graph L2-normalises each row first, as the reference evaluation does. */
  async run(queries: Float32Array, batch: number): Promise<HypernetOutput> {
    const { dim, rank } = this;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`Hypernetwork.run: batch must be a positive integer, got ${batch}`);
    if (queries.length !== batch * dim) {
      throw new Error(`Hypernetwork.run: queries hold ${queries.length} values, expected batch ${batch} × dim ${dim}`);
    }
    const out = await this.session.run({ query: new ort.Tensor('float32', queries, [batch, dim]) });
    return {
      refinedQuery: out.refined_query.data as Float32Array,
      U: out.U.data as Float32Array,
      V: out.V.data as Float32Array,
      anchorScale: this.anchorScale,
      rank,
      dim,
      batch,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Plain-TypeScript reference scorer (float64 accumulation): scores[b,m] = q'_b · normalize(x_m + a·(x_m·U_b)·V_bᵀ),
 * with normalize(y) = y / max(‖y‖, 1e-12). refined [B,E], U and V [B,E,r], gallery [M,E]; returns [B,M].
 * The search engine uses the native kernels; this one serves the CLI and tests.
 */
export function lowRankScores(
  refined: Float32Array, U: Float32Array, V: Float32Array, a: number,
  gallery: Float32Array, M: number, E: number, r: number,
): Float32Array {
  const B = refined.length / E;
  if (!Number.isInteger(B)) throw new Error(`lowRankScores: refined holds ${refined.length} values, not a multiple of E = ${E}`);
  if (U.length !== B * E * r || V.length !== B * E * r) throw new Error(`lowRankScores: U and V must hold B·E·r = ${B * E * r} values`);
  if (gallery.length !== M * E) throw new Error(`lowRankScores: gallery holds ${gallery.length} values, expected M·E = ${M * E}`);
  const scores = new Float32Array(B * M);
  const xU = new Float64Array(r);
  for (let b = 0; b < B; b++) {
    const f = b * E * r;
    const q = b * E;
    for (let m = 0; m < M; m++) {
      const x = m * E;
      xU.fill(0);
      for (let e = 0; e < E; e++) {
        const xe = gallery[x + e];
        const row = f + e * r;
        for (let j = 0; j < r; j++) xU[j] += xe * U[row + j];
      }
      for (let j = 0; j < r; j++) xU[j] *= a;
      let norm2 = 0;
      let dot = 0;
      for (let e = 0; e < E; e++) {
        const row = f + e * r;
        let y = gallery[x + e];
        for (let j = 0; j < r; j++) y += xU[j] * V[row + j];
        norm2 += y * y;
        dot += refined[q + e] * y;
      }
      scores[b * M + m] = dot / Math.max(Math.sqrt(norm2), 1e-12);
    }
  }
  return scores;
}

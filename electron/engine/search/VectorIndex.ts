// In-memory multi-vector index of one pack's embeddings: image slot i owns vector rows offsets[i]..offsets[i+1]-1
// (row 0 of each image is its whole-image vector, the rest its regions). Like a FAISS Index, it knows only vectors:
// top images for a query, and exact (optionally QuARI-transformed) scores of given rows. The math runs in the native
// kernels (kernels.ts), on float32 or float16 storage.
import type { CatalogStore, LoadedEmbeddings } from '../../../db/Interface.ts';
import { dotRows, flatTopKAsync, float16ToFloat32, float32ToFloat16, rerankLowRankAsync } from './kernels.ts';

export type IndexDtype = 'float16' | 'float32';

/** A QuARI query: refined query q′ and W = I + a·U·Vᵀ with U, V row-major [dim × rank]. */
export interface LowRankTransform {
  refinedQuery: Float32Array;
  U: Float32Array;
  V: Float32Array;
  rank: number;
  anchorScale: number;
}

/** Images loaded per query while streaming a catalog into memory (bounds the transient copy). */
const LOAD_PAGE = 20_000;

export class VectorIndex {
  private readonly slotById: Map<number, number>;

  constructor(
    readonly dim: number,
    /** Catalog image id per slot. */
    private readonly imageIds: Uint32Array,
    private readonly offsets: Uint32Array,
    readonly vectors: Float32Array | Uint16Array,
    private readonly boxes: Float32Array,
    private readonly explicitScores: Float32Array,
  ) {
    if (offsets.length !== imageIds.length + 1) throw new Error('VectorIndex: offsets must have one entry per image plus one');
    if (vectors.length !== offsets[imageIds.length]! * dim) throw new Error('VectorIndex: vectors do not match offsets × dim');
    this.slotById = new Map();
    imageIds.forEach((id, slot) => this.slotById.set(id, slot));
  }

  /** Loads every embedding of `packId`, page by page, converting to the requested in-memory dtype. */
  static fromCatalog(store: CatalogStore, packId: string, dtype: IndexDtype): VectorIndex {
    const pages: LoadedEmbeddings[] = [];
    let after = 0;
    for (;;) {
      const page = store.loadEmbeddings(packId, { afterImageId: after, limit: LOAD_PAGE });
      if (page.count === 0) break;
      pages.push(page);
      after = page.imageIds[page.count - 1]!;
    }
    const dim = pages[0]?.dim ?? store.getPack(packId)?.dim ?? 0;
    const images = pages.reduce((n, p) => n + p.count, 0);
    const rows = pages.reduce((n, p) => n + p.totalVectors, 0);
    const imageIds = new Uint32Array(images);
    const offsets = new Uint32Array(images + 1);
    const vectors = dtype === 'float16' ? new Uint16Array(rows * dim) : new Float32Array(rows * dim);
    const boxes = new Float32Array(rows * 4);
    const explicitScores = new Float32Array(images);
    let slot = 0;
    let row = 0;
    for (const page of pages) {
      if (page.dim !== dim) throw new Error(`pack ${packId}: embeddings of dimension ${page.dim} and ${dim} in one catalog`);
      imageIds.set(page.imageIds, slot);
      for (let i = 0; i < page.count; i++) offsets[slot + i + 1] = row + page.offsets[i + 1]!;
      vectors.set(convert(page, dtype), row * dim);
      boxes.set(page.boxes, row * 4);
      explicitScores.set(page.explicitScores, slot);
      slot += page.count;
      row += page.totalVectors;
    }
    return new VectorIndex(dim, imageIds, offsets, vectors, boxes, explicitScores);
  }

  get imageCount(): number {
    return this.imageIds.length;
  }

  imageId(slot: number): number {
    return this.imageIds[slot]!;
  }

  slotOf(imageId: number): number | undefined {
    return this.slotById.get(imageId);
  }

  rowCount(slot: number): number {
    return this.offsets[slot + 1]! - this.offsets[slot]!;
  }

  /** Normalised [x, y, w, h] of a vector row. */
  box(row: number): [number, number, number, number] {
    const b = this.boxes.subarray(row * 4, row * 4 + 4);
    return [b[0]!, b[1]!, b[2]!, b[3]!];
  }

  /** 0 where the image had no content score. */
  explicitScore(slot: number): number {
    const s = this.explicitScores[slot]!;
    return Number.isNaN(s) ? 0 : s;
  }

  /**
   * Exact top-k images by their best vector's inner product with `query`. The scan runs on a libuv worker thread,
   * so the main process stays responsive while it streams the whole index.
   */
  async topImages(query: Float32Array, k: number): Promise<{ slots: Uint32Array; scores: Float32Array; rows: Uint32Array }> {
    if (this.imageCount === 0) return { slots: new Uint32Array(0), scores: new Float32Array(0), rows: new Uint32Array(0) };
    const { ids, scores, rows } = await flatTopKAsync(this.vectors, this.dim, query, this.offsets, k);
    return { slots: ids, scores, rows };
  }

  /** Every vector row of the given image slots, image by image in slot order. */
  rowsOf(slots: Uint32Array): Uint32Array {
    let n = 0;
    for (const s of slots) n += this.rowCount(s);
    const rows = new Uint32Array(n);
    let p = 0;
    for (const s of slots) for (let r = this.offsets[s]!; r < this.offsets[s + 1]!; r++) rows[p++] = r;
    return rows;
  }

  /** Plain inner products of the given rows with `query` (stage-1 candidates: small, so run inline). */
  scoreRows(rows: Uint32Array, query: Float32Array): Float32Array {
    return dotRows(this.vectors, this.dim, rows, query);
  }

  /** QuARI scores q′·normalize(x + a·(x·U)·Vᵀ) of the given rows, on a worker thread (it may be the whole catalog). */
  rescoreRows(rows: Uint32Array, transform: LowRankTransform): Promise<Float32Array> {
    return rerankLowRankAsync(this.vectors, this.dim, rows, transform.refinedQuery, transform.U, transform.V, transform.rank, transform.anchorScale);
  }
}

function convert(page: LoadedEmbeddings, dtype: IndexDtype): Float32Array | Uint16Array {
  if (page.dtype === dtype) return page.vectors;
  return page.dtype === 'float16' ? float16ToFloat32(page.vectors) : float32ToFloat16(page.vectors);
}

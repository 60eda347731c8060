// In-memory multi-vector index of one pack's embeddings: image slot i owns vector rows offsets[i]..offsets[i+1]-1
// (row 0 of each image is its whole-image vector, the rest its regions). Like a FAISS Index, it knows only vectors:
// top images for a query, and exact (optionally QuARI-transformed) scores of given rows. The math runs in the native
// kernels (kernels.ts), on float32 or float16 storage. It is both an exact stage-1 CandidateSource (a flat scan, the
// fastest stage 1 below the size where the on-disk IVF index wins) and the RowSource of its own images for stage 2.
import type { CatalogStore, LoadedEmbeddings } from '../../../db/Interface.ts';
import type { CandidateSource, ImageHits, RowSource } from './CandidateSource.ts';
import { dotRows, flatTopKBatchAsync, float16ToFloat32, float32ToFloat16, rerankLowRankAsync } from './kernels.ts';

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

export class VectorIndex implements CandidateSource, RowSource {
  readonly kind = 'exact';
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

  /**
   * Loads every embedding of `packId` (or, with `afterImageId`, those of newer images: the delta beside an on-disk
   * index), page by page, converting to the requested in-memory dtype.
   */
  static fromCatalog(store: CatalogStore, packId: string, dtype: IndexDtype, afterImageId = 0): VectorIndex {
    const pages: LoadedEmbeddings[] = [];
    let after = afterImageId;
    for (;;) {
      const page = store.loadEmbeddings(packId, { afterImageId: after, limit: LOAD_PAGE });
      if (page.count === 0) break;
      pages.push(page);
      after = page.imageIds[page.count - 1]!;
    }
    return VectorIndex.fromPages(pages, pages[0]?.dim ?? store.getPack(packId)?.dim ?? 0, dtype, packId);
  }

  /** One index over consecutive pages of loaded embeddings (ascending image ids). */
  static fromPages(pages: readonly LoadedEmbeddings[], dim: number, dtype: IndexDtype, packId: string): VectorIndex {
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

  allImageIds(): Uint32Array {
    return this.imageIds.slice();
  }

  /** Exact stage 1: every query vector's top-k images in one pass over the vectors. */
  async topImages(queries: readonly Float32Array[], k: number): Promise<ImageHits[]> {
    if (this.imageCount === 0 || k < 1) return queries.map(() => ({ ids: new Uint32Array(0), scores: new Float32Array(0) }));
    const batch = new Float32Array(queries.length * this.dim);
    queries.forEach((q, i) => batch.set(q, i * this.dim));
    const tops = await flatTopKBatchAsync(this.vectors, this.dim, batch, this.offsets, k);
    return tops.map((t) => ({ ids: t.ids.map((slot) => this.imageIds[slot]!), scores: t.scores }));
  }

  /** The rows of the given images copied into a small index of their own (stage 2 of a large catalog). */
  async vectorsOf(imageIds: Uint32Array): Promise<VectorIndex> {
    if (imageIds.length === this.imageCount && imageIds.every((id, i) => id === this.imageIds[i])) return this; // k = 0
    const slots = Uint32Array.from([...imageIds].map((id) => this.slotById.get(id)).filter((s): s is number => s !== undefined)).sort();
    const ids = new Uint32Array(slots.length);
    const offsets = new Uint32Array(slots.length + 1);
    slots.forEach((s, i) => {
      ids[i] = this.imageIds[s]!;
      offsets[i + 1] = offsets[i]! + this.rowCount(s);
    });
    const rows = offsets[slots.length]!;
    const d = this.dim;
    const vectors = this.vectors instanceof Uint16Array ? new Uint16Array(rows * d) : new Float32Array(rows * d);
    const boxes = new Float32Array(rows * 4);
    const explicit = new Float32Array(slots.length);
    slots.forEach((s, i) => {
      const r0 = this.offsets[s]!;
      const r1 = this.offsets[s + 1]!;
      vectors.set(this.vectors.subarray(r0 * d, r1 * d), offsets[i]! * d);
      boxes.set(this.boxes.subarray(r0 * 4, r1 * 4), offsets[i]! * 4);
      explicit[i] = this.explicitScores[s]!;
    });
    return new VectorIndex(d, ids, offsets, vectors, boxes, explicit);
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

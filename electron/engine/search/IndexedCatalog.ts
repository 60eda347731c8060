// Stage 1 of a catalog that has an on-disk index: the IVF file for the images it was built from, plus an exact
// in-memory scan of the images ingested since (the delta, read from SQLite after the file's highest image id), merged
// by score. Ingest therefore adds to what is searchable at once, without rewriting the file; the next build folds the
// delta in. Stage 2 reads the candidates' exact rows from SQLite (CatalogRows).
import type { CatalogStore } from '../../../db/Interface.ts';
import { mergeHits, type CandidateSource, type ImageHits, type RowSource } from './CandidateSource.ts';
import type { IvfIndex } from './IvfIndex.ts';
import { VectorIndex, type IndexDtype } from './VectorIndex.ts';

/** Stage-2 rows straight from the catalog: one primary-key read of the candidates' embeddings. */
export class CatalogRows implements RowSource {
  constructor(
    private readonly store: CatalogStore,
    private readonly packId: string,
    private readonly dim: number,
    private readonly dtype: IndexDtype,
  ) {}

  async vectorsOf(imageIds: Uint32Array): Promise<VectorIndex> {
    const page = this.store.loadEmbeddingsOf(this.packId, Array.from(imageIds));
    return VectorIndex.fromPages([page], this.dim, this.dtype, this.packId);
  }
}

export class IndexedCatalog implements CandidateSource {
  readonly kind: string;

  constructor(
    readonly ivf: IvfIndex,
    readonly delta: VectorIndex,
  ) {
    this.kind = delta.imageCount > 0 ? 'ivf+exact-delta' : 'ivf';
  }

  /** Opens the delta beside an opened index file: every image of the pack newer than the file. */
  static withDelta(store: CatalogStore, packId: string, ivf: IvfIndex, dtype: IndexDtype): IndexedCatalog {
    return new IndexedCatalog(ivf, VectorIndex.fromCatalog(store, packId, dtype, ivf.header.maxImageId));
  }

  get dim(): number {
    return this.ivf.dim;
  }

  get imageCount(): number {
    return this.ivf.imageCount + this.delta.imageCount;
  }

  allImageIds(): Uint32Array {
    const a = this.ivf.allImageIds();
    const b = this.delta.allImageIds();
    const out = new Uint32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  async topImages(queries: readonly Float32Array[], k: number): Promise<ImageHits[]> {
    if (this.delta.imageCount === 0) return this.ivf.topImages(queries, k);
    const [fromFile, fromDelta] = await Promise.all([this.ivf.topImages(queries, k), this.delta.topImages(queries, k)]);
    return fromFile.map((hits, i) => mergeHits([hits, fromDelta[i]!], k));
  }
}
